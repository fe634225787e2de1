package io.tandem.ha.announce;

/**
 * Whether one VIP address is announced as far as its backends go ({@code ha.announce.
 * withdraw_without_backends}): withdrawn at once while no VIP on it has an eligible backend (the
 * health check's {@code fall} already debounced that verdict), announced again only once a backend
 * has stayed eligible for {@code holdDownMs} without a break, so a pool that flaps between one
 * passing and one failing check does not flap the route with it (a BGP withdrawal and
 * re-announcement costs every router on the path a best-path run). The first announcement after
 * the start is not held down: there was no withdrawal to damp. Pure: the caller passes the clock.
 * One instance per address; used by the announcer's thread only.
 */
final class BackendHold {
    private long eligibleSinceMs = -1;
    private boolean withdrawnOnce;
    private boolean announced;

    /** Whether to announce now, given whether any VIP on the address has an eligible backend. */
    boolean announce(boolean eligible, long nowMs, long holdDownMs) {
        if (!eligible) {
            eligibleSinceMs = -1;
            withdrawnOnce |= announced;
            announced = false;
            return false;
        }
        if (eligibleSinceMs < 0) {
            eligibleSinceMs = nowMs;
        }
        announced = !withdrawnOnce || nowMs - eligibleSinceMs >= holdDownMs;
        return announced;
    }

    /** Why the address is not announced now (for {@code /api/ha}); null while it is. */
    String reason(long nowMs, long holdDownMs) {
        if (announced) {
            return null;
        }
        if (eligibleSinceMs < 0) {
            return "no eligible backend";
        }
        return "hold-down: a backend eligible for " + (nowMs - eligibleSinceMs) + " ms of " + holdDownMs + " ms";
    }
}
