// kill(getpid()) is process-directed: with SIGUSR1 blocked in every thread, the thread
// waiting for it in sigwait takes it, not the sender (CPython's test_sigwait_thread; the
// signal once stayed pending on the sending thread and the process waited for good).
// LDLIBS: -lpthread
// TIMEOUT: 30
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#define CHECK CHECK_ERRNO

static void *kill_later(void *arg)
{
    (void)arg;
    struct timespec ts = {0, 50 * 1000 * 1000};
    nanosleep(&ts, NULL);
    kill(getpid(), SIGUSR1);
    return NULL;
}

int main(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    CHECK(pthread_sigmask(SIG_BLOCK, &set, NULL) == 0);
    pthread_t th;
    CHECK(pthread_create(&th, NULL, kill_later, NULL) == 0);
    int sig = 0;
    CHECK(sigwait(&set, &sig) == 0);
    CHECK(sig == SIGUSR1);
    CHECK(pthread_join(th, NULL) == 0);
    sigset_t pending;
    sigpending(&pending);
    CHECK(!sigismember(&pending, SIGUSR1));
    printf("%s\n", failures ? "FAILED" : "all passed");
    return failures ? 1 : 0;
}
