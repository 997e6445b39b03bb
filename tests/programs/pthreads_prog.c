/* tests/programs/pthreads_prog.c: pthreads in a dynamic program, with
 * deterministic output (compared with a native run by tests/vm/runtime-tests):
 * a mutex-protected counter, a condition-variable queue (producer/consumers),
 * join return values, thread-local storage, pthread_once, a barrier, a timed
 * condvar wait that times out, a detached thread signalling completion, and
 * trylock.  Each part is a case that runs alone (`pthreads_prog condvar`);
 * without arguments all run, in order. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cases.h"

#define NTHREADS 8
#define NINC 100000

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static long counter;

static void *incr(void *arg)
{
    for (int i = 0; i < NINC; i++) {
        pthread_mutex_lock(&mu);
        counter++;
        pthread_mutex_unlock(&mu);
    }
    return (void *)((intptr_t)arg * (intptr_t)arg);
}

/* bounded queue */
#define QCAP 4
#define NITEMS 20000
#define NCONS 3
static pthread_mutex_t qmu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t not_empty = PTHREAD_COND_INITIALIZER, not_full = PTHREAD_COND_INITIALIZER;
static long q[QCAP];
static int qhead, qlen, done;

static void *producer(void *arg)
{
    (void)arg;
    for (long i = 1; i <= NITEMS; i++) {
        pthread_mutex_lock(&qmu);
        while (qlen == QCAP)
            pthread_cond_wait(&not_full, &qmu);
        q[(qhead + qlen++) % QCAP] = i;
        pthread_cond_signal(&not_empty);
        pthread_mutex_unlock(&qmu);
    }
    pthread_mutex_lock(&qmu);
    done = 1;
    pthread_cond_broadcast(&not_empty);
    pthread_mutex_unlock(&qmu);
    return NULL;
}

struct cons_result {
    long sum, count;
};

static void *consumer(void *arg)
{
    struct cons_result *r = arg;
    for (;;) {
        pthread_mutex_lock(&qmu);
        while (qlen == 0 && !done)
            pthread_cond_wait(&not_empty, &qmu);
        if (qlen == 0 && done) {
            pthread_mutex_unlock(&qmu);
            return r;
        }
        long v = q[qhead];
        qhead = (qhead + 1) % QCAP;
        qlen--;
        pthread_cond_signal(&not_full);
        pthread_mutex_unlock(&qmu);
        r->sum += v;
        r->count++;
    }
}

static __thread int tls_value = 7;

static void *tls_thread(void *arg)
{
    tls_value += (int)(intptr_t)arg;
    return (void *)(intptr_t)tls_value;
}

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int once_calls;
static void once_fn(void) { once_calls++; }

static pthread_barrier_t barrier;
static int serial_count;
static pthread_mutex_t smu = PTHREAD_MUTEX_INITIALIZER;

static void *barrier_thread(void *arg)
{
    (void)arg;
    pthread_once(&once, once_fn);
    for (int round = 0; round < 10; round++) {
        int r = pthread_barrier_wait(&barrier);
        if (r == PTHREAD_BARRIER_SERIAL_THREAD) {
            pthread_mutex_lock(&smu);
            serial_count++;
            pthread_mutex_unlock(&smu);
        } else if (r != 0) {
            return (void *)1;
        }
    }
    return NULL;
}

static pthread_mutex_t dmu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t dcond = PTHREAD_COND_INITIALIZER;
static int detached_done;

static void *detached(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&dmu);
    detached_done = 1;
    pthread_cond_signal(&dcond);
    pthread_mutex_unlock(&dmu);
    return NULL;
}

static int case_mutex(void)
{
    pthread_t t[NTHREADS];
    long joined = 0;
    for (intptr_t i = 0; i < NTHREADS; i++)
        if (pthread_create(&t[i], NULL, incr, (void *)i))
            return 10;
    for (int i = 0; i < NTHREADS; i++) {
        void *rv;
        pthread_join(t[i], &rv);
        joined += (long)(intptr_t)rv;
    }
    printf("mutex counter: %ld (expected %d)\n", counter, NTHREADS * NINC);
    printf("join values: %ld\n", joined);
    return 0;
}

static int case_condvar(void)
{
    pthread_t prod, cons[NCONS];
    struct cons_result res[NCONS] = {0};
    pthread_create(&prod, NULL, producer, NULL);
    for (int i = 0; i < NCONS; i++)
        pthread_create(&cons[i], NULL, consumer, &res[i]);
    pthread_join(prod, NULL);
    long sum = 0, count = 0;
    for (int i = 0; i < NCONS; i++) {
        void *rv;
        pthread_join(cons[i], &rv);
        if (rv != &res[i])
            return 11;
        sum += res[i].sum;
        count += res[i].count;
    }
    printf("condvar queue: %ld items, sum %ld\n", count, sum);
    return 0;
}

static int case_tls(void)
{
    pthread_t tt[4];
    long tls_sum = 0;
    for (intptr_t i = 0; i < 4; i++)
        pthread_create(&tt[i], NULL, tls_thread, (void *)(i + 1));
    for (int i = 0; i < 4; i++) {
        void *rv;
        pthread_join(tt[i], &rv);
        tls_sum += (long)(intptr_t)rv;
    }
    printf("tls: main %d, threads %ld\n", tls_value, tls_sum);
    return 0;
}

static int case_barrier(void)
{
    pthread_barrier_init(&barrier, NULL, 4);
    pthread_t bt[4];
    int bad = 0;
    for (int i = 0; i < 4; i++)
        pthread_create(&bt[i], NULL, barrier_thread, NULL);
    for (int i = 0; i < 4; i++) {
        void *rv;
        pthread_join(bt[i], &rv);
        bad += rv != NULL;
    }
    pthread_barrier_destroy(&barrier);
    printf("barrier: %d serial, %d errors; once: %d call\n", serial_count, bad, once_calls);
    return 0;
}

static int case_timedwait(void)
{
    pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t c = PTHREAD_COND_INITIALIZER;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 50 * 1000000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&m);
    int r = pthread_cond_timedwait(&c, &m, &ts);
    pthread_mutex_unlock(&m);
    printf("timedwait: %s\n", r == ETIMEDOUT ? "ETIMEDOUT" : "unexpected");
    return 0;
}

static int case_detached(void)
{
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_t dt;
    pthread_create(&dt, &attr, detached, NULL);
    pthread_mutex_lock(&dmu);
    while (!detached_done)
        pthread_cond_wait(&dcond, &dmu);
    pthread_mutex_unlock(&dmu);
    printf("detached thread: done\n");
    return 0;
}

static int case_trylock(void)
{
    pthread_mutex_t tm = PTHREAD_MUTEX_INITIALIZER;
    pthread_mutex_lock(&tm);
    printf("trylock on a locked mutex: %s\n", pthread_mutex_trylock(&tm) == EBUSY ? "EBUSY" : "unexpected");
    pthread_mutex_unlock(&tm);
    return 0;
}

static const struct test_case cases[] = {
    {"mutex", case_mutex},
    {"condvar", case_condvar},
    {"tls", case_tls},
    {"barrier", case_barrier},
    {"timedwait", case_timedwait},
    {"detached", case_detached},
    {"trylock", case_trylock},
};

/* pthreads_prog [CASE...]: the named cases (default: all), in order */
int main(int argc, char **argv)
{
    return run_cases(cases, (int)(sizeof cases / sizeof cases[0]), argc, argv);
}
