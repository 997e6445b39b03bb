// Threads share one vCPU cooperatively, so a call that blocks must park only its own
// thread: while the main thread sleeps in select, pselect6, poll, epoll_wait,
// clock_nanosleep (relative and TIMER_ABSTIME, what Python's time.sleep uses), nanosleep
// a futex wait with a timeout or a recv bounded by SO_RCVTIMEO (EAGAIN), a worker thread
// must keep making progress.  Then a
// signal sent with pthread_kill to a thread blocked in a pipe read ends the read with
// EINTR (no SA_RESTART), and with SA_RESTART the read is restarted.
// LDLIBS: -lpthread
// TIMEOUT: 30
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static atomic_long progress;
static atomic_int stop;

static void *worker(void *arg)
{
    (void)arg;
    while (!stop) {
        syscall(SYS_getppid);
        progress++;
    }
    return NULL;
}

// Did the worker run while `what` slept about 200 ms?
static void check(const char *what, long r)
{
    static long before;
    long now = progress;
    printf("%-28s returned %ld, worker ran meanwhile: %s\n", what, r, now > before ? "yes" : "no");
    before = progress;
}

static long wait_started(void)
{
    long v = progress;
    while (progress == v)
        sched_yield();
    return progress;
}

static volatile sig_atomic_t usr1;
static void on_usr1(int sig)
{
    (void)sig;
    usr1++;
}

static int pipefd[2];
static atomic_int reader_ready;

static void *reader(void *arg)
{
    (void)arg;
    char c;
    reader_ready = 1;
    long r = read(pipefd[0], &c, 1);
    int e = errno;
    printf("blocked read: %s, handler ran %d\n", r < 0 ? strerrorname_np(e) : "returned data", (int)usr1);
    return NULL;
}

static void interrupt_reader(int flags)
{
    struct sigaction sa = {.sa_handler = on_usr1, .sa_flags = flags};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
    usr1 = 0;
    reader_ready = 0;
    pthread_t t;
    pthread_create(&t, NULL, reader, NULL);
    while (!reader_ready)
        sched_yield();
    struct timespec ts = {0, 100 * 1000 * 1000}; // let it block in read
    nanosleep(&ts, NULL);
    pthread_kill(t, SIGUSR1);
    nanosleep(&ts, NULL);
    if (flags & SA_RESTART) {
        printf("after the signal, with SA_RESTART: handler ran %d\n", (int)usr1);
        (void)!write(pipefd[1], "x", 1); // the restarted read gets it
    }
    pthread_join(t, NULL);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    pthread_t w;
    pthread_create(&w, NULL, worker, NULL);
    wait_started();
    check("start", 0);

    fd_set rd;
    int p[2];
    if (pipe(p) < 0 || pipe(pipefd) < 0)
        return 1;
    FD_ZERO(&rd);
    FD_SET(p[0], &rd);
    struct timeval tv = {0, 200 * 1000};
    check("select 200 ms", select(p[0] + 1, &rd, NULL, NULL, &tv));
    printf("select cleared its set: %s\n", FD_ISSET(p[0], &rd) ? "no" : "yes");
    FD_SET(p[0], &rd);
    struct timespec ts = {0, 200 * 1000 * 1000};
    check("pselect6 200 ms", pselect(p[0] + 1, &rd, NULL, NULL, &ts, NULL));
    check("select no fds 200 ms", select(0, NULL, NULL, NULL, &(struct timeval){0, 200 * 1000}));
    struct pollfd pf = {.fd = p[0], .events = POLLIN, .revents = 77};
    check("poll 200 ms", poll(&pf, 1, 200));
    printf("poll cleared revents: %s\n", pf.revents == 0 ? "yes" : "no");
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN};
    epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev);
    check("epoll_wait 200 ms", epoll_wait(ep, &ev, 1, 200));
    check("nanosleep 200 ms", nanosleep(&(struct timespec){0, 200 * 1000 * 1000}, NULL));
    check("clock_nanosleep 200 ms",
          clock_nanosleep(CLOCK_MONOTONIC, 0, &(struct timespec){0, 200 * 1000 * 1000}, NULL));
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_nsec += 200 * 1000 * 1000;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    check("clock_nanosleep absolute", clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL));
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 1;
    check("clock_nanosleep realtime abs", clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &until, NULL));
    int word = 0;
    long fr = syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 0, &(struct timespec){0, 200 * 1000 * 1000}, NULL, 0);
    check("futex wait 200 ms", fr < 0 ? -errno : fr);
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    struct timeval rcv = {0, 200 * 1000};
    setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &rcv, sizeof(rcv));
    char c;
    long rr = recv(sv[0], &c, 1, 0);
    check("recv, SO_RCVTIMEO 200 ms", rr < 0 ? -errno : rr);
    stop = 1;
    pthread_join(w, NULL);

    interrupt_reader(0);
    interrupt_reader(SA_RESTART);
    return 0;
}
