// File descriptors passed over AF_UNIX (SCM_RIGHTS): a pipe end, a regular file and a
// socket sent and received on a socketpair, used on the far side; MSG_CMSG_CLOEXEC; a
// bad fd in the message is EBADF; a directory fd (which would resolve paths past the
// policy in the guest) arrives natively but is dropped by kvmserver with MSG_CTRUNC, so
// that case prints only what both agree on.  And UDP-Lite sockets with their checksum
// coverage options, sending a datagram over loopback.
// VARIANTS: static static-pie
// EXPECT_EXIT: 0
#define _GNU_SOURCE
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#define CHECK CHECK_FRESH_ERRNO

#ifndef UDPLITE_SEND_CSCOV
#define UDPLITE_SEND_CSCOV 10
#define UDPLITE_RECV_CSCOV 11
#endif

static int send_fds(int sock, const int *fds, int n)
{
    char data = 'x';
    struct iovec iov = {&data, 1};
    union {
        char buf[CMSG_SPACE(8 * sizeof(int))];
        struct cmsghdr align;
    } u;
    memset(&u, 0, sizeof u);
    struct msghdr m = {
            .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = CMSG_SPACE(n * sizeof(int))};
    struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(n * sizeof(int));
    memcpy(CMSG_DATA(cm), fds, n * sizeof(int));
    return (int)sendmsg(sock, &m, 0);
}

// Receives up to 8 fds; returns how many, -1 on error; *flags gets msg_flags.
static int recv_fds(int sock, int *fds, int recv_flags, int *flags)
{
    char data;
    struct iovec iov = {&data, 1};
    union {
        char buf[CMSG_SPACE(8 * sizeof(int))];
        struct cmsghdr align;
    } u;
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
    if (recvmsg(sock, &m, recv_flags) != 1)
        return -1;
    *flags = m.msg_flags;
    int n = 0;
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&m); cm; cm = CMSG_NXTHDR(&m, cm))
        if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
            int k = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
            memcpy(fds + n, CMSG_DATA(cm), k * sizeof(int));
            n += k;
        }
    return n;
}

static void pass_fds(void)
{
    int sv[2], pp[2], inner[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    CHECK(pipe(pp) == 0);
    CHECK(socketpair(AF_UNIX, SOCK_DGRAM, 0, inner) == 0);
    int file = open("passed.tmp", O_RDWR | O_CREAT | O_TRUNC, 0600);
    CHECK(file >= 0 && write(file, "file contents", 13) == 13);
    int out[3] = {pp[1], file, inner[0]};
    CHECK(send_fds(sv[0], out, 3) == 1);
    int got[8], flags = 0;
    CHECK(recv_fds(sv[1], got, 0, &flags) == 3);
    CHECK((flags & MSG_CTRUNC) == 0);
    CHECK(got[0] != pp[1] && got[1] != file && got[2] != inner[0]); // new numbers
    CHECK(fcntl(got[0], F_GETFD) == 0); // no MSG_CMSG_CLOEXEC: not close-on-exec
    // the received pipe end writes into the original pipe
    CHECK(write(got[0], "through", 7) == 7);
    char buf[32] = {0};
    CHECK(read(pp[0], buf, sizeof buf) == 7);
    printf("pipe: '%s'\n", buf);
    // the received file shares the offset (one open file description)
    CHECK(lseek(got[1], 0, SEEK_CUR) == 13);
    CHECK(lseek(got[1], 5, SEEK_SET) == 5 && lseek(file, 0, SEEK_CUR) == 5);
    memset(buf, 0, sizeof buf);
    CHECK(read(got[1], buf, sizeof buf) == 8);
    printf("file: '%s'\n", buf);
    // the received socket talks to the other end
    CHECK(send(got[2], "dgram", 5, 0) == 5);
    memset(buf, 0, sizeof buf);
    CHECK(recv(inner[1], buf, sizeof buf, 0) == 5);
    printf("socket: '%s'\n", buf);
    struct stat a, b;
    CHECK(fstat(got[1], &a) == 0 && fstat(file, &b) == 0 && a.st_ino == b.st_ino);

    // MSG_CMSG_CLOEXEC
    CHECK(send_fds(sv[0], out, 1) == 1);
    int got2[8];
    CHECK(recv_fds(sv[1], got2, MSG_CMSG_CLOEXEC, &flags) == 1);
    CHECK(fcntl(got2[0], F_GETFD) == FD_CLOEXEC);

    // a bad fd: nothing is sent
    int bad[2] = {pp[0], 777};
    CHECK(send_fds(sv[0], bad, 2) == -1 && errno == EBADF);

    // a directory: natively it arrives; kvmserver drops it and says MSG_CTRUNC
    int dir = open(".", O_RDONLY | O_DIRECTORY);
    CHECK(send_fds(sv[0], &dir, 1) == 1);
    int n = recv_fds(sv[1], got2, 0, &flags);
    CHECK(n == 1 || (n == 0 && (flags & MSG_CTRUNC)));
    for (int i = 0; i < 3; i++)
        close(got[i]);
    close(file);
    unlink("passed.tmp");
}

static void udplite(void)
{
    int s = socket(AF_INET, SOCK_DGRAM, IPPROTO_UDPLITE);
    CHECK(s >= 0);
    int cov = 20;
    CHECK(setsockopt(s, IPPROTO_UDPLITE, UDPLITE_SEND_CSCOV, &cov, sizeof cov) == 0);
    CHECK(setsockopt(s, IPPROTO_UDPLITE, UDPLITE_RECV_CSCOV, &cov, sizeof cov) == 0);
    int v = 0;
    socklen_t len = sizeof v;
    CHECK(getsockopt(s, IPPROTO_UDPLITE, UDPLITE_SEND_CSCOV, &v, &len) == 0 && v == 20);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    CHECK(bind(s, (struct sockaddr *)&sa, sizeof sa) == 0);
    len = sizeof sa;
    CHECK(getsockname(s, (struct sockaddr *)&sa, &len) == 0);
    CHECK(sendto(s, "lite", 4, 0, (struct sockaddr *)&sa, sizeof sa) == 4);
    char buf[8] = {0};
    CHECK(recv(s, buf, sizeof buf, 0) == 4);
    printf("udplite: '%s'\n", buf);
    close(s);
    CHECK(socket(AF_INET, SOCK_STREAM, IPPROTO_UDPLITE) == -1 && errno == EPROTONOSUPPORT);
}

int main(void)
{
    pass_fds();
    udplite();
    printf("%s\n", failures ? "some checks failed" : "all checks passed");
    return failures ? 1 : 0;
}
