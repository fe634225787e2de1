#!/usr/bin/python3
"""Checks zone_failover.py's analysis on hand-made request records (no processes, no network):
   /usr/bin/python3 -m unittest discover -s perf/harness -p 'test_*.py'"""
import unittest

import zone_failover as z

# Times in seconds: measured run from 6, fault at 10, restore begins at 15.9 and is in effect at 16, end 24.
FAULT, RESTORE_BEGIN, RESTORE, FROM, STOP = 10.0, 15.9, 16.0, 6.0, 24.0


def analyse(records):
    return z.analyse(records, FAULT, RESTORE, FROM, STOP, RESTORE_BEGIN)


class AnalyseTest(unittest.TestCase):
    def test_a_clean_spill_and_return(self):
        r = analyse([
            (8.0, 8.1, "ok", "zone-a"), (9.0, 9.1, "ok", "zone-a"),  # before: all local
            (9.95, 10.05, "eof", None),                              # in flight at the fault, lost
            (10.01, 10.40, "ok", "zone-b"),                          # first remote success 400 ms after
            (10.50, 10.60, "ok", "zone-c"), (12.0, 12.1, "ok", "zone-b"),
            (16.05, 16.10, "ok", "zone-b"),                          # after the restore, still remote
            (16.10, 16.20, "ok", "zone-a"),                          # first local: 200 ms after the restore
            (22.0, 22.1, "ok", "zone-a"),
        ])
        self.assertEqual(r["local_share_before"], 1.0)
        self.assertEqual(r["local_share_during"], 0.0)
        self.assertEqual(r["local_share_after"], 1.0)
        self.assertEqual(r["first_remote_ms"], 400.0)
        self.assertEqual(r["spilled_ms"], 400.0)
        self.assertEqual(r["error_free_ms"], 0.0)
        self.assertEqual(r["failed_in_outage"], 0)
        self.assertEqual(r["inflight_lost_at_fault"], 1)
        self.assertEqual(r["back_first_ms"], 200.0)
        self.assertEqual(r["back_all_ms"], 100.0)
        self.assertEqual(r["error_kinds"], {"eof": 1})

    def test_failures_and_late_local_answers_delay_the_spill(self):
        r = analyse([
            (9.0, 9.1, "ok", "zone-a"),
            (10.02, 10.05, "ok", "zone-b"),
            (10.03, 10.30, "refused", None),     # a failure after the first remote success
            (10.04, 10.50, "ok", "zone-a"),      # answered by the dying zone: not spilled yet
            (11.0, 11.1, "ok", "zone-b"),
            (15.92, 15.95, "ok", "zone-a"),      # a restarted backend answers as the restore begins: ignored
        ])
        self.assertEqual(r["first_remote_ms"], 50.0)
        self.assertEqual(r["spilled_ms"], 500.0)
        self.assertEqual(r["error_free_ms"], 300.0)
        self.assertEqual(r["failed_in_outage"], 1)
        self.assertEqual(r["inflight_lost_at_fault"], 0)

    def test_no_remote_success_is_none_not_zero(self):
        r = analyse([(9.0, 9.1, "ok", "zone-a"), (10.1, 12.1, "timeout", None)])
        self.assertIsNone(r["first_remote_ms"])
        self.assertIsNone(r["spilled_ms"])
        self.assertIsNone(r["back_first_ms"])
        self.assertEqual(r["failed_in_outage"], 1)

    def test_ratio_and_its_rendering(self):
        cell = lambda m: {"median": m, "min": m, "max": m, "n": 3, "missing": 0}
        self.assertEqual(z.ratio(cell(400), cell(200)), 2.0)
        self.assertIsNone(z.ratio(cell(400), cell(0)))
        self.assertEqual(z.fmt_ratio(2.0, cell(400), cell(200)), "2.00× (400 / 200)")
        self.assertEqual(z.fmt_ratio(None, cell(0), cell(0)), "both 0")
        self.assertEqual(z.fmt_ratio(None, cell(171), cell(0)), "– (171 / 0)")


if __name__ == "__main__":
    unittest.main()
