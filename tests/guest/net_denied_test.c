// The network policy.  Without permission (case deny) every way out is EPERM:
// connect to 127.0.0.1:1 (IPv4, IPv6-mapped, and 0.0.0.0 which means this
// host), UDP sendto and sendmsg with a destination, an AF_UNSPEC sendto (which
// UDP treats as AF_INET), bind to a non-zero port, bind to port 0 then listen,
// listen on an unbound socket, abstract AF_UNIX bind and connect; path-based
// AF_UNIX bind where writing is not allowed is EACCES.  What stays allowed:
// sockets themselves, bind to port 0, socketpair, connect(AF_UNSPEC).  With
// --allow-connect=127.0.0.1:1 (case allow) the same connect reaches the host
// and is refused there (ECONNREFUSED), and --allow-listen=127.0.0.1:0 allows
// listening on 127.0.0.1 (any port) but not on the wildcard address.
// NATIVE: skip
// DEFAULT_OPTS: no
// CASE[deny]: deny -> 0
// CASE[allow]: allow -> 0
// KVMSERVER_OPTS[allow]: --allow-connect=127.0.0.1:1 --allow-listen=127.0.0.1:0
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "check.h"
#define CHECK CHECK_ERRNO

static struct sockaddr_in v4(const char *ip, int port)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    inet_pton(AF_INET, ip, &a.sin_addr);
    return a;
}

static int tcp_connect(const void *addr, socklen_t len, int family)
{
    int s = socket(family, SOCK_STREAM, 0);
    errno = 0;
    int r = connect(s, addr, len);
    int e = errno;
    close(s);
    errno = e;
    return r;
}

static void deny(void)
{
    struct sockaddr_in a = v4("127.0.0.1", 1);
    CHECK(tcp_connect(&a, sizeof(a), AF_INET) == -1 && errno == EPERM);
    struct sockaddr_in z = v4("0.0.0.0", 1);
    CHECK(tcp_connect(&z, sizeof(z), AF_INET) == -1 && errno == EPERM);
    struct sockaddr_in6 m = { .sin6_family = AF_INET6, .sin6_port = htons(1) };
    inet_pton(AF_INET6, "::ffff:127.0.0.1", &m.sin6_addr);
    CHECK(tcp_connect(&m, sizeof(m), AF_INET6) == -1 && errno == EPERM);
    struct sockaddr_in6 l6 = { .sin6_family = AF_INET6, .sin6_port = htons(80), .sin6_addr = IN6ADDR_LOOPBACK_INIT };
    CHECK(tcp_connect(&l6, sizeof(l6), AF_INET6) == -1 && errno == EPERM);

    int u = socket(AF_INET, SOCK_DGRAM, 0);
    CHECK(u >= 0);
    struct sockaddr_in d = v4("127.0.0.1", 9);
    errno = 0;
    CHECK(sendto(u, "x", 1, 0, (struct sockaddr *)&d, sizeof(d)) == -1 && errno == EPERM);
    struct sockaddr_in un = d;
    un.sin_family = AF_UNSPEC;
    errno = 0;
    CHECK(sendto(u, "x", 1, 0, (struct sockaddr *)&un, sizeof(un)) == -1 && errno == EPERM);
    struct iovec iov = { "x", 1 };
    struct msghdr mh = { .msg_name = &d, .msg_namelen = sizeof(d), .msg_iov = &iov, .msg_iovlen = 1 };
    errno = 0;
    CHECK(sendmsg(u, &mh, 0) == -1 && errno == EPERM);
    errno = 0;
    CHECK(connect(u, (struct sockaddr *)&d, sizeof(d)) == -1 && errno == EPERM);
    struct sockaddr_in unspec = { .sin_family = AF_UNSPEC };
    CHECK(connect(u, (struct sockaddr *)&unspec, sizeof(unspec)) == 0); /* disconnect: fine */
    /* bind to port 0 is fine (every client does it); a fixed port is not */
    struct sockaddr_in b0 = v4("127.0.0.1", 0);
    CHECK(bind(u, (struct sockaddr *)&b0, sizeof(b0)) == 0);
    close(u);
    u = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in b = v4("127.0.0.1", 4321);
    errno = 0;
    CHECK(bind(u, (struct sockaddr *)&b, sizeof(b)) == -1 && errno == EPERM);
    struct sockaddr_in ub = v4("0.0.0.0", 4321);
    ub.sin_family = AF_UNSPEC;
    errno = 0;
    CHECK(bind(u, (struct sockaddr *)&ub, sizeof(ub)) == -1 && errno == EPERM);
    close(u);

    int s = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(bind(s, (struct sockaddr *)&b0, sizeof(b0)) == 0);
    errno = 0;
    CHECK(listen(s, 1) == -1 && errno == EPERM);
    close(s);
    s = socket(AF_INET6, SOCK_STREAM, 0);
    errno = 0;
    CHECK(listen(s, 1) == -1 && errno == EPERM); /* unbound: would listen on [::]:N */
    close(s);

    /* AF_UNIX: the abstract namespace is the host's */
    int x = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un abs = { .sun_family = AF_UNIX };
    memcpy(abs.sun_path, "\0kvmserver-test", 15);
    socklen_t alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 15);
    errno = 0;
    CHECK(bind(x, (struct sockaddr *)&abs, alen) == -1 && errno == EPERM);
    errno = 0;
    CHECK(connect(x, (struct sockaddr *)&abs, alen) == -1 && errno == EPERM);
    struct sockaddr_un path = { .sun_family = AF_UNIX };
    strcpy(path.sun_path, "/kvmserver-net-denied-test.sock");
    errno = 0;
    CHECK(bind(x, (struct sockaddr *)&path, sizeof(path)) == -1 && errno == EACCES);
    errno = 0;
    CHECK(connect(x, (struct sockaddr *)&path, sizeof(path)) == -1 && errno == EACCES);
    close(x);
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    close(sv[0]);
    close(sv[1]);

    /* raw sockets never */
    errno = 0;
    CHECK(socket(AF_INET, SOCK_RAW, IPPROTO_ICMP) == -1 && errno == EPERM);
    errno = 0;
    CHECK(socket(AF_PACKET, SOCK_RAW, 0) == -1 && errno == EAFNOSUPPORT);
}

