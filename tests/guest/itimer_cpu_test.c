// ITIMER_VIRTUAL and ITIMER_PROF: CPU-time interval timers.  A busy loop (no syscalls)
// gets SIGVTALRM / SIGPROF three times, the handler then disarms the timer, and getitimer
// reads it back as armed (no more than was set) and disarmed.  An unknown timer is EINVAL.
// TIMEOUT: 60
#include <signal.h>
#include <stdio.h>
#include <sys/time.h>

#include "check.h"
#define CHECK CHECK_ERRNO

static volatile sig_atomic_t fired;
static int which_timer;

static void on_timer(int sig)
{
    (void)sig;
    if (++fired == 3) {
        struct itimerval off = {{0, 0}, {0, 0}};
        setitimer(which_timer, &off, NULL);
    }
}

static void run(int which, int sig, const char *name)
{
    struct sigaction sa = {.sa_handler = on_timer};
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, NULL);
    fired = 0;
    which_timer = which;
    struct itimerval it = {.it_interval = {0, 20000}, .it_value = {0, 30000}}, cur;
    CHECK(setitimer(which, &it, NULL) == 0);
    CHECK(getitimer(which, &cur) == 0);
    CHECK(cur.it_interval.tv_sec == 0 && cur.it_interval.tv_usec == 20000);
    // (Linux adds a scheduler tick to the value it was given: allow 10 ms.)
    CHECK(cur.it_value.tv_sec == 0 && cur.it_value.tv_usec > 0 && cur.it_value.tv_usec <= 40000);
    volatile unsigned long x = 1;
    // Only CPU time brings the signals: spin (bounded, so a timer that never fires fails
    // the check instead of hanging; natively this takes well under a second of CPU).
    for (unsigned long i = 0; fired < 3 && i < 40000000000UL; i++)
        x = x * 6364136223846793005UL + 1;
    printf("%s: fired %d times\n", name, (int)fired);
    CHECK(fired == 3);
    CHECK(getitimer(which, &cur) == 0);
    CHECK(cur.it_value.tv_sec == 0 && cur.it_value.tv_usec == 0 && cur.it_interval.tv_usec == 20000);
}

int main(void)
{
    run(ITIMER_VIRTUAL, SIGVTALRM, "ITIMER_VIRTUAL");
    run(ITIMER_PROF, SIGPROF, "ITIMER_PROF");
    struct itimerval cur;
    errno = 0;
    CHECK(getitimer(7, &cur) == -1 && errno == EINVAL);
    printf("%s\n", failures ? "FAILED" : "all passed");
    return failures ? 1 : 0;
}
