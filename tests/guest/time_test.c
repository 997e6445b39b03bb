// Clocks and sleeping: clock_gettime (monotonic never goes back, realtime is a
// plausible date), gettimeofday and time() agree with CLOCK_REALTIME,
// clock_getres, and nanosleep(10 ms) sleeps at least 10 ms.  Only verdicts are
// printed; times themselves differ from run to run.
// VARIANTS: static static-pie
// EXPECT_EXIT: 0
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "check.h"
#define CHECK CHECK_PLAIN

static int64_t ns(struct timespec t)
{
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

int main(void)
{
    struct timespec a, b, r;
    CHECK(clock_gettime(CLOCK_MONOTONIC, &a) == 0);
    int backwards = 0, valid = 1;
    for (int i = 0; i < 10000; i++) {
        if (clock_gettime(CLOCK_MONOTONIC, &b) != 0)
            valid = 0;
        if (b.tv_nsec < 0 || b.tv_nsec >= 1000000000)
            valid = 0;
        if (ns(b) < ns(a))
            backwards++;
        a = b;
    }
    CHECK(valid);
    CHECK(backwards == 0);

    CHECK(clock_gettime(CLOCK_REALTIME, &r) == 0);
    CHECK(r.tv_sec > 1577836800);  /* after 2020-01-01 */
    CHECK(r.tv_sec < 4102444800);  /* before 2100-01-01 */
    struct timeval tv;
    CHECK(gettimeofday(&tv, NULL) == 0);
    CHECK(tv.tv_usec >= 0 && tv.tv_usec < 1000000);
    CHECK(tv.tv_sec >= r.tv_sec && tv.tv_sec - r.tv_sec < 5);
    time_t t = time(NULL);
    CHECK(t >= tv.tv_sec - 1 && t - tv.tv_sec < 5); /* time() reads the coarse clock: up to a tick behind */

    struct timespec res;
    CHECK(clock_getres(CLOCK_MONOTONIC, &res) == 0);
    CHECK(res.tv_sec == 0 && res.tv_nsec > 0 && res.tv_nsec <= 10000000);
    CHECK(clock_gettime(CLOCK_BOOTTIME, &b) == 0);
    CHECK(clock_gettime(CLOCK_MONOTONIC_COARSE, &b) == 0);
    CHECK(clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b) == 0);

    /* nanosleep 10 ms: at least 10 ms pass (generous upper bound: emulation) */
    struct timespec req = {0, 10 * 1000 * 1000}, rem = {0, 0};
    CHECK(clock_gettime(CLOCK_MONOTONIC, &a) == 0);
    CHECK(nanosleep(&req, &rem) == 0);
    CHECK(clock_gettime(CLOCK_MONOTONIC, &b) == 0);
    int64_t slept = ns(b) - ns(a);
    CHECK(slept >= 10 * 1000 * 1000);
    CHECK(slept < (int64_t)10 * 1000 * 1000 * 1000);
    /* realtime advanced too */
    struct timespec r2;
    CHECK(clock_gettime(CLOCK_REALTIME, &r2) == 0);
    CHECK(ns(r2) - ns(r) >= 9 * 1000 * 1000);

    req.tv_nsec = 1000000000; /* invalid */
    errno = 0;
    CHECK(nanosleep(&req, NULL) == -1 && errno == EINVAL);
    CHECK(clock_nanosleep(CLOCK_MONOTONIC, 0, &(struct timespec){0, 1000000}, NULL) == 0);
    errno = 0;
    CHECK(clock_gettime((clockid_t)12345, &b) == -1 && errno == EINVAL);

    printf("%d failures\n", failures);
    return failures ? 1 : 0;
}
