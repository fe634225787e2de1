#!/usr/bin/python3
"""Checks detection.py's analysis on real log lines and hand-made trials (no processes, no network):
   /usr/bin/python3 -m unittest discover -s perf/harness -p 'test_*.py'"""
import calendar
import tempfile
import time
import unittest
from pathlib import Path

import detection as d
import failover as fo

# Lines as the proxies printed them in a run (backend 1 = 127.0.0.1:25801).
TANDEM_TRANSITION = ('ts=2026-12-07T20:31:28.601Z level=INFO logger=SharedCheck msg="health check transition" '
                     'check=tcp://127.0.0.1:25801 from=UP to=DOWN reason="2/2 checks failed: connection refused" '
                     'detection_ms=1')
TANDEM_DOWN = ('ts=2026-12-07T20:31:28.610Z level=INFO logger=ControlLoop msg="backend down" vip=idle '
               'backend=127.0.0.1:25801 flag=FAILED_ACTIVE_CHECK cause=active-check reason="2/2 checks failed: '
               'connection refused" after_ms=1 eligible=false')
TANDEM_OTHER_DOWN = TANDEM_DOWN.replace("25801", "25802").replace("28.610Z", "28.500Z")
HAPROXY_FAILED = ('<133>1 2026-12-07T20:31:55.200451+00:00 - haproxy 23857 - - Health check for server idle/s1 '
                  'failed, reason: Layer7 timeout, check duration: 251ms, status: 1/2 UP.')
HAPROXY_DOWN = ('<129>1 2026-12-07T20:31:55.499818+00:00 - haproxy 23857 - - Server idle/s1 is DOWN. 1 active '
                'and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.')
HAPROXY_STDERR_DOWN = ('[WARNING]  (23857) : Server idle/s1 is DOWN. 1 active and 0 backup servers left. '
                       '0 sessions active, 0 requeued, 0 remaining in queue.')
STATE = """1
# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change
2 idle 1 s1 127.0.0.1 {s1} 0 1 1 1 6 3 3 6 0 0 0 - 25801 - 0 0 - - 0
2 idle 2 s2 127.0.0.1 2 0 1 1 1 6 3 3 6 0 0 0 - 25802 - 0 0 - - 0
"""
IPTABLES_L = """Chain INPUT (policy ACCEPT 1000 packets, 90000 bytes)
    pkts      bytes target     prot opt in     out     source               destination
      21     1260            tcp  --  lo     *       0.0.0.0/0            0.0.0.0/0            tcp dpt:25802 flags:0x17/0x02 /* tandem-detection-perf */
      20     1200            tcp  --  lo     *       0.0.0.0/0            0.0.0.0/0            tcp dpt:25801 flags:0x17/0x02 /* tandem-detection-perf */
       7      420            tcp  --  lo     *       0.0.0.0/0            0.0.0.0/0            tcp dpt:25801 flags:0x17/0x02 /* someone-else */
"""


def wall(text):
    """2026-12-07T20:31:28.601 → seconds since the epoch (UTC)."""
    return calendar.timegm(time.strptime(text[:19], "%Y-%m-%dT%H:%M:%S")) + float("0" + text[19:])


def fake_proc(*lines_at):
    """A Proc holding (monotonic time, line) pairs, as its reader thread would have kept them."""
    p = fo.Proc.__new__(fo.Proc)
    p.lines = [(t, line + "\n") for t, line in lines_at]
    return p


