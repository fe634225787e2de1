package io.tandem.core.udp;

import java.net.InetSocketAddress;
import java.util.HashMap;

/**
 * The sessions of one listening socket (one event loop): a hash map for lookup by client
 * address plus an intrusive list in order of last activity, so touching a session, finding
 * the least recently used one (eviction) and finding the idle ones (expiry, walked from the
 * head) are all O(1) per session. Confined to its event loop: no locks.
 */
final class SessionTable {
    private final HashMap<InetSocketAddress, Session> byClient = new HashMap<>();
    private Session head; // least recently active
    private Session tail; // most recently active

    Session get(InetSocketAddress client) {
        return byClient.get(client);
    }

    void add(Session s, long now) {
        byClient.put(s.client, s);
        s.lastActive = now;
        linkLast(s);
    }

    /** Records activity: the session becomes the most recently used. */
    void touch(Session s, long now) {
        s.lastActive = now;
        if (s != tail && s.linked) {
            unlink(s);
            linkLast(s);
        }
    }

    /** @return false if {@code s} was not (or no longer) in the table */
    boolean remove(Session s) {
        if (!byClient.remove(s.client, s)) {
            return false;
        }
        unlink(s);
        return true;
    }

    /** The least recently active session, or null when empty. */
    Session eldest() {
        return head;
    }

    int size() {
        return byClient.size();
    }

    private void linkLast(Session s) {
        s.prev = tail;
        s.next = null;
        if (tail == null) {
            head = s;
        } else {
            tail.next = s;
        }
        tail = s;
        s.linked = true;
    }

    private void unlink(Session s) {
        if (!s.linked) {
            return;
        }
        if (s.prev == null) {
            head = s.next;
        } else {
            s.prev.next = s.next;
        }
        if (s.next == null) {
            tail = s.prev;
        } else {
            s.next.prev = s.prev;
        }
        s.prev = null;
        s.next = null;
        s.linked = false;
    }
}
