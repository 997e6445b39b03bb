/* tests/programs/signals_prog.c: signals in a dynamic program, with
 * deterministic output (compared with a native run by tests/vm/runtime-tests).
 * Cases (each runs alone: `signals_prog altstack`; without arguments all run,
 * in order):
 *   handler     a handler for raise() and kill(getpid())
 *   siginfo     SA_SIGINFO: sigqueue's value and si_code SI_QUEUE
 *   altstack    a SA_ONSTACK handler runs on the sigaltstack
 *   segv        SIGSEGV (null and unmapped pointers) recovered with siglongjmp
 *   fpe         SIGFPE (integer division by zero) recovered with siglongjmp
 *   pending     a blocked signal stays pending until unblocked
 *   resethand   SA_RESETHAND: the handler runs once, then SIG_DFL
 *   timer       setitimer(ITIMER_REAL) wakes sigsuspend
 *   thread      pthread_kill to the one thread with the signal unblocked
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "cases.h"

static volatile sig_atomic_t usr1_count, usr2_on_altstack, alarm_count, info_value, info_code, thread_sig;
static char *altstack;
static size_t altstack_size;
static sigjmp_buf jb;
static volatile sig_atomic_t last_fault;

static void on_usr1(int sig) { (void)sig; usr1_count++; }

static void handle(int sig, void (*fn)(int), int flags)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = fn;
    sa.sa_flags = flags;
    sigaction(sig, &sa, NULL);
}

static int case_handler(void)
{
    usr1_count = 0;
    handle(SIGUSR1, on_usr1, 0);
    raise(SIGUSR1);
    kill(getpid(), SIGUSR1);
    printf("handler: SIGUSR1 handled %d times\n", (int)usr1_count);
    return 0;
}

static void on_info(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    if (sig == SIGRTMIN) {
        info_value = si->si_value.sival_int;
        info_code = si->si_code;
    }
}

static int case_siginfo(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_info;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGRTMIN, &sa, NULL);
    union sigval v = {.sival_int = 4242};
    int r = sigqueue(getpid(), SIGRTMIN, v);
    printf("siginfo: sigqueue returned %d, value %d, si_code is SI_QUEUE: %s\n", r, (int)info_value,
           info_code == SI_QUEUE ? "yes" : "no");
    return 0;
}

static void on_usr2(int sig)
{
    (void)sig;
    char local;
    usr2_on_altstack = &local >= altstack && &local < altstack + altstack_size;
}

static void setup_altstack(void)
{
    if (altstack)
        return;
    altstack_size = 64 * 1024;
    altstack = malloc(altstack_size);
    stack_t ss = {.ss_sp = altstack, .ss_size = altstack_size, .ss_flags = 0};
    if (sigaltstack(&ss, NULL) < 0)
        perror("sigaltstack");
}

static int case_altstack(void)
{
    setup_altstack();
    handle(SIGUSR2, on_usr2, SA_ONSTACK);
    raise(SIGUSR2);
    stack_t cur;
    sigaltstack(NULL, &cur);
    printf("altstack: handler on the alternate stack: %s; size %zu, %s afterwards\n",
           usr2_on_altstack ? "yes" : "no", cur.ss_size, cur.ss_flags & SS_ONSTACK ? "in use" : "not in use");
    return 0;
}

static void on_fault(int sig)
{
    last_fault = sig;
    siglongjmp(jb, sig);
}

static int case_segv(void)
{
    setup_altstack();
    handle(SIGSEGV, on_fault, SA_ONSTACK | SA_NODEFER);
    volatile int recovered = 0;
    for (volatile int i = 0; i < 5; i++) {
        if (sigsetjmp(jb, 1) == 0) {
            volatile int *volatile p = (int *)(uintptr_t)(16 + i * 4096);
            *p = 1;
            printf("segv: no fault?\n");
        } else {
            recovered++;
        }
    }
    printf("segv: SIGSEGV recovered %d times (last signal %d)\n", recovered, (int)last_fault);
    return 0;
}

static int case_fpe(void)
{
    handle(SIGFPE, on_fault, 0);
    volatile int recovered = 0;
    for (volatile int i = 0; i < 3; i++) {
        if (sigsetjmp(jb, 1) == 0) {
            volatile int zero = 0;
            volatile int x = 10 / zero;
            (void)x;
            printf("fpe: no fault?\n");
        } else {
            recovered++;
        }
    }
    printf("fpe: SIGFPE recovered %d times (last signal %d)\n", recovered, (int)last_fault);
    return 0;
}

static int case_pending(void)
{
    handle(SIGUSR1, on_usr1, 0);
    sigset_t block, pending, old;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigprocmask(SIG_BLOCK, &block, &old);
    usr1_count = 0;
    raise(SIGUSR1);
    sigpending(&pending);
    printf("pending: blocked SIGUSR1 pending %d, handled %d\n", sigismember(&pending, SIGUSR1), (int)usr1_count);
    sigprocmask(SIG_SETMASK, &old, NULL);
    printf("pending: after unblocking handled %d\n", (int)usr1_count);
    return 0;
}

static int case_resethand(void)
{
    usr1_count = 0;
    handle(SIGUSR1, on_usr1, SA_RESETHAND);
    raise(SIGUSR1);
    struct sigaction now;
    sigaction(SIGUSR1, NULL, &now);
    printf("resethand: handled %d, handler is now SIG_DFL: %s\n", (int)usr1_count,
           now.sa_handler == SIG_DFL ? "yes" : "no");
    return 0;
}

static void on_alarm(int sig) { (void)sig; alarm_count++; }

static int case_timer(void)
{
    handle(SIGALRM, on_alarm, 0);
    sigset_t ablock, waitmask, old;
    sigemptyset(&ablock);
    sigaddset(&ablock, SIGALRM);
    sigprocmask(SIG_BLOCK, &ablock, &old);
    struct itimerval it = {.it_interval = {0, 20000}, .it_value = {0, 20000}};
    if (setitimer(ITIMER_REAL, &it, NULL) < 0) {
        printf("timer: setitimer failed: %s\n", strerror(errno));
        sigprocmask(SIG_SETMASK, &old, NULL);
        return 0;
    }
    sigemptyset(&waitmask);
    while (alarm_count < 3) {
        if (sigsuspend(&waitmask) < 0 && errno != EINTR) {
            printf("timer: sigsuspend failed: %s\n", strerror(errno));
            break;
        }
    }
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, NULL);
    sigprocmask(SIG_SETMASK, &old, NULL);
    printf("timer: setitimer woke sigsuspend %d times\n", alarm_count >= 3 ? 3 : (int)alarm_count);
    return 0;
}

static void on_thread_sig(int sig) { (void)sig; thread_sig = 1; }

static void *sig_target(void *arg)
{
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR1);
    pthread_sigmask(SIG_UNBLOCK, &s, NULL);
    pthread_barrier_wait(arg);
    for (int i = 0; i < 10000 && !thread_sig; i++)
        usleep(1000);
    return (void *)1;
}

static int case_thread(void)
{
    handle(SIGUSR1, on_thread_sig, 0);
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigprocmask(SIG_BLOCK, &block, &old);
    pthread_barrier_t b;
    pthread_barrier_init(&b, NULL, 2);
    pthread_t t;
    pthread_create(&t, NULL, sig_target, &b);
    pthread_barrier_wait(&b);
    pthread_kill(t, SIGUSR1);
    void *rv;
    pthread_join(t, &rv);
    sigprocmask(SIG_SETMASK, &old, NULL);
    printf("thread: pthread_kill delivered %d, thread returned %ld\n", (int)thread_sig, (long)(intptr_t)rv);
    return 0;
}

static const struct test_case cases[] = {
    {"handler", case_handler}, {"siginfo", case_siginfo}, {"altstack", case_altstack},
    {"segv", case_segv},       {"fpe", case_fpe},         {"pending", case_pending},
    {"resethand", case_resethand}, {"timer", case_timer}, {"thread", case_thread},
};

int main(int argc, char **argv)
{
    return run_cases(cases, (int)(sizeof cases / sizeof cases[0]), argc, argv);
}
