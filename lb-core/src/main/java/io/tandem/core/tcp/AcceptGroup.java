package io.tandem.core.tcp;

import java.util.Arrays;

/**
 * The loops of one TCP VIP that share an accept queue (one listening socket added to every
 * loop's epoll with EPOLLEXCLUSIVE, or NIO's single acceptor), and the rule for where an
 * accepted connection lives.
 *
 * <p>The loop that accepts keeps the connection unless it holds clearly more live connections
 * than the least loaded loop ({@link #SLACK} plus a sixteenth of that loop's count); then the
 * connection is handed to that loop (one task on it). Keeping is the common case: a hand-off
 * costs a cross-thread wake-up, and under load the kernel already spreads accepts by waking
 * whichever loop waits. HAProxy picks the accepting thread by connection counts the same way.
 *
 * <p>Thread-safe: members are added during binding; counts are read across loops without locks
 * (a stale count only makes one choice slightly worse).
 */
final class AcceptGroup {
    /** Connections a loop may hold above the least loaded one before it hands new ones off. */
    static final int SLACK = 4;

    private volatile VipOnLoop[] members = new VipOnLoop[0];

    synchronized void add(VipOnLoop m) {
        VipOnLoop[] next = Arrays.copyOf(members, members.length + 1);
        next[next.length - 1] = m;
        members = next;
    }

    /** Where a connection {@code self} accepted should live: {@code self}, or the least loaded member. */
    VipOnLoop target(VipOnLoop self) {
        int mine = self.live();
        VipOnLoop least = self;
        int min = mine;
        for (VipOnLoop m : members) {
            int n = m.live();
            if (n < min) {
                min = n;
                least = m;
            }
        }
        return mine - min > SLACK + (min >> 4) ? least : self;
    }
}
