// A signal interrupts a blocking call as signal(7) says: SIGALRM from setitimer ends
// nanosleep (with the time left in rem), clock_nanosleep TIMER_ABSTIME, poll, select,
// pselect6, epoll_wait, a pipe read, a recv and pause with EINTR; with SA_RESTART a read
// is restarted (the handler writes the byte it then gets) while poll and nanosleep
// still give EINTR.  ppoll and pselect6 wait with their own signal mask: one that
// unblocks a pending SIGUSR1 ends the wait at once, one that blocks SIGALRM lets the
// timeout pass (and the signal comes after).  The process has one thread: the host
// itself must wake for the timer.
// TIMEOUT: 30
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t alarms;
static int pipefd[2];
static int feed = -1; // the handler writes one byte here when >= 0

static void on_alarm(int sig)
{
    (void)sig;
    alarms++;
    if (feed >= 0)
        (void)!write(feed, "x", 1);
}

static void handler(int flags)
{
    struct sigaction sa = {.sa_handler = on_alarm, .sa_flags = flags};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, NULL);
}

static void arm(void)
{
    struct itimerval it = {{0, 0}, {0, 30 * 1000}}; // once, in 30 ms
    setitimer(ITIMER_REAL, &it, NULL);
}

static void report(const char *what, long r)
{
    int e = errno;
    if (r < 0)
        printf("%s: %s, handler ran %d\n", what, strerrorname_np(e), (int)alarms);
    else
        printf("%s: returned %ld, handler ran %d\n", what, r, (int)alarms);
    alarms = 0;
}

int main(void)
{
    if (pipe(pipefd) < 0)
        return 1;
    setvbuf(stdout, NULL, _IONBF, 0);
    handler(0);

    struct timespec req = {5, 0}, rem = {0, 0};
    arm();
    report("nanosleep 5 s", nanosleep(&req, &rem));
    printf("nanosleep left: %s\n", rem.tv_sec >= 3 && rem.tv_sec <= 4 ? "between 3 and 5 s" : "wrong");

    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += 5;
    arm();
    int r = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL);
    errno = r;
    report("clock_nanosleep absolute", r ? -1 : 0);

    struct pollfd pf = {.fd = pipefd[0], .events = POLLIN};
    arm();
    report("poll forever", poll(&pf, 1, -1));
    arm();
    report("poll 5 s", poll(&pf, 1, 5000));

    fd_set rd;
    FD_ZERO(&rd);
    FD_SET(pipefd[0], &rd);
    arm();
    report("select forever", select(pipefd[0] + 1, &rd, NULL, NULL, NULL));
    struct timeval tv = {5, 0};
    FD_ZERO(&rd);
    FD_SET(pipefd[0], &rd);
    arm();
    report("select 5 s", select(pipefd[0] + 1, &rd, NULL, NULL, &tv));
    printf("select left: %s\n", tv.tv_sec >= 3 && tv.tv_sec <= 4 ? "between 3 and 5 s" : "wrong");
    struct timespec pts = {5, 0};
    FD_ZERO(&rd);
    FD_SET(pipefd[0], &rd);
    arm();
    report("pselect6 5 s", pselect(pipefd[0] + 1, &rd, NULL, NULL, &pts, NULL));

    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN};
    epoll_ctl(ep, EPOLL_CTL_ADD, pipefd[0], &ev);
    arm();
    report("epoll_wait forever", epoll_wait(ep, &ev, 1, -1));

    char c;
    arm();
    report("pipe read", read(pipefd[0], &c, 1));

    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    arm();
    report("recv", recv(sv[0], &c, 1, 0));

    arm();
    report("pause", pause());

    // The calls' own masks.
    struct sigaction su = {.sa_handler = on_alarm};
    sigemptyset(&su.sa_mask);
    sigaction(SIGUSR1, &su, NULL);
    sigset_t usr1, none, cur;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    sigemptyset(&none);
    sigprocmask(SIG_BLOCK, &usr1, NULL);
    raise(SIGUSR1);
    struct timespec five = {5, 0};
    report("ppoll unblocking a pending USR1", ppoll(&pf, 1, &five, &none));
    sigprocmask(SIG_BLOCK, NULL, &cur);
    printf("USR1 blocked again after: %s\n", sigismember(&cur, SIGUSR1) ? "yes" : "no");
    sigprocmask(SIG_UNBLOCK, &usr1, NULL);
    sigset_t alrm;
    sigemptyset(&alrm);
    sigaddset(&alrm, SIGALRM);
    struct timespec short_ts = {0, 100 * 1000 * 1000};
    FD_ZERO(&rd);
    FD_SET(pipefd[0], &rd);
    arm();
    report("pselect6 100 ms masking SIGALRM", pselect(pipefd[0] + 1, &rd, NULL, NULL, &short_ts, &alrm));

    // SA_RESTART: the read is restarted and gets the handler's byte; poll is not.
    handler(SA_RESTART);
    feed = pipefd[1];
    arm();
    report("pipe read, SA_RESTART", read(pipefd[0], &c, 1));
    feed = -1;
    arm();
    report("poll forever, SA_RESTART", poll(&pf, 1, -1));
    arm();
    report("nanosleep, SA_RESTART", nanosleep(&req, NULL));
    return 0;
}
