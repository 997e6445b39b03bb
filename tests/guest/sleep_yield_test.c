// A sleep that is already over (nanosleep of 0, or an absolute deadline just passed, as
// CPython's time.sleep(1e-5) is by the time it is decoded) lets another runnable thread
// run, as a kernel's scheduler does: a loop of short sleeps once kept the only vCPU until
// the 10 ms preemption tick (test_queue's many_threads_nonblock took minutes).  The other
// thread yields in a loop; the sleeper counts how often it ran between two sleeps.
// LDLIBS: -lpthread
// TIMEOUT: 60
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

#include "check.h"
#define CHECK CHECK_PLAIN

static atomic_long counter;
static atomic_int stop;

static void *yielder(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop)) {
        atomic_fetch_add(&counter, 1);
        sched_yield();
    }
    return NULL;
}

int main(void)
{
    pthread_t th;
    CHECK(pthread_create(&th, NULL, yielder, NULL) == 0);
    while (atomic_load(&counter) == 0)
        sched_yield();
    int ran = 0;
    struct timespec zero = {0, 0};
    for (int i = 0; i < 2000; i++) {
        long c0 = atomic_load(&counter);
        nanosleep(&zero, NULL);
        ran += atomic_load(&counter) != c0;
    }
    atomic_store(&stop, 1);
    CHECK(pthread_join(th, NULL) == 0);
    printf("the other thread ran between sleeps: %s\n", ran >= 200 ? "often" : "rarely");
    CHECK(ran >= 200);
    printf("%s\n", failures ? "FAILED" : "all passed");
    return failures ? 1 : 0;
}
