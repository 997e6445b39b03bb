// Signals sent to kvmserver from outside reach the guest (tests/vm/cli-tests sends
// them; here, with stdin /dev/null, the reads just see end of file): SIGUSR1 (a
// handler without SA_RESTART) ends a blocking read of stdin with EINTR, SIGHUP (a
// handler with SA_RESTART) restarts it, and SIGTERM (default action) ends the program
// with status 143.  With the argument `threads` a second thread waits in a pipe read
// meanwhile, so that the main thread's read is parked rather than the host's own.
// LDLIBS: -lpthread
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t usr1, hup;
static void on_usr1(int sig)
{
    (void)sig;
    usr1++;
}
static void on_hup(int sig)
{
    (void)sig;
    hup++;
}

static int never[2];
static void *blocked(void *arg)
{
    (void)arg;
    char c;
    (void)!read(never[0], &c, 1);
    return NULL;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    struct sigaction sa = {.sa_handler = on_usr1};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
    sa.sa_handler = on_hup;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGHUP, &sa, NULL);
    if (argc > 1 && !strcmp(argv[1], "threads")) {
        sigset_t all;
        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, NULL); // the signals are the main thread's
        pthread_t t;
        if (pipe(never) || pthread_create(&t, NULL, blocked, NULL))
            return 1;
        pthread_sigmask(SIG_UNBLOCK, &all, NULL);
    }
    printf("ready\n");
    for (;;) {
        char c;
        long r = read(0, &c, 1);
        int e = errno;
        printf("read: %s, usr1 %d, hup %d\n", r < 0 ? strerrorname_np(e) : r ? "1 byte" : "end of file", (int)usr1,
               (int)hup);
        if (r == 0)
            return 0;
    }
}
