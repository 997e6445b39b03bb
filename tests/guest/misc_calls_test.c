// The smaller calls CPython's suite found missing (issue 8 §4): mknod/mkfifo (regular
// files and FIFOs; device nodes are refused, which a root test cannot compare), vectored positional I/O,
// close_range, splice/tee, memfd_create and seals, msync, pipe sizes, FIOASYNC/F_SETOWN,
// FIOCLEX, the scheduling-policy calls, clock_settime's refusals, chroot's checks,
// sync/syncfs, the guest's own host name (a UTS namespace natively), and credentials:
// setresuid/setreuid/setuid/setgroups with their permission rules.  Everything printed is
// compared with a native run; nothing here changes the host (natively the test first
// enters a UTS namespace of its own, and drops its ids only for itself).
// VARIANTS: static static-pie
// EXPECT_EXIT: 0
#define _GNU_SOURCE
#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#define CHECK CHECK_FRESH_ERRNO

static void vectored_io(void)
{
    int fd = open("vec.tmp", O_RDWR | O_CREAT | O_TRUNC, 0600);
    CHECK(fd >= 0);
    char a[] = "hello ", b[] = "world";
    struct iovec w[2] = {{a, 6}, {b, 5}};
    CHECK(pwritev(fd, w, 2, 10) == 11);
    CHECK(lseek(fd, 0, SEEK_CUR) == 0); // positional: the file position stays
    char x[6] = {0}, y[6] = {0};
    struct iovec r[2] = {{x, 5}, {y, 5}};
    CHECK(preadv(fd, r, 2, 11) == 10);
    printf("preadv: '%s' '%s'\n", x, y);
    CHECK(preadv(fd, r, 2, -5) == -1 && errno == EINVAL);
    CHECK(pwritev2(fd, w, 1, -1, 0) == 6); // -1: at the file position, which moves
    CHECK(lseek(fd, 0, SEEK_CUR) == 6);
    CHECK(lseek(fd, 0, SEEK_SET) == 0);
    memset(x, 0, sizeof x);
    CHECK(preadv2(fd, r, 1, -1, 0) == 5 && memcmp(x, "hello", 5) == 0);
    CHECK(preadv2(fd, r, 1, 0, 0x1000) == -1 && errno == EOPNOTSUPP); // unknown RWF flag
    close(fd);
    unlink("vec.tmp");
}

