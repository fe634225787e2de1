/*
 * udp_echo_load: closed-loop UDP echo load generator (the C twin of
 * io.tandem.perf.udp.UdpEchoLoad, same semantics and output, much less CPU per echo).
 *
 *   udp_echo_load host:port [sockets=64] [inflight=4] [payload=64] [seconds=10]
 *
 * `sockets` client sockets, each connected to host:port from its own ephemeral source port
 * (so each is a separate UDP session in a proxy), each keeping `inflight` datagrams
 * outstanding: every echo sends the next datagram of its slot. A datagram not echoed within
 * 1 s counts as lost and is replaced. The first second is warm-up and not counted; the line
 * "udp echo load measuring" marks its end. Loopback only (127.0.0.0/8), at most 60 s.
 *
 * Every datagram carries [socket index u32][slot u32][seq u64][send time ns u64] and a filler
 * derived from the sequence number. An echo is matched to the socket that received it: a wrong
 * socket index or filler counts as "corrupt" (crossed or damaged, never as an echo); a right
 * one whose slot has moved on (it was declared lost and replaced) counts as "late".
 *
 * Why it is cheaper than the Java tool: one thread, level-triggered epoll over the sockets,
 * and per ready socket one recvmmsg (all its queued echoes) and one sendmmsg (their
 * successors), instead of a Netty channel with a recv per echo plus an EAGAIN read and a send
 * per datagram. Same load on the proxies: same sockets, same inflight, same payload.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define LOSS_TIMEOUT_NS 1000000000LL
#define MAX_MICROS 1000000
#define HEADER 24
#define MAX_PAYLOAD 1472
#define MAX_INFLIGHT 64
#define MAX_SOCKETS 4096

struct client {
    int fd;
    uint32_t index;
    uint64_t seq[MAX_INFLIGHT];
    int64_t sent_at[MAX_INFLIGHT];
};

static int sockets = 64, inflight = 4, payload = 64, seconds = 10;
static struct client *clients;
static uint64_t next_seq = 1;
static int counting;
static uint64_t echoes, lost, late, corrupt, send_errors;
static uint64_t *hist;

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static inline uint8_t filler(uint64_t seq, int i) {
    return (uint8_t) (seq * 31 + (uint64_t) i * 7);
}

/* Fills buf with the datagram for (client, slot) and arms the slot. */
static void prepare(struct client *c, int slot, uint8_t *buf, int64_t now) {
    uint64_t s = next_seq++;
    c->seq[slot] = s;
    c->sent_at[slot] = now;
    uint32_t idx = c->index, sl = (uint32_t) slot;
    memcpy(buf, &idx, 4);
    memcpy(buf + 4, &sl, 4);
    memcpy(buf + 8, &s, 8);
    memcpy(buf + 16, &now, 8);
    for (int i = HEADER; i < payload; i++) {
        buf[i] = filler(s, i);
    }
}

static void send_batch(struct client *c, struct mmsghdr *msgs, int n) {
    int off = 0;
    while (off < n) {
        int r = sendmmsg(c->fd, msgs + off, (unsigned) (n - off), MSG_DONTWAIT);
        if (r <= 0) {
            /* ECONNREFUSED (ICMP from a restarting target) or a full socket buffer: the slots
             * stay armed and are replaced after the loss timeout, like the Java tool. */
            send_errors++;
            return;
        }
        off += r;
    }
}

