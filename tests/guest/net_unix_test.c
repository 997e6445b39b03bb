// AF_UNIX socket pairs: stream send/recv both ways, datagram boundaries and
// MSG_TRUNC, SOCK_NONBLOCK (EAGAIN), credentials (SO_PASSCRED + SCM_CREDENTIALS,
// SO_PEERCRED), the unnamed address of a pair (getsockname), shutdown, poll on a
// pair, and the errors (socketpair on AF_INET: EOPNOTSUPP; bad vector: EFAULT).
// Needs no network permission.
// VARIANTS: static static-pie
// EXPECT_EXIT: 0
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "check.h"
#define CHECK CHECK_ERRNO

int main(void)
{
    int sv[2];
    char buf[64];

    errno = 0;
    CHECK(socketpair(AF_INET, SOCK_STREAM, 0, sv) == -1 && errno == EOPNOTSUPP);
    errno = 0;
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, (int *)8) == -1 && errno == EFAULT);
    errno = 0;
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 7, sv) == -1 && errno == EPROTONOSUPPORT);

    /* stream */
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    CHECK(sv[0] >= 0 && sv[1] >= 0 && sv[0] != sv[1]);
    CHECK((fcntl(sv[0], F_GETFD) & FD_CLOEXEC) && (fcntl(sv[1], F_GETFD) & FD_CLOEXEC));
    CHECK(write(sv[0], "ping", 4) == 4);
    memset(buf, 0, sizeof(buf));
    CHECK(read(sv[1], buf, sizeof(buf)) == 4 && memcmp(buf, "ping", 4) == 0);
    CHECK(send(sv[1], "pong!", 5, 0) == 5);
    memset(buf, 0, sizeof(buf));
    CHECK(recv(sv[0], buf, sizeof(buf), 0) == 5 && memcmp(buf, "pong!", 5) == 0);

    struct sockaddr_un un;
    socklen_t ul = sizeof(un);
    memset(&un, 0x55, sizeof(un));
    CHECK(getsockname(sv[0], (struct sockaddr *)&un, &ul) == 0 && ul == sizeof(sa_family_t) && un.sun_family == AF_UNIX);
    ul = sizeof(un);
    CHECK(getpeername(sv[0], (struct sockaddr *)&un, &ul) == 0 && ul == sizeof(sa_family_t));

    int type = 0;
    socklen_t tl = sizeof(type);
    CHECK(getsockopt(sv[0], SOL_SOCKET, SO_TYPE, &type, &tl) == 0 && type == SOCK_STREAM);
    CHECK(getsockopt(sv[0], SOL_SOCKET, SO_DOMAIN, &type, &tl) == 0 && type == AF_UNIX);

    /* the peer's credentials are this process's */
    struct ucred cr;
    socklen_t cl = sizeof(cr);
    CHECK(getsockopt(sv[0], SOL_SOCKET, SO_PEERCRED, &cr, &cl) == 0 && cl == sizeof(cr));
    CHECK(cr.pid == getpid() && cr.uid == getuid() && cr.gid == getgid());

    /* SCM_CREDENTIALS arrives as a control message */
    int one = 1;
    CHECK(setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) == 0);
    CHECK(send(sv[0], "cred", 4, 0) == 4);
    union {
        char buf[CMSG_SPACE(sizeof(struct ucred))];
        struct cmsghdr align;
    } ctl;
    memset(&ctl, 0, sizeof(ctl));
    struct iovec iov = { buf, sizeof(buf) };
    struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf) };
    CHECK(recvmsg(sv[1], &m, 0) == 4);
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    CHECK(c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS);
    if (c) {
        struct ucred got;
        memcpy(&got, CMSG_DATA(c), sizeof(got));
        CHECK(got.uid == getuid() && got.gid == getgid());
    }
    CHECK(m.msg_controllen == CMSG_SPACE(sizeof(struct ucred)) && !(m.msg_flags & MSG_CTRUNC));
    /* a control buffer too small: MSG_CTRUNC */
    CHECK(send(sv[0], "c2", 2, 0) == 2);
    char tiny[4];
    m = (struct msghdr){ .msg_iov = &iov, .msg_iovlen = 1, .msg_control = tiny, .msg_controllen = sizeof(tiny) };
    CHECK(recvmsg(sv[1], &m, 0) == 2 && (m.msg_flags & MSG_CTRUNC) && m.msg_controllen == 0);
    CHECK(setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &(int){ 0 }, sizeof(int)) == 0);

    /* poll: nothing to read, then something */
    struct pollfd pf = { .fd = sv[1], .events = POLLIN };
    CHECK(poll(&pf, 1, 0) == 0);
    CHECK(write(sv[0], "z", 1) == 1);
    CHECK(poll(&pf, 1, 1000) == 1 && (pf.revents & POLLIN));
    CHECK(read(sv[1], buf, 1) == 1);

    /* shutdown: end of file, and EPIPE for the writer */
    CHECK(shutdown(sv[0], SHUT_WR) == 0);
    CHECK(read(sv[1], buf, sizeof(buf)) == 0);
    errno = 0;
    CHECK(send(sv[0], "x", 1, MSG_NOSIGNAL) == -1 && errno == EPIPE);
    CHECK(close(sv[0]) == 0 && close(sv[1]) == 0);

    /* datagrams keep their boundaries; MSG_TRUNC gives the real size */
    CHECK(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, sv) == 0);
    errno = 0;
    CHECK(recv(sv[1], buf, sizeof(buf), 0) == -1 && errno == EAGAIN);
    CHECK(send(sv[0], "one", 3, 0) == 3);
    CHECK(send(sv[0], "twotwo", 6, 0) == 6);
    CHECK(send(sv[0], "three", 5, 0) == 5);
    CHECK(recv(sv[1], buf, sizeof(buf), 0) == 3 && memcmp(buf, "one", 3) == 0);
    CHECK(recv(sv[1], buf, 2, MSG_TRUNC) == 6 && memcmp(buf, "tw", 2) == 0);
    char b1[2], b2[8];
    struct iovec two[2] = { { b1, sizeof(b1) }, { b2, sizeof(b2) } };
    m = (struct msghdr){ .msg_iov = two, .msg_iovlen = 2 };
    CHECK(recvmsg(sv[1], &m, 0) == 5 && memcmp(b1, "th", 2) == 0 && memcmp(b2, "ree", 3) == 0);
    CHECK(send(sv[0], "toolong", 7, 0) == 7);
    m = (struct msghdr){ .msg_iov = two, .msg_iovlen = 1 };
    CHECK(recvmsg(sv[1], &m, 0) == 2 && (m.msg_flags & MSG_TRUNC));
    /* sendmmsg / recvmmsg */
    struct iovec mi[2] = { { "m1", 2 }, { "msg2", 4 } };
    struct mmsghdr mm[2] = { { .msg_hdr = { .msg_iov = &mi[0], .msg_iovlen = 1 } },
                             { .msg_hdr = { .msg_iov = &mi[1], .msg_iovlen = 1 } } };
    CHECK(sendmmsg(sv[0], mm, 2, 0) == 2 && mm[0].msg_len == 2 && mm[1].msg_len == 4);
    char r1[8], r2[8];
    struct iovec ri[2] = { { r1, sizeof(r1) }, { r2, sizeof(r2) } };
    struct mmsghdr rm[3] = { { .msg_hdr = { .msg_iov = &ri[0], .msg_iovlen = 1 } },
                             { .msg_hdr = { .msg_iov = &ri[1], .msg_iovlen = 1 } },
                             { .msg_hdr = { .msg_iov = &ri[1], .msg_iovlen = 1 } } };
    CHECK(recvmmsg(sv[1], rm, 3, MSG_DONTWAIT, NULL) == 2);
    CHECK(rm[0].msg_len == 2 && memcmp(r1, "m1", 2) == 0 && rm[1].msg_len == 4 && memcmp(r2, "msg2", 4) == 0);
    CHECK(close(sv[0]) == 0 && close(sv[1]) == 0);

    /* seqpacket */
    CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == 0);
    CHECK(send(sv[0], "rec", 3, MSG_EOR) == 3);
    CHECK(recv(sv[1], buf, sizeof(buf), 0) == 3);
    CHECK(close(sv[0]) == 0 && close(sv[1]) == 0);

    printf("%s\n", failures ? "SOME CHECKS FAILED" : "all checks passed");
    return failures ? 1 : 0;
}