static void allow(void)
{
    struct sockaddr_in a = v4("127.0.0.1", 1);
    CHECK(tcp_connect(&a, sizeof(a), AF_INET) == -1 && errno == ECONNREFUSED);
    struct sockaddr_in z = v4("0.0.0.0", 1); /* means this host: checked as 127.0.0.1 */
    CHECK(tcp_connect(&z, sizeof(z), AF_INET) == -1 && errno == ECONNREFUSED);
    struct sockaddr_in6 m = { .sin6_family = AF_INET6, .sin6_port = htons(1) };
    inet_pton(AF_INET6, "::ffff:127.0.0.1", &m.sin6_addr);
    CHECK(tcp_connect(&m, sizeof(m), AF_INET6) == -1 && errno == ECONNREFUSED);
    struct sockaddr_in other = v4("127.0.0.1", 2);
    CHECK(tcp_connect(&other, sizeof(other), AF_INET) == -1 && errno == EPERM);
    struct sockaddr_in far = v4("192.0.2.1", 1);
    CHECK(tcp_connect(&far, sizeof(far), AF_INET) == -1 && errno == EPERM);

    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in b0 = v4("127.0.0.1", 0);
    CHECK(bind(s, (struct sockaddr *)&b0, sizeof(b0)) == 0);
    CHECK(listen(s, 1) == 0);
    struct sockaddr_in got;
    socklen_t gl = sizeof(got);
    CHECK(getsockname(s, (struct sockaddr *)&got, &gl) == 0 && got.sin_port != 0);
    close(s);
    s = socket(AF_INET, SOCK_STREAM, 0);
    errno = 0;
    CHECK(listen(s, 1) == -1 && errno == EPERM); /* 0.0.0.0 needs a wildcard rule */
    close(s);
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "deny") == 0)
        deny();
    else if (argc == 2 && strcmp(argv[1], "allow") == 0)
        allow();
    else
        return 2;
    printf("%s\n", failures ? "SOME CHECKS FAILED" : "all checks passed");
    return failures ? 1 : 0;
}
