// TCP over the loopback: socket, bind 127.0.0.1:0, listen, getsockname, connect,
// accept4, send/recv, sendmsg/recvmsg with two iovecs, getpeername, socket
// options (SO_REUSEADDR, TCP_NODELAY, SO_TYPE, SO_ERROR), addrlen truncation
// (value-result), shutdown, UDP, IPv6, and the argument errors (EAFNOSUPPORT,
// EINVAL, EBADF, ENOTSOCK, EFAULT).  Ports differ from run to run: only
// verdicts are printed.  The listeners are non-blocking: kvmserver takes a
// blocking wait on a listening socket as "the server is ready" (server mode).
// KVMSERVER_OPTS: --allow-net
// DEFAULT_OPTS: no
// VARIANTS: static static-pie
// EXPECT_EXIT: 0
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "check.h"
#define CHECK CHECK_ERRNO

/* accept4 on a non-blocking listener, waiting up to a second for the connection. */
static int accept_wait(int ls, struct sockaddr *sa, socklen_t *len, int flags)
{
    for (int i = 0; i < 1000; i++) {
        int fd = accept4(ls, sa, len, flags);
        if (fd >= 0 || errno != EAGAIN)
            return fd;
        usleep(1000);
    }
    return -1;
}

/* Reads exactly n bytes (TCP may split). */
static ssize_t recv_all(int fd, char *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = recv(fd, buf + got, n - got, 0);
        if (r <= 0)
            return r;
        got += (size_t)r;
    }
    return (ssize_t)got;
}

