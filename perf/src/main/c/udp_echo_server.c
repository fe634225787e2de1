/*
 * udp_echo_server: a lean UDP echo backend for load tests (the C twin of
 * io.tandem.perf.udp.UdpEchoServer).
 *
 *   udp_echo_server host:port [seconds=120]
 *
 * One socket, one thread: a blocking recvmmsg of up to 64 datagrams (MSG_WAITFORONE: returns
 * as soon as one is there, with whatever else is queued), then one sendmmsg that echoes each
 * to its sender. Two system calls per batch, no epoll, no allocation. Lives at most `seconds`
 * (capped at 3600); binds loopback addresses only.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64
#define SLOT 2048

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: udp_echo_server host:port [seconds=120]\n");
        return 2;
    }
    char host[64];
    const char *colon = strrchr(argv[1], ':');
    if (!colon || colon - argv[1] >= (long) sizeof(host)) {
        fprintf(stderr, "bad address %s\n", argv[1]);
        return 2;
    }
    memcpy(host, argv[1], (size_t) (colon - argv[1]));
    host[colon - argv[1]] = 0;
    int port = atoi(colon + 1);
    int seconds = argc > 2 ? atoi(argv[2]) : 120;
    seconds = seconds < 1 ? 1 : seconds > 3600 ? 3600 : seconds;

    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t) port)};
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1 || (ntohl(addr.sin_addr.s_addr) >> 24) != 127) {
        fprintf(stderr, "address must be IPv4 loopback: %s\n", host);
        return 2;
    }
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    int buf = 1 << 20, one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
    struct timeval tv = {.tv_sec = 1};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)); /* wake up to check the deadline */
    if (fd < 0 || bind(fd, (struct sockaddr *) &addr, sizeof(addr)) != 0) {
        perror("socket/bind");
        return 1;
    }
    socklen_t alen = sizeof(addr);
    getsockname(fd, (struct sockaddr *) &addr, &alen);
    printf("udp echo server tool=c address=%s:%d seconds=%d\n", host, ntohs(addr.sin_port), seconds);
    fflush(stdout);

    static uint8_t data[BATCH][SLOT];
    static struct sockaddr_in peers[BATCH];
    static struct iovec iov[BATCH];
    static struct mmsghdr msgs[BATCH];
    for (int i = 0; i < BATCH; i++) {
        iov[i] = (struct iovec) {.iov_base = data[i], .iov_len = SLOT};
        msgs[i].msg_hdr = (struct msghdr) {.msg_iov = &iov[i], .msg_iovlen = 1, .msg_name = &peers[i]};
    }
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    unsigned long long echoed = 0;
    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &t);
        if (t.tv_sec - t0.tv_sec >= seconds) {
            break;
        }
        for (int i = 0; i < BATCH; i++) {
            msgs[i].msg_hdr.msg_namelen = sizeof(peers[i]);
            iov[i].iov_len = SLOT;
        }
        int n = recvmmsg(fd, msgs, BATCH, MSG_WAITFORONE, NULL);
        if (n <= 0) {
            continue; /* timeout (deadline check) or an ICMP error from a client that went away */
        }
        for (int i = 0; i < n; i++) {
            iov[i].iov_len = msgs[i].msg_len;
        }
        int off = 0;
        while (off < n) {
            int r = sendmmsg(fd, msgs + off, (unsigned) (n - off), 0);
            if (r < 0) {
                if (errno == EINTR) {
                    continue;
                }
                off++; /* this peer is gone (ECONNREFUSED etc.): skip it, echo the rest */
                continue;
            }
            off += r;
        }
        echoed += (unsigned long long) n;
    }
    printf("udp echo server done echoed=%llu\n", echoed);
    return 0;
}
