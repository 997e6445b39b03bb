// AF_UNIX sockets with names: path-based stream sockets (bind a relative path,
// listen, connect, accept; getsockname/getpeername show the guest's own path,
// also on the accepted socket), a symlink to the socket, datagrams between two
// bound sockets (recvfrom names the sender), the abstract namespace, and the
// errors: EADDRINUSE for a taken path, ENOENT for a missing one, ECONNREFUSED
// for a file that is no socket.  The scratch directory is the cwd; every name
// is removed at the end.
// MKFILE: plain.txt not a socket\n
// EXPECT_EXIT: 0
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "check.h"
#define CHECK CHECK_ERRNO

static socklen_t name(struct sockaddr_un *a, const char *path)
{
    memset(a, 0, sizeof(*a));
    a->sun_family = AF_UNIX;
    strcpy(a->sun_path, path);
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1);
}

static int is_name(const struct sockaddr_un *a, socklen_t len, const char *path)
{
    return len == offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1 && a->sun_family == AF_UNIX &&
           strcmp(a->sun_path, path) == 0;
}

static int accept_wait(int ls)
{
    for (int i = 0; i < 1000; i++) {
        int fd = accept4(ls, NULL, NULL, 0);
        if (fd >= 0 || errno != EAGAIN)
            return fd;
        usleep(1000);
    }
    return -1;
}

int main(void)
{
    const char *names[] = { "s.sock", "link.sock", "d.sock", "c.sock" };
    for (int i = 0; i < 4; i++)
        unlink(names[i]); /* a previous run's */

    struct sockaddr_un a, got;
    socklen_t len, gl;
    char buf[32];

    /* non-blocking: a blocking wait on a listener starts kvmserver's server mode */
    int ls = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
    CHECK(ls >= 0);
    len = name(&a, "s.sock");
    CHECK(bind(ls, (struct sockaddr *)&a, len) == 0);
    gl = sizeof(got);
    CHECK(getsockname(ls, (struct sockaddr *)&got, &gl) == 0 && is_name(&got, gl, "s.sock"));
    CHECK(listen(ls, 4) == 0);
    int other = socket(AF_UNIX, SOCK_STREAM, 0);
    errno = 0;
    CHECK(bind(other, (struct sockaddr *)&a, len) == -1 && errno == EADDRINUSE);
    close(other);

    int cs = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK(connect(cs, (struct sockaddr *)&a, len) == 0);
    gl = sizeof(got);
    CHECK(getpeername(cs, (struct sockaddr *)&got, &gl) == 0 && is_name(&got, gl, "s.sock"));
    gl = sizeof(got);
    CHECK(getsockname(cs, (struct sockaddr *)&got, &gl) == 0 && gl == sizeof(sa_family_t));
    int as = accept_wait(ls);
    CHECK(as >= 0);
    gl = sizeof(got);
    CHECK(getsockname(as, (struct sockaddr *)&got, &gl) == 0 && is_name(&got, gl, "s.sock"));
    CHECK(send(cs, "via path", 8, 0) == 8);
    memset(buf, 0, sizeof(buf));
    CHECK(recv(as, buf, sizeof(buf), 0) == 8 && strcmp(buf, "via path") == 0);
    close(as);
    close(cs);

    /* through a symlink in the same directory */
    CHECK(symlink("s.sock", "link.sock") == 0);
    cs = socket(AF_UNIX, SOCK_STREAM, 0);
    len = name(&a, "link.sock");
    CHECK(connect(cs, (struct sockaddr *)&a, len) == 0);
    as = accept_wait(ls);
    CHECK(as >= 0 && send(as, "L", 1, 0) == 1 && recv(cs, buf, 1, 0) == 1 && buf[0] == 'L');
    close(as);
    close(cs);

    /* errors */
    cs = socket(AF_UNIX, SOCK_STREAM, 0);
    len = name(&a, "missing.sock");
    errno = 0;
    CHECK(connect(cs, (struct sockaddr *)&a, len) == -1 && errno == ENOENT);
    len = name(&a, "plain.txt");
    errno = 0;
    CHECK(connect(cs, (struct sockaddr *)&a, len) == -1 && errno == ECONNREFUSED);
    len = name(&a, "nodir/x.sock");
    errno = 0;
    CHECK(bind(cs, (struct sockaddr *)&a, len) == -1 && errno == ENOENT);
    errno = 0;
    CHECK(connect(cs, (struct sockaddr *)&a, sizeof(a) + 1) == -1 && errno == EINVAL);
    close(cs);
    close(ls);

    /* datagrams between two named sockets */
    int d = socket(AF_UNIX, SOCK_DGRAM, 0), c = socket(AF_UNIX, SOCK_DGRAM, 0);
    len = name(&a, "d.sock");
    CHECK(bind(d, (struct sockaddr *)&a, len) == 0);
    struct sockaddr_un ca;
    socklen_t cl = name(&ca, "c.sock");
    CHECK(bind(c, (struct sockaddr *)&ca, cl) == 0);
    CHECK(sendto(c, "dg", 2, 0, (struct sockaddr *)&a, len) == 2);
    gl = sizeof(got);
    memset(&got, 0, sizeof(got));
    CHECK(recvfrom(d, buf, sizeof(buf), 0, (struct sockaddr *)&got, &gl) == 2 && is_name(&got, gl, "c.sock"));
    CHECK(connect(c, (struct sockaddr *)&a, len) == 0 && send(c, "cn", 2, 0) == 2);
    struct iovec iov = { buf, sizeof(buf) };
    struct msghdr m = { .msg_name = &got, .msg_namelen = sizeof(got), .msg_iov = &iov, .msg_iovlen = 1 };
    memset(&got, 0, sizeof(got));
    CHECK(recvmsg(d, &m, 0) == 2 && is_name(&got, m.msg_namelen, "c.sock"));
    close(d);
    close(c);

    /* the abstract namespace: a random name, so runs do not collide */
    unsigned char rnd[8];
    CHECK(getrandom(rnd, sizeof(rnd), 0) == sizeof(rnd));
    struct sockaddr_un ab = { .sun_family = AF_UNIX };
    int n = snprintf(ab.sun_path + 1, sizeof(ab.sun_path) - 1, "kvmserver-test-%02x%02x%02x%02x%02x%02x%02x%02x", rnd[0],
                     rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
    socklen_t al = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
    ls = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
    CHECK(bind(ls, (struct sockaddr *)&ab, al) == 0 && listen(ls, 1) == 0);
    gl = sizeof(got);
    CHECK(getsockname(ls, (struct sockaddr *)&got, &gl) == 0 && gl == al && memcmp(&got, &ab, al) == 0);
    cs = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK(connect(cs, (struct sockaddr *)&ab, al) == 0);
    as = accept_wait(ls);
    CHECK(as >= 0 && send(cs, "A", 1, 0) == 1 && recv(as, buf, 1, 0) == 1 && buf[0] == 'A');
    close(as);
    close(cs);
    close(ls);

    for (int i = 0; i < 4; i++)
        CHECK(unlink(names[i]) == 0);
    printf("%s\n", failures ? "SOME CHECKS FAILED" : "all checks passed");
    return failures ? 1 : 0;
}
