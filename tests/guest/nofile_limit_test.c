// RLIMIT_NOFILE: lowering the soft limit keeps the hard one (getrlimit shows both, and the
// soft one can be raised back), an fd at or above the soft limit stays usable and a fork
// child inherits it, while dup2 to such a number is EBADF (CPython's
// test_close_fds_when_max_fd_is_lowered; the hard limit once fell with the soft one and
// a child was refused with EBADF).
#include <fcntl.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#define CHECK CHECK_FRESH_ERRNO

int main(void)
{
    struct rlimit old, low, cur;
    CHECK(getrlimit(RLIMIT_NOFILE, &old) == 0 && old.rlim_cur > 64);
    CHECK(dup2(1, 40) == 40);
    low = (struct rlimit){29, old.rlim_max};
    CHECK(setrlimit(RLIMIT_NOFILE, &low) == 0);
    CHECK(getrlimit(RLIMIT_NOFILE, &cur) == 0 && cur.rlim_cur == 29 && cur.rlim_max == old.rlim_max);
    CHECK(fcntl(40, F_GETFD) == 0);
    CHECK(dup2(1, 35) == -1 && errno == EBADF);
    pid_t child = fork();
    if (child == 0)
        _exit(fcntl(40, F_GETFD) == 0 && write(40, "", 0) == 0 ? 0 : 1);
    int st = -1;
    CHECK(child > 0 && waitpid(child, &st, 0) == child);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CHECK(setrlimit(RLIMIT_NOFILE, &old) == 0);
    CHECK(getrlimit(RLIMIT_NOFILE, &cur) == 0 && cur.rlim_cur == old.rlim_cur && cur.rlim_max == old.rlim_max);
    CHECK(dup2(1, 35) == 35);
    printf("%s\n", failures ? "FAILED" : "all passed");
    return failures ? 1 : 0;
}