static uint64_t percentile(uint64_t total, double q) {
    uint64_t want = (uint64_t) (total * q + 0.999999);
    uint64_t seen = 0;
    if (want == 0) {
        return (uint64_t) -1;
    }
    for (int i = 0; i <= MAX_MICROS; i++) {
        seen += hist[i];
        if (seen >= want) {
            return (uint64_t) i;
        }
    }
    return (uint64_t) -1;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: udp_echo_load host:port [sockets=64] [inflight=4] [payload=64] [seconds=10]\n");
        return 2;
    }
    char host[64];
    const char *colon = strrchr(argv[1], ':');
    if (!colon || colon - argv[1] >= (long) sizeof(host)) {
        fprintf(stderr, "bad target %s\n", argv[1]);
        return 2;
    }
    memcpy(host, argv[1], (size_t) (colon - argv[1]));
    host[colon - argv[1]] = 0;
    int port = atoi(colon + 1);
    if (argc > 2) sockets = atoi(argv[2]);
    if (argc > 3) inflight = atoi(argv[3]);
    if (argc > 4) payload = atoi(argv[4]);
    if (argc > 5) seconds = atoi(argv[5]);
    if (sockets < 1 || sockets > MAX_SOCKETS || inflight < 1 || inflight > MAX_INFLIGHT) {
        fprintf(stderr, "sockets 1..%d, inflight 1..%d\n", MAX_SOCKETS, MAX_INFLIGHT);
        return 2;
    }
    payload = payload < HEADER ? HEADER : payload > MAX_PAYLOAD ? MAX_PAYLOAD : payload;
    seconds = seconds < 1 ? 1 : seconds > 60 ? 60 : seconds;

    struct sockaddr_in target = {.sin_family = AF_INET, .sin_port = htons((uint16_t) port)};
    if (inet_pton(AF_INET, host, &target.sin_addr) != 1 || (ntohl(target.sin_addr.s_addr) >> 24) != 127) {
        fprintf(stderr, "target must be an IPv4 loopback address: %s\n", host);
        return 2;
    }
    hist = calloc(MAX_MICROS + 1, sizeof(uint64_t));
    clients = calloc((size_t) sockets, sizeof(struct client));
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (!hist || !clients || ep < 0) {
        perror("setup");
        return 1;
    }
    for (int i = 0; i < sockets; i++) {
        int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *) &target, sizeof(target)) != 0) {
            perror("socket/connect");
            return 1;
        }
        clients[i].fd = fd;
        clients[i].index = (uint32_t) i;
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t) i};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
            perror("epoll_ctl");
            return 1;
        }
    }

    /* Per-call scratch: up to 2 x inflight datagrams received from one socket at once (late
     * ones can ride along), and as many sends. */
    int rmax = 2 * inflight;
    uint8_t (*rbuf)[MAX_PAYLOAD + 1] = calloc((size_t) rmax, MAX_PAYLOAD + 1);
    uint8_t (*sbuf)[MAX_PAYLOAD] = calloc((size_t) rmax, MAX_PAYLOAD);
    struct iovec *riov = calloc((size_t) rmax, sizeof(struct iovec));
    struct iovec *siov = calloc((size_t) rmax, sizeof(struct iovec));
    struct mmsghdr *rmsg = calloc((size_t) rmax, sizeof(struct mmsghdr));
    struct mmsghdr *smsg = calloc((size_t) rmax, sizeof(struct mmsghdr));
    struct epoll_event *events = calloc((size_t) sockets, sizeof(struct epoll_event));
    if (!rbuf || !sbuf || !riov || !siov || !rmsg || !smsg || !events) {
        perror("calloc");
        return 1;
    }
    for (int i = 0; i < rmax; i++) {
        riov[i] = (struct iovec) {.iov_base = rbuf[i], .iov_len = MAX_PAYLOAD + 1};
        rmsg[i].msg_hdr = (struct msghdr) {.msg_iov = &riov[i], .msg_iovlen = 1};
        siov[i] = (struct iovec) {.iov_base = sbuf[i], .iov_len = (size_t) payload};
        smsg[i].msg_hdr = (struct msghdr) {.msg_iov = &siov[i], .msg_iovlen = 1};
    }

    int64_t start = now_ns();
    for (int i = 0; i < sockets; i++) {
        for (int s = 0; s < inflight; s++) {
            prepare(&clients[i], s, sbuf[s], start);
        }
        send_batch(&clients[i], smsg, inflight);
    }

    int64_t measure_at = start + 1000000000LL;
    int64_t end_at = measure_at + (int64_t) seconds * 1000000000LL;
    int64_t next_expire = start + 100000000LL;
    int64_t measured_from = 0;
    for (;;) {
        int64_t now = now_ns();
        if (!counting && now >= measure_at) {
            echoes = lost = late = corrupt = 0;
            memset(hist, 0, (MAX_MICROS + 1) * sizeof(uint64_t));
            counting = 1;
            measured_from = now;
            /* For harnesses that sample the proxy's CPU over exactly the measured window. */
            printf("udp echo load measuring\n");
            fflush(stdout);
        }
        if (now >= end_at) {
            break;
        }
        if (now >= next_expire) {
            next_expire = now + 100000000LL;
            for (int i = 0; i < sockets; i++) {
                struct client *c = &clients[i];
                int n = 0;
                for (int s = 0; s < inflight; s++) {
                    if (now - c->sent_at[s] > LOSS_TIMEOUT_NS) {
                        if (counting) {
                            lost++;
                        }
                        prepare(c, s, sbuf[n++], now);
                    }
                }
                if (n) {
                    send_batch(c, smsg, n);
                }
            }
        }
        int64_t wake = next_expire < end_at ? next_expire : end_at;
        if (!counting && measure_at < wake) {
            wake = measure_at;
        }
        int timeout_ms = (int) ((wake - now + 999999) / 1000000);
        int ready = epoll_wait(ep, events, sockets, timeout_ms < 0 ? 0 : timeout_ms);
        if (ready < 0) {
            if (errno == EINTR) {
                continue;
            }
            perror("epoll_wait");
            return 1;
        }
        for (int e = 0; e < ready; e++) {
            struct client *c = &clients[events[e].data.u32];
            int got = recvmmsg(c->fd, rmsg, (unsigned) rmax, MSG_DONTWAIT, NULL);
            if (got <= 0) {
                continue; /* EAGAIN, or ECONNREFUSED while the target is away: expiry resends */
            }
            int64_t t = now_ns();
            int n = 0;
            for (int k = 0; k < got; k++) {
                const uint8_t *b = rbuf[k];
                unsigned len = rmsg[k].msg_len;
                uint32_t idx, slot;
                uint64_t s;
                if (len != (unsigned) payload) {
                    corrupt++;
                    continue;
                }
                memcpy(&idx, b, 4);
                memcpy(&slot, b + 4, 4);
                memcpy(&s, b + 8, 8);
                int ok = idx == c->index && slot < (uint32_t) inflight;
                for (int i = HEADER; ok && i < payload; i++) {
                    ok = b[i] == filler(s, i);
                }
                if (!ok) {
                    corrupt++;
                    continue;
                }
                if (c->seq[slot] != s) {
                    late++;
                    continue;
                }
                if (counting) {
                    int64_t rtt = (t - c->sent_at[slot]) / 1000;
                    echoes++;
                    hist[rtt > MAX_MICROS ? MAX_MICROS : rtt]++;
                }
                prepare(c, (int) slot, sbuf[n++], t);
            }
            if (n) {
                send_batch(c, smsg, n);
            }
        }
    }
    double elapsed = (double) (now_ns() - measured_from) / 1e9;
    char target_s[80];
    snprintf(target_s, sizeof(target_s), "/%s:%d", host, port);
    printf("udp echo load target=%s sockets=%d inflight=%d payload=%d seconds=%.1f echoes=%llu echoes_per_s=%.0f"
           " lost=%llu loss=%.4f%% late=%llu rtt_p50_us=%lld rtt_p99_us=%lld rtt_p999_us=%lld corrupt=%llu"
           " send_errors=%llu tool=c\n",
           target_s, sockets, inflight, payload, elapsed, (unsigned long long) echoes, (double) echoes / elapsed,
           (unsigned long long) lost, 100.0 * (double) lost / (double) (echoes + lost ? echoes + lost : 1),
           (unsigned long long) late, (long long) percentile(echoes, 0.50), (long long) percentile(echoes, 0.99),
           (long long) percentile(echoes, 0.999), (unsigned long long) corrupt, (unsigned long long) send_errors);
    fflush(stdout);
    return corrupt ? 3 : 0;
}
