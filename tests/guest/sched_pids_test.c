// The scheduling calls about other processes: the parent getppid() shows and a child
// can be read (SCHED_OTHER, priority 0, an affinity mask), a negative or unknown pid is
// EINVAL / ESRCH as Linux answers, and an empty CPU set is EINVAL (CPython's test_posix
// sched tests; the parent once was ESRCH and sched_setaffinity(-1) succeeded).
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#define CHECK CHECK_FRESH_ERRNO

#define UNKNOWN_PID 999999999

int main(void)
{
    struct sched_param sp = {1};
    cpu_set_t set, none;
    CPU_ZERO(&none);
    CHECK((sched_getscheduler(getppid()) & ~SCHED_RESET_ON_FORK) == SCHED_OTHER);
    CHECK(sched_getparam(getppid(), &sp) == 0 && sp.sched_priority == 0);
    CHECK(sched_getaffinity(getppid(), sizeof(set), &set) == 0 && CPU_COUNT(&set) >= 1);
    CHECK(sched_getscheduler(-1) == -1 && errno == EINVAL);
    CHECK(sched_getparam(-1, &sp) == -1 && errno == EINVAL);
    CHECK(sched_getscheduler(UNKNOWN_PID) == -1 && errno == ESRCH);
    CHECK(sched_getaffinity(-1, sizeof(set), &set) == -1 && errno == ESRCH);
    CHECK(sched_getaffinity(UNKNOWN_PID, sizeof(set), &set) == -1 && errno == ESRCH);
    CHECK(sched_getaffinity(0, sizeof(set), &set) == 0);
    CHECK(sched_setaffinity(-1, sizeof(set), &set) == -1 && errno == ESRCH);
    CHECK(sched_setaffinity(UNKNOWN_PID, sizeof(set), &set) == -1 && errno == ESRCH);
    CHECK(sched_setaffinity(0, sizeof(none), &none) == -1 && errno == EINVAL);
    CHECK(sched_setaffinity(0, sizeof(set), &set) == 0);
    int fds[2];
    CHECK(pipe(fds) == 0);
    pid_t child = fork();
    if (child == 0) {
        char c;
        read(fds[0], &c, 1); // alive until the parent has looked
        _exit(0);
    }
    CHECK(child > 0);
    CHECK(sched_getscheduler(child) == SCHED_OTHER);
    CHECK(sched_getparam(child, &sp) == 0 && sp.sched_priority == 0);
    CHECK(sched_getaffinity(child, sizeof(set), &set) == 0 && CPU_COUNT(&set) >= 1);
    CHECK(write(fds[1], "x", 1) == 1);
    int st;
    CHECK(waitpid(child, &st, 0) == child && WIFEXITED(st));
    printf("%s\n", failures ? "FAILED" : "all passed");
    return failures ? 1 : 0;
}
