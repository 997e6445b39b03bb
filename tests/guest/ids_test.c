// uname and process identity: sysname "Linux", machine "x86_64", a release
// string that glibc accepts; getpid/getppid/gettid/getuid... consistent with
// each other and with the raw syscalls.  Values themselves are not printed.
// VARIANTS: static static-pie
// EXPECT_EXIT: 0
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "check.h"
#define CHECK CHECK_PLAIN

int main(void)
{
    struct utsname u;
    CHECK(uname(&u) == 0);
    printf("sysname=%s machine=%s\n", u.sysname, u.machine);
    CHECK(strcmp(u.sysname, "Linux") == 0);
    CHECK(strcmp(u.machine, "x86_64") == 0);
    unsigned maj = 0, min = 0;
    CHECK(sscanf(u.release, "%u.%u", &maj, &min) == 2 && maj >= 3);
    CHECK(u.nodename[0] != 0 && strlen(u.nodename) < sizeof u.nodename);
    CHECK(u.version[0] != 0);

    pid_t pid = getpid();
    CHECK(pid > 0);
    CHECK(syscall(SYS_getpid) == pid);
    CHECK(getpid() == pid);
    CHECK(gettid() == pid); /* single-threaded: the main thread's tid is the pid */
    CHECK(getppid() > 0 && getppid() != pid);
    CHECK(syscall(SYS_getppid) == getppid());
    CHECK(getpgrp() > 0);
    /* Not > 0: where the session leader lives outside our pid namespace (a container, as
     * on CI) Linux reports session 0. */
    CHECK(getsid(0) >= 0 && getsid(0) == getsid(getpid()));
    CHECK(syscall(SYS_getuid) == getuid());
    CHECK(syscall(SYS_geteuid) == geteuid());
    CHECK(syscall(SYS_getgid) == getgid());
    CHECK(syscall(SYS_getegid) == getegid());
    uid_t r, e, s;
    CHECK(getresuid(&r, &e, &s) == 0 && r == getuid() && e == geteuid());
    gid_t gr, ge, gs;
    CHECK(getresgid(&gr, &ge, &gs) == 0 && gr == getgid() && ge == getegid());
    CHECK(getgroups(0, NULL) >= 0);

    char host[256];
    CHECK(gethostname(host, sizeof host) == 0 && strcmp(host, u.nodename) == 0);
    struct rlimit rl;
    CHECK(getrlimit(RLIMIT_STACK, &rl) == 0 && rl.rlim_cur >= 1 << 20);
    CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur >= 64);
    CHECK(sysconf(_SC_PAGESIZE) == 4096);
    CHECK(sysconf(_SC_NPROCESSORS_ONLN) >= 1);
    char cwd[4096];
    CHECK(getcwd(cwd, sizeof cwd) != NULL && cwd[0] == '/');
    mode_t old = umask(022);
    CHECK(umask(old) == 022);
    printf("%d failures\n", failures);
    return failures ? 1 : 0;
}