int main(void)
{
    /* argument errors first */
    errno = 0;
    CHECK(socket(12345, SOCK_STREAM, 0) == -1 && errno == EAFNOSUPPORT);
    errno = 0;
    CHECK(socket(AF_INET, 0xff, 0) == -1 && errno == EINVAL);
    errno = 0;
    CHECK(socket(AF_INET, SOCK_STREAM, IPPROTO_UDP) == -1 && errno == EPROTONOSUPPORT);
    errno = 0;
    CHECK(listen(999, 1) == -1 && errno == EBADF);
    int pfd[2];
    CHECK(pipe(pfd) == 0);
    struct sockaddr_in any = { .sin_family = AF_INET };
    errno = 0;
    CHECK(bind(pfd[0], (struct sockaddr *)&any, sizeof(any)) == -1 && errno == ENOTSOCK);
    close(pfd[0]);
    close(pfd[1]);

    int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    CHECK(ls >= 0);
    CHECK((fcntl(ls, F_GETFD) & FD_CLOEXEC) != 0 && (fcntl(ls, F_GETFL) & O_NONBLOCK) != 0);
    errno = 0;
    CHECK(accept(ls, NULL, NULL) == -1 && errno == EINVAL); /* not listening */
    int one = 1, v = 0;
    socklen_t vl = sizeof(v);
    CHECK(setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == 0);
    CHECK(getsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &v, &vl) == 0 && v != 0 && vl == sizeof(int));
    vl = sizeof(v);
    CHECK(getsockopt(ls, SOL_SOCKET, SO_TYPE, &v, &vl) == 0 && v == SOCK_STREAM);
    errno = 0;
    CHECK(setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, -1) == -1 && errno == EINVAL);

    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = 0 };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    errno = 0;
    CHECK(bind(ls, (struct sockaddr *)&sa, 200) == -1 && errno == EINVAL);
    errno = 0;
    CHECK(bind(ls, (struct sockaddr *)&sa, 8) == -1 && errno == EINVAL);
    CHECK(bind(ls, (struct sockaddr *)&sa, sizeof(sa)) == 0);
    CHECK(listen(ls, 4) == 0);
    errno = 0;
    CHECK(accept(ls, NULL, NULL) == -1 && errno == EAGAIN);
    vl = sizeof(v);
    CHECK(getsockopt(ls, SOL_SOCKET, SO_ACCEPTCONN, &v, &vl) == 0 && v == 1);

    struct sockaddr_in bound;
    socklen_t bl = sizeof(bound);
    memset(&bound, 0, sizeof(bound));
    CHECK(getsockname(ls, (struct sockaddr *)&bound, &bl) == 0);
    CHECK(bl == sizeof(struct sockaddr_in) && bound.sin_family == AF_INET);
    CHECK(bound.sin_addr.s_addr == htonl(INADDR_LOOPBACK) && bound.sin_port != 0);
    /* addrlen is value-result: a short buffer gets the first bytes, the real length
     * comes back */
    unsigned char part[8];
    memset(part, 0xee, sizeof(part));
    bl = 4;
    CHECK(getsockname(ls, (struct sockaddr *)part, &bl) == 0 && bl == sizeof(struct sockaddr_in));
    CHECK(memcmp(part, &bound, 4) == 0 && part[4] == 0xee);
    bl = sizeof(bound);
    errno = 0;
    CHECK(getsockname(ls, (struct sockaddr *)8, &bl) == -1 && errno == EFAULT);
    bl = (socklen_t)-1;
    errno = 0;
    CHECK(getsockname(ls, (struct sockaddr *)&bound, &bl) == -1 && errno == EINVAL);

    int cs = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(cs >= 0);
    CHECK(setsockopt(cs, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) == 0);
    vl = sizeof(v);
    v = 0;
    CHECK(getsockopt(cs, IPPROTO_TCP, TCP_NODELAY, &v, &vl) == 0 && v == 1);
    errno = 0;
    CHECK(getpeername(cs, (struct sockaddr *)&sa, &bl) == -1 && errno == ENOTCONN);
    CHECK(connect(cs, (struct sockaddr *)&bound, sizeof(bound)) == 0);

    errno = 0;
    CHECK(accept4(ls, NULL, NULL, 0x7) == -1 && errno == EINVAL);
    struct sockaddr_in peer;
    socklen_t pl = sizeof(peer);
    int as = accept_wait(ls, (struct sockaddr *)&peer, &pl, SOCK_CLOEXEC);
    CHECK(as >= 0);
    CHECK((fcntl(as, F_GETFD) & FD_CLOEXEC) != 0 && (fcntl(as, F_GETFL) & O_NONBLOCK) == 0);
    CHECK(pl == sizeof(peer) && peer.sin_family == AF_INET && peer.sin_addr.s_addr == htonl(INADDR_LOOPBACK));

    struct sockaddr_in local, remote;
    socklen_t ll = sizeof(local), rl = sizeof(remote);
    CHECK(getsockname(cs, (struct sockaddr *)&local, &ll) == 0);
    CHECK(getpeername(cs, (struct sockaddr *)&remote, &rl) == 0);
    CHECK(remote.sin_port == bound.sin_port && local.sin_port == peer.sin_port);
    vl = sizeof(v);
    CHECK(getsockopt(cs, SOL_SOCKET, SO_ERROR, &v, &vl) == 0 && v == 0);

    /* send / recv */
    char buf[64];
    CHECK(send(cs, "hello", 5, 0) == 5);
    memset(buf, 0, sizeof(buf));
    CHECK(recv_all(as, buf, 5) == 5 && memcmp(buf, "hello", 5) == 0);
    CHECK(sendto(as, "back", 4, 0, NULL, 0) == 4);
    memset(buf, 0, sizeof(buf));
    struct sockaddr_in from;
    socklen_t fl = sizeof(from);
    CHECK(recvfrom(cs, buf, 4, MSG_WAITALL, (struct sockaddr *)&from, &fl) == 4 && memcmp(buf, "back", 4) == 0);
    CHECK(fl == 0); /* a connected TCP socket names no sender */

    /* sendmsg / recvmsg, two iovecs each way */
    struct iovec siov[2] = { { "abc", 3 }, { "defg", 4 } };
    struct msghdr sm = { .msg_iov = siov, .msg_iovlen = 2 };
    CHECK(sendmsg(cs, &sm, 0) == 7);
    char a1[3], a2[4];
    struct iovec riov[2] = { { a1, sizeof(a1) }, { a2, sizeof(a2) } };
    struct msghdr rm = { .msg_iov = riov, .msg_iovlen = 2 };
    CHECK(recvmsg(as, &rm, MSG_WAITALL) == 7);
    CHECK(memcmp(a1, "abc", 3) == 0 && memcmp(a2, "defg", 4) == 0 && rm.msg_flags == 0);
    struct msghdr bad = { .msg_iov = siov, .msg_iovlen = 5000 };
    errno = 0;
    CHECK(sendmsg(cs, &bad, 0) == -1 && errno == EMSGSIZE);
    struct iovec fiov[1] = { { (void *)8, 4 } };
    struct msghdr fm = { .msg_iov = fiov, .msg_iovlen = 1 };
    errno = 0;
    CHECK(sendmsg(cs, &fm, 0) == -1 && errno == EFAULT);

    /* a large transfer through the loopback */
    static char big[1 << 20], got[1 << 20];
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (char)(i * 7 + 3);
    size_t sent = 0, recvd = 0;
    int fl_nb = fcntl(cs, F_GETFL);
    CHECK(fcntl(cs, F_SETFL, fl_nb | O_NONBLOCK) == 0);
    while (recvd < sizeof(big)) {
        if (sent < sizeof(big)) {
            ssize_t w = send(cs, big + sent, sizeof(big) - sent, 0);
            if (w > 0)
                sent += (size_t)w;
            else if (errno != EAGAIN)
                break;
        }
        ssize_t r = recv(as, got + recvd, sizeof(got) - recvd, MSG_DONTWAIT);
        if (r > 0)
            recvd += (size_t)r;
        else if (r == 0 || errno != EAGAIN)
            break;
    }
    CHECK(sent == sizeof(big) && recvd == sizeof(big) && memcmp(big, got, sizeof(big)) == 0);
    CHECK(fcntl(cs, F_SETFL, fl_nb) == 0);

    /* shutdown: the peer reads end of file */
    errno = 0;
    CHECK(shutdown(cs, 99) == -1 && errno == EINVAL);
    CHECK(shutdown(cs, SHUT_WR) == 0);
    CHECK(recv(as, buf, sizeof(buf), 0) == 0);
    CHECK(send(as, "x", 1, 0) == 1);
    CHECK(recv(cs, buf, sizeof(buf), 0) == 1 && buf[0] == 'x');

    CHECK(close(as) == 0);
    CHECK(close(cs) == 0);
    CHECK(close(ls) == 0);

    /* UDP on the loopback: sendto/recvfrom name the peer */
    int u1 = socket(AF_INET, SOCK_DGRAM, 0), u2 = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    CHECK(u1 >= 0 && u2 >= 0);
    struct sockaddr_in ua = { .sin_family = AF_INET };
    ua.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(bind(u2, (struct sockaddr *)&ua, sizeof(ua)) == 0);
    socklen_t ual = sizeof(ua);
    CHECK(getsockname(u2, (struct sockaddr *)&ua, &ual) == 0);
    errno = 0;
    CHECK(recv(u2, buf, sizeof(buf), 0) == -1 && errno == EAGAIN);
    CHECK(sendto(u1, "dgram", 5, 0, (struct sockaddr *)&ua, sizeof(ua)) == 5);
    struct sockaddr_in src;
    socklen_t sl = sizeof(src);
    memset(buf, 0, sizeof(buf));
    for (int i = 0; i < 1000; i++) {
        ssize_t r = recvfrom(u2, buf, sizeof(buf), 0, (struct sockaddr *)&src, &sl);
        if (r >= 0 || errno != EAGAIN)
            break;
        usleep(1000);
    }
    CHECK(memcmp(buf, "dgram", 5) == 0 && sl == sizeof(src) && src.sin_addr.s_addr == htonl(INADDR_LOOPBACK));
    close(u1);
    close(u2);

    /* IPv6 loopback, where the host has it */
    int s6 = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK, 0);
    CHECK(s6 >= 0);
    struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
    if (bind(s6, (struct sockaddr *)&a6, sizeof(a6)) == 0) {
        socklen_t l6 = sizeof(a6);
        CHECK(listen(s6, 1) == 0);
        CHECK(getsockname(s6, (struct sockaddr *)&a6, &l6) == 0 && l6 == sizeof(a6) && a6.sin6_port != 0);
        int c6 = socket(AF_INET6, SOCK_STREAM, 0);
        CHECK(connect(c6, (struct sockaddr *)&a6, sizeof(a6)) == 0);
        int x6 = accept_wait(s6, NULL, NULL, 0);
        CHECK(x6 >= 0 && send(c6, "six", 3, 0) == 3 && recv_all(x6, buf, 3) == 3 && memcmp(buf, "six", 3) == 0);
        close(c6);
        close(x6);
    } else {
        printf("ok   (no IPv6 loopback on this host)\n");
    }
    close(s6);

    printf("%s\n", failures ? "SOME CHECKS FAILED" : "all checks passed");
    return failures ? 1 : 0;
}