class ClocksTest(unittest.TestCase):
    def test_log_timestamps(self):
        self.assertAlmostEqual(d.tandem_ts(TANDEM_DOWN), wall("2026-12-07T20:31:28.610"), places=6)
        self.assertAlmostEqual(d.haproxy_ts(HAPROXY_DOWN), wall("2026-12-07T20:31:55.499818"), places=6)
        self.assertIsNone(d.haproxy_ts(HAPROXY_STDERR_DOWN))  # stderr copy: no timestamp, never used
        self.assertIsNone(d.tandem_ts(None))
        self.assertEqual(d.tandem_detection_ms(TANDEM_TRANSITION), 1)
        self.assertIsNone(d.tandem_detection_ms(TANDEM_DOWN))

    def test_tandem_marks_from_the_fault(self):
        fault_wall = wall("2026-12-07T20:31:28.590")
        proc = fake_proc((9.0, TANDEM_DOWN.replace("28.610Z", "27.000Z")),  # before the fault: ignored
                         (10.01, TANDEM_OTHER_DOWN),                         # the other backend: ignored
                         (10.02, TANDEM_TRANSITION), (10.03, TANDEM_DOWN))
        m = d.marks(proc, "tandem", "kill", 10.0, fault_wall)
        self.assertEqual(m["down_own_ms"], 20.0)
        self.assertEqual(m["first_failed_probe_ms"], 10.0)   # transition (11 ms) minus detection_ms=1
        self.assertEqual(m["down_line"], TANDEM_DOWN)

    def test_haproxy_marks_use_the_timestamped_copy(self):
        fault_wall = wall("2026-12-07T20:31:55.000")
        proc = fake_proc((10.1, HAPROXY_STDERR_DOWN), (10.2, HAPROXY_FAILED), (10.5, HAPROXY_DOWN))
        m = d.marks(proc, "haproxy", "stop", 10.0, fault_wall)
        self.assertEqual(m["down_own_ms"], 499.8)
        self.assertEqual(m["first_failed_probe_ms"], 200.5)

    def test_not_seen_is_none(self):
        m = d.marks(fake_proc((10.1, TANDEM_OTHER_DOWN)), "tandem", "silent", 10.0, 0.0)
        self.assertIsNone(m["down_own_ms"])
        self.assertIsNone(m["first_failed_probe_ms"])

    def test_state_answers(self):
        self.assertTrue(d.haproxy_state_up(STATE.format(s1=2), "s1"))
        self.assertFalse(d.haproxy_state_up(STATE.format(s1=0), "s1"))
        with self.assertRaises(ValueError):
            d.haproxy_state_up(STATE.format(s1=2), "s9")
        self.assertFalse(d.tandem_state_up(b'{"address":"127.0.0.1:25801","state":"down","eligible":false}'))
        self.assertTrue(d.tandem_state_up(b'{"address":"127.0.0.1:25801","state":"up","eligible":true}'))

    def test_syn_counts_only_from_our_rules(self):
        self.assertEqual(d.parse_syn_counts(IPTABLES_L, (25801, 25802)), {25801: 20, 25802: 21})


class PollTest(unittest.TestCase):
    def test_poll_brackets_the_change(self):
        answers = iter([True, None, True, False])

        class Poller:
            def up(self):
                return next(answers)

        seen, before = d.poll_until(Poller(), False, time.monotonic() + 5, 0.001)
        self.assertIsNotNone(seen)
        self.assertLess(before, seen)

    def test_poll_is_bounded(self):
        class Never:
            def up(self):
                return True

        t = time.monotonic()
        self.assertEqual(d.poll_until(Never(), False, t + 0.05, 0.005)[0], None)
        self.assertLess(time.monotonic() - t, 1.0)


def trial(proxy, scenario, own, poll, syns=2.0, cpu=1.0):
    return {"proxy": proxy, "scenario": scenario, "down_own_ms": own, "down_poll_ms": poll,
            "first_failed_probe_ms": own and own - 5, "syns_per_s_per_backend": syns,
            "accepted_per_s_per_backend": syns, "cpu_ms_per_s_idle": cpu}


