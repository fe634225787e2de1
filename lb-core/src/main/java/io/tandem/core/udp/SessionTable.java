package io.tandem.core.udp;

import java.net.InetSocketAddress;
import java.util.HashMap;

/**
 * The sessions of one listening socket (one event loop): a hash map for lookup by client
 * address plus an intrusive list in order of last activity, so touching a session, finding
 * the least recently used one (eviction) and finding the idle ones (expiry, walked from the
 * head) are all O(1) per session. Confined to its event loop: no locks.
 *
 * <p>Sessions of an IPv4 client on the epoll side are found by a {@code long} key (the first 8
 * bytes of the client's {@code sockaddr_in} as received: family, port, address) in an
 * open-addressing map, so a datagram needs no address object and no boxing to find its session.
 * The others (IPv6 clients, and the NIO side, whose receive hands over an address object
 * anyway) are found by address.
 */
final class SessionTable {
    private final HashMap<InetSocketAddress, Session> byClient = new HashMap<>();
    private final LongMap byKey = new LongMap();
    private Session head; // least recently active
    private Session tail; // most recently active

    Session get(InetSocketAddress client) {
        return byClient.get(client);
    }

    /** The session with IPv4 {@code key} (see {@link Session#key4}), or null. */
    Session get4(long key) {
        return byKey.get(key);
    }

    void add(Session s, long now) {
        if (s.keyed4) {
            byKey.put(s.key4, s);
        } else {
            byClient.put(s.client, s);
        }
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
        if (s.keyed4 ? !byKey.remove(s.key4, s) : !byClient.remove(s.client, s)) {
            return false;
        }
        unlink(s);
        return true;
    }

    /** Finds a session by client address among all of them, whatever its key (slow: for tests and debugging). */
    Session find(InetSocketAddress client) {
        for (Session s = head; s != null; s = s.next) {
            if (s.client.equals(client)) {
                return s;
            }
        }
        return null;
    }

    /** The least recently active session, or null when empty. */
    Session eldest() {
        return head;
    }

    int size() {
        return byClient.size() + byKey.size();
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

    /** long -> Session, open addressing with linear probing and backward-shift deletion; no allocation per lookup. */
    static final class LongMap {
        private long[] keys = new long[16];
        private Session[] values = new Session[16];
        private int size;

        Session get(long key) {
            int mask = keys.length - 1;
            for (int i = hash(key) & mask; ; i = (i + 1) & mask) {
                Session v = values[i];
                if (v == null || keys[i] == key) {
                    return v;
                }
            }
        }

        void put(long key, Session value) {
            if ((size + 1) * 2 > keys.length) {
                resize(keys.length * 2);
            }
            int mask = keys.length - 1;
            for (int i = hash(key) & mask; ; i = (i + 1) & mask) {
                if (values[i] == null) {
                    keys[i] = key;
                    values[i] = value;
                    size++;
                    return;
                }
                if (keys[i] == key) {
                    values[i] = value;
                    return;
                }
            }
        }

        /** Removes {@code key} only if it maps to {@code value}. */
        boolean remove(long key, Session value) {
            int mask = keys.length - 1;
            int i = hash(key) & mask;
            for (; ; i = (i + 1) & mask) {
                Session v = values[i];
                if (v == null) {
                    return false;
                }
                if (keys[i] == key) {
                    if (v != value) {
                        return false;
                    }
                    break;
                }
            }
            // Backward-shift deletion: move later entries of the probe run into the hole.
            int hole = i;
            for (int j = (hole + 1) & mask; values[j] != null; j = (j + 1) & mask) {
                int home = hash(keys[j]) & mask;
                // j's entry may fill the hole if its home is not cyclically within (hole, j].
                if (((j - home) & mask) >= ((j - hole) & mask)) {
                    keys[hole] = keys[j];
                    values[hole] = values[j];
                    hole = j;
                }
            }
            values[hole] = null;
            keys[hole] = 0;
            size--;
            return true;
        }

        int size() {
            return size;
        }

        private void resize(int capacity) {
            long[] oldKeys = keys;
            Session[] oldValues = values;
            keys = new long[capacity];
            values = new Session[capacity];
            size = 0;
            for (int i = 0; i < oldKeys.length; i++) {
                if (oldValues[i] != null) {
                    put(oldKeys[i], oldValues[i]);
                }
            }
        }

        private static int hash(long key) {
            long h = key * 0x9E3779B97F4A7C15L;
            return (int) (h ^ (h >>> 29) ^ (h >>> 47));
        }
    }
}