static void making_nodes(void)
{
    struct stat st;
    unlink("fifo.tmp");
    CHECK(mkfifo("fifo.tmp", 0600) == 0);
    CHECK(stat("fifo.tmp", &st) == 0 && S_ISFIFO(st.st_mode) && (st.st_mode & 0777) == 0600);
    int f = open("fifo.tmp", O_RDWR); // Linux lets one fd hold both ends
    CHECK(f >= 0 && write(f, "fifo", 4) == 4);
    char buf[8] = {0};
    CHECK(read(f, buf, sizeof buf) == 4 && strcmp(buf, "fifo") == 0);
    close(f);
    CHECK(mkfifo("fifo.tmp", 0600) == -1 && errno == EEXIST);
    CHECK(unlink("fifo.tmp") == 0);
    CHECK(mknod("reg.tmp", S_IFREG | 0640, 0) == 0);
    CHECK(stat("reg.tmp", &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0);
    CHECK(unlink("reg.tmp") == 0);
    CHECK(mknodat(AT_FDCWD, "plain.tmp", 0600, 0) == 0 && stat("plain.tmp", &st) == 0 && S_ISREG(st.st_mode));
    CHECK(unlink("plain.tmp") == 0);
    CHECK(mknod("bad.tmp", 0170000 | 0600, 0) == -1 && errno == EINVAL);
}

static void closing_ranges(void)
{
    int base = open("/dev/null", O_RDONLY);
    int fds[4];
    for (int i = 0; i < 4; i++)
        fds[i] = dup(base);
    CHECK(syscall(SYS_close_range, fds[0], fds[1], CLOSE_RANGE_CLOEXEC) == 0);
    CHECK(fcntl(fds[0], F_GETFD) == FD_CLOEXEC && fcntl(fds[1], F_GETFD) == FD_CLOEXEC);
    CHECK(fcntl(fds[2], F_GETFD) == 0);
    CHECK(syscall(SYS_close_range, fds[1], ~0u, 0) == 0);
    CHECK(fcntl(fds[1], F_GETFD) == -1 && errno == EBADF);
    CHECK(fcntl(fds[3], F_GETFD) == -1 && errno == EBADF);
    CHECK(fcntl(fds[0], F_GETFD) == FD_CLOEXEC);
    CHECK(syscall(SYS_close_range, 5, 4, 0) == -1 && errno == EINVAL);
    CHECK(syscall(SYS_close_range, 5, 6, 0x100) == -1 && errno == EINVAL);
    close(fds[0]);
    close(base);
}

static void splicing(void)
{
    int pin[2], pout[2];
    CHECK(pipe(pin) == 0 && pipe(pout) == 0);
    int fd = open("splice.tmp", O_RDWR | O_CREAT | O_TRUNC, 0600);
    CHECK(write(pin[1], "spliced data", 12) == 12);
    CHECK(tee(pin[0], pout[1], 100, 0) == 12); // a copy, pin keeps its bytes
    loff_t off = 3;
    CHECK(splice(pin[0], NULL, fd, &off, 100, 0) == 12);
    printf("splice offset after: %lld\n", (long long)off);
    CHECK(lseek(fd, 0, SEEK_CUR) == 0);
    char buf[32] = {0};
    CHECK(pread(fd, buf, sizeof buf, 3) == 12);
    printf("file: '%s'\n", buf);
    off = 8;
    CHECK(splice(fd, &off, pin[1], NULL, 4, 0) == 4);
    memset(buf, 0, sizeof buf);
    CHECK(read(pin[0], buf, sizeof buf) == 4);
    printf("from file at 8: '%s' offset now %lld\n", buf, (long long)off);
    memset(buf, 0, sizeof buf);
    CHECK(read(pout[0], buf, sizeof buf) == 12);
    printf("tee copy: '%s'\n", buf);
    CHECK(splice(fd, NULL, fd, NULL, 4, 0) == -1 && errno == EINVAL); // no pipe
    CHECK(splice(pin[0], (loff_t *)8, fd, NULL, 4, 0) == -1); // offset on a pipe / bad pointer
    close(fd);
    unlink("splice.tmp");
    close(pin[0]), close(pin[1]), close(pout[0]), close(pout[1]);
}

static void memfd(void)
{
    int fd = memfd_create("kvmtest", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    CHECK(fd >= 0);
    CHECK(fcntl(fd, F_GETFD) == FD_CLOEXEC);
    CHECK(write(fd, "in memory", 9) == 9);
    struct stat st;
    CHECK(fstat(fd, &st) == 0 && st.st_size == 9 && S_ISREG(st.st_mode));
    char buf[16] = {0};
    CHECK(pread(fd, buf, sizeof buf, 0) == 9);
    printf("memfd: '%s'\n", buf);
    CHECK(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW) == 0);
    printf("seals: %#x\n", fcntl(fd, F_GET_SEALS));
    CHECK(write(fd, "x", 1) == -1 && errno == EPERM);
    close(fd);
    CHECK(memfd_create("bad", 0x1000) == -1 && errno == EINVAL);
    int plain = memfd_create("plain", 0);
    CHECK(plain >= 0 && fcntl(plain, F_GETFD) == 0);
    CHECK(fcntl(plain, F_ADD_SEALS, F_SEAL_WRITE) == -1 && errno == EPERM); // no sealing
    close(plain);
}

static void msyncing(void)
{
    char *m = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(m != MAP_FAILED);
    CHECK(msync(m, 8192, MS_SYNC) == 0);
    CHECK(msync(m, 100, MS_ASYNC) == 0);
    CHECK(msync(m + 1, 100, MS_SYNC) == -1 && errno == EINVAL);
    CHECK(msync(m, 100, MS_SYNC | MS_ASYNC) == -1 && errno == EINVAL);
    CHECK(munmap(m + 4096, 4096) == 0);
    CHECK(msync(m, 8192, MS_SYNC) == -1 && errno == ENOMEM);
    munmap(m, 4096);
}

static void fd_controls(void)
{
    int pp[2];
    CHECK(pipe(pp) == 0);
    CHECK(fcntl(pp[0], F_SETPIPE_SZ, 128 * 1024) == 128 * 1024);
    CHECK(fcntl(pp[0], F_GETPIPE_SZ) == 128 * 1024);
    close(pp[0]), close(pp[1]);

    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    int on = 1;
    CHECK(ioctl(sv[0], FIOASYNC, &on) == 0);
    CHECK((fcntl(sv[0], F_GETFL) & O_ASYNC) != 0);
    CHECK(fcntl(sv[0], F_SETOWN, getpid()) == 0);
    CHECK(fcntl(sv[0], F_GETOWN) == getpid());
    on = 0;
    CHECK(ioctl(sv[0], FIOASYNC, &on) == 0);
    CHECK((fcntl(sv[0], F_GETFL) & O_ASYNC) == 0);
    CHECK(fcntl(sv[1], F_SETFL, O_ASYNC | O_NONBLOCK) == 0);
    CHECK((fcntl(sv[1], F_GETFL) & (O_ASYNC | O_NONBLOCK)) == (O_ASYNC | O_NONBLOCK));
    CHECK(ioctl(sv[0], FIOCLEX) == 0 && fcntl(sv[0], F_GETFD) == FD_CLOEXEC);
    CHECK(ioctl(sv[0], FIONCLEX) == 0 && fcntl(sv[0], F_GETFD) == 0);
    close(sv[0]), close(sv[1]);
}

static void scheduling(void)
{
    int policies[] = {SCHED_OTHER, SCHED_FIFO, SCHED_RR, SCHED_BATCH, SCHED_IDLE, 42};
    for (unsigned i = 0; i < sizeof policies / sizeof policies[0]; i++) {
        errno = 0;
        int lo = sched_get_priority_min(policies[i]), hi = sched_get_priority_max(policies[i]);
        printf("policy %d: priorities %d..%d (%s)\n", policies[i], lo, hi, strerrorname_np(errno) ?: "-");
    }
    struct sched_param sp = {0};
    CHECK(sched_setscheduler(0, SCHED_OTHER, &sp) == 0);
    CHECK(sched_getscheduler(0) == SCHED_OTHER);
    CHECK(sched_setparam(0, &sp) == 0);
    sp.sched_priority = 5;
    CHECK(sched_setscheduler(0, SCHED_OTHER, &sp) == -1 && errno == EINVAL);
    CHECK(sched_setscheduler(0, 42, &sp) == -1 && errno == EINVAL);
    CHECK(syscall(SYS_sched_setscheduler, 0, SCHED_OTHER, NULL) == -1 && errno == EINVAL);
    CHECK(sched_getscheduler(-1) == -1 && errno == EINVAL);
    CHECK(sched_getscheduler(999999) == -1 && errno == ESRCH);
    struct timespec ts;
    CHECK(sched_rr_get_interval(0, &ts) == 0 && ts.tv_sec == 0);
    CHECK(sched_rr_get_interval(999999, &ts) == -1 && errno == ESRCH);
}

static void refusals(void)
{
    struct timespec ts = {1, 0};
    CHECK(clock_settime(CLOCK_MONOTONIC, &ts) == -1 && errno == EINVAL);
    ts.tv_nsec = -1;
    CHECK(clock_settime(CLOCK_REALTIME, &ts) == -1 && errno == EINVAL);
    CHECK(chroot("/nonexistent-dir") == -1 && errno == ENOENT);
    int fd = open("plain.tmp", O_CREAT | O_WRONLY, 0600);
    close(fd);
    CHECK(chroot("plain.tmp") == -1 && errno == ENOTDIR);
    unlink("plain.tmp");
    sync();
    fd = open(".", O_RDONLY | O_DIRECTORY);
    CHECK(syncfs(fd) == 0);
    close(fd);
    CHECK(syncfs(9999) == -1 && errno == EBADF);
}

static void host_name(void)
{
    // Natively a UTS namespace of the test's own (as root); the guest's names are its own
    // already, and unshare is not emulated.
    if (geteuid() != 0)
        return;
    unshare(CLONE_NEWUTS);
    CHECK(sethostname("kvmtest-host", 12) == 0);
    CHECK(setdomainname("kvmtest.example", 15) == 0);
    struct utsname u;
    CHECK(uname(&u) == 0);
    printf("nodename=%s domainname=%s\n", u.nodename, u.domainname);
    char name[80];
    CHECK(gethostname(name, sizeof name) == 0 && strcmp(name, "kvmtest-host") == 0);
    char big[80];
    memset(big, 'x', sizeof big);
    CHECK(sethostname(big, 65) == -1 && errno == EINVAL);
}

static void credentials(void)
{
    if (geteuid() != 0) // the rules below are written for a test run as root
        return;
    gid_t g[2] = {1234, 5678}, got[4];
    CHECK(setgroups(2, g) == 0);
    CHECK(getgroups(0, NULL) == 2);
    CHECK(getgroups(4, got) == 2 && got[0] == 1234 && got[1] == 5678);
    CHECK(getgroups(1, got) == -1 && errno == EINVAL);
    CHECK(setresgid(-1, 4321, -1) == 0 && getegid() == 4321 && getgid() == 0);
    CHECK(setresuid(-1, 1000, -1) == 0);
    uid_t r, e, s;
    CHECK(getresuid(&r, &e, &s) == 0 && r == 0 && e == 1000 && s == 0);
    CHECK(setgroups(0, NULL) == -1 && errno == EPERM); // effective uid no longer 0
    CHECK(setresuid(-1, 2000, -1) == -1 && errno == EPERM);
    CHECK(setresuid(-1, 0, -1) == 0 && geteuid() == 0); // back: the saved uid is 0
    CHECK(setreuid(-1, 3000) == 0 && getresuid(&r, &e, &s) == 0);
    printf("after setreuid(-1, 3000): %u %u %u\n", r, e, s);
    CHECK(setuid(4000) == -1 && errno == EPERM); // not privileged, not one of its ids
    CHECK(seteuid(0) == 0); // the real uid is still 0
    CHECK(getresuid(&r, &e, &s) == 0);
    printf("ids now: %u %u %u\n", r, e, s);
    CHECK(setuid(1000) == 0 && getresuid(&r, &e, &s) == 0 && r == 1000 && e == 1000 && s == 1000);
    CHECK(setuid(0) == -1 && errno == EPERM);
    CHECK(setfsuid(-1) == 1000);
    CHECK(chown(".", 0, 0) == -1 && errno == EPERM);
}

int main(void)
{
    vectored_io();
    making_nodes();
    closing_ranges();
    splicing();
    memfd();
    msyncing();
    fd_controls();
    scheduling();
    refusals();
    host_name();
    credentials();
    printf("%s\n", failures ? "some checks failed" : "all checks passed");
    return failures ? 1 : 0;
}