class SummaryTest(unittest.TestCase):
    def test_rotation_puts_each_proxy_first_in_turn(self):
        from common import rotated
        self.assertEqual([rotated(["a", "b", "c"], r)[0] for r in range(4)], ["a", "b", "c", "a"])
        self.assertEqual(rotated(["a", "b", "c"], 1), ["b", "c", "a"])

    def test_percentiles_nearest_rank(self):
        self.assertEqual(d.pct([5, 1, 3], 0.5), 3)
        self.assertEqual(d.pct([5, 1, 3], 0.99), 5)   # p99 of 3 values is the max
        self.assertEqual(d.pct(list(range(1, 201)), 0.99), 198)
        self.assertEqual(d.pct([7], 0.5), 7)
        self.assertIsNone(d.stats([None, None]))
        self.assertEqual(d.stats([4, None, 2])["missing"], 1)

    def test_goal_met_on_p99_and_ratio_to_haproxy(self):
        trials = [trial("tandem", "kill", 6, 9), trial("tandem", "kill", 8, 12), trial("tandem", "kill", 4, 7),
                  trial("haproxy", "kill", 170, 172, syns=2.0, cpu=0.5),
                  trial("haproxy", "kill", 180, 181, syns=2.0, cpu=0.5),
                  trial("haproxy", "kill", 160, 161, syns=2.0, cpu=0.5)]
        s = d.summarise(trials, ["tandem", "haproxy"], ["kill"])["kill"]
        self.assertEqual(s["tandem"]["down_own_ms"]["p50"], 6)
        self.assertEqual(s["tandem"]["down_own_ms"]["p99"], 8)
        self.assertTrue(s["tandem"]["goal"]["met"])
        self.assertFalse(s["tandem"]["goal"]["met_both_clocks"])   # the poller's p99 is 12 ms
        self.assertEqual(s["tandem"]["ratio_to_haproxy"]["down_own_ms"], round(6 / 170, 2))
        self.assertEqual(s["tandem"]["ratio_to_haproxy"]["cpu_ms_per_s_idle"], 2.0)
        self.assertNotIn("goal", s["haproxy"])

    def test_a_trial_that_never_saw_the_backend_go_fails_the_goal(self):
        trials = [trial("tandem", "silent", 200, 210), trial("tandem", "silent", None, None),
                  {"proxy": "tandem", "scenario": "silent", "error": "did not start"}]
        c = d.summarise(trials, ["tandem"], ["silent"])["silent"]["tandem"]
        self.assertFalse(c["goal"]["met"])
        self.assertEqual(c["goal"]["why"], "not seen in every trial")
        self.assertEqual((c["trials"], c["errors"]), (2, 1))

    def test_goal_not_met_above_it(self):
        trials = [trial("tandem", "stop", 250, 255), trial("tandem", "stop", 820, 830)]
        g = d.summarise(trials, ["tandem"], ["stop"])["stop"]["tandem"]["goal"]
        self.assertEqual(g["goal_ms"], 300)
        self.assertFalse(g["met"])

    def test_report_renders(self):
        d.WORK = Path(tempfile.gettempdir())
        trials = [trial("tandem", "kill", 6, 9), trial("haproxy", "kill", 170, 172),
                  trial("tandem", "stop", 820, 830), trial("haproxy", "stop", None, None)]
        summary = {"machine": {"cores": 2, "cpu": "x", "mem_gib": 1, "kernel": "k", "java": "j", "haproxy": "h",
                               "date": "now"},
                   "args": {"reps": 1, "poll_ms": 5, "idle": 10, "proxies": "tandem,haproxy",
                            "scenarios": "kill,stop"},
                   "load_before": "1 1 1", "load_after": "1 1 1",
                   "summary": d.summarise(trials, ["tandem", "haproxy"], ["kill", "stop"])}
        md = d.render(summary)
        self.assertIn("| kill | ≤ 10 ms | tandem | 6 | 9 | **met** |", md)
        self.assertIn("| stop | ≤ 300 ms | tandem | 820 | 830 | not met |", md)
        self.assertIn("not seen in 1", md)
        self.assertIn("option httpchk GET /", md)


if __name__ == "__main__":
    unittest.main()
