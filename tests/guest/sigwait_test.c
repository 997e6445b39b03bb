// rt_sigtimedwait (sigtimedwait, sigwaitinfo, sigwait): a timeout gives EAGAIN; a
// blocked pending signal is taken with its siginfo; a blocked SIGALRM from setitimer
// ends the wait of the one thread; a thread waiting for SIGUSR2 gets the one another
// thread sends it with pthread_kill; a handled signal outside the set interrupts the
// wait with EINTR.
// LDLIBS: -lpthread
// TIMEOUT: 30
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t alarms;
static void on_alarm(int sig)
{
    (void)sig;
    alarms++;
}

static void report(const char *what, int r, const siginfo_t *si)
{
    int e = errno;
    if (r < 0)
        printf("%s: %s\n", what, strerrorname_np(e));
    else
        printf("%s: %s, si_code %d\n", what, sigabbrev_np(r), si ? si->si_code : 0);
}

static void *waiter(void *arg)
{
    (void)arg;
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR2);
    siginfo_t si;
    int r = sigwaitinfo(&s, &si);
    report("thread waits for USR2", r, &si);
    return NULL;
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    sigset_t s, old;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR1);
    sigaddset(&s, SIGALRM);
    sigaddset(&s, SIGUSR2);
    pthread_sigmask(SIG_BLOCK, &s, &old);

    sigset_t one;
    sigemptyset(&one);
    sigaddset(&one, SIGUSR1);
    siginfo_t si;
    struct timespec ts = {0, 100 * 1000 * 1000};
    report("nothing pending, 100 ms", sigtimedwait(&one, &si, &ts), NULL);
    raise(SIGUSR1);
    report("USR1 pending", sigtimedwait(&one, &si, &ts), &si);

    sigset_t alrm;
    sigemptyset(&alrm);
    sigaddset(&alrm, SIGALRM);
    struct itimerval it = {{0, 0}, {0, 30 * 1000}};
    setitimer(ITIMER_REAL, &it, NULL);
    report("blocked SIGALRM from setitimer", sigwaitinfo(&alrm, &si), &si);

    pthread_t t;
    pthread_create(&t, NULL, waiter, NULL);
    struct timespec pause = {0, 100 * 1000 * 1000};
    nanosleep(&pause, NULL);
    pthread_kill(t, SIGUSR2);
    pthread_join(t, NULL);

    // A handled SIGALRM (unblocked now) interrupts a wait for USR1.
    struct sigaction sa = {.sa_handler = on_alarm};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, NULL);
    sigset_t un;
    sigemptyset(&un);
    sigaddset(&un, SIGALRM);
    pthread_sigmask(SIG_UNBLOCK, &un, NULL);
    setitimer(ITIMER_REAL, &it, NULL);
    report("handled SIGALRM during a wait for USR1", sigwaitinfo(&one, &si), NULL);
    printf("handler ran %d\n", (int)alarms);
    return 0;
}
