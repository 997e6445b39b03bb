// A signal from another guest process reaches a child that spins in user code and makes
// no syscalls: SIGUSR1 runs its handler, SIGKILL ends it (CPython's test_call_timeout:
// subprocess killed a `while True: pass` child on timeout and waited for good).
// TIMEOUT: 60
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#define CHECK CHECK_FRESH_ERRNO

static volatile sig_atomic_t got;

static void on_usr1(int sig)
{
    (void)sig;
    got = 1;
}

// The child: ready to be signalled (a byte on the pipe), then spins; with a handler, it
// exits 7 once it ran.
static pid_t spinner(bool handler)
{
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        if (handler) {
            struct sigaction sa = {.sa_handler = on_usr1};
            sigemptyset(&sa.sa_mask);
            sigaction(SIGUSR1, &sa, NULL);
        }
        (void)!write(fds[1], "r", 1);
        volatile unsigned long x = 0;
        while (!got)
            x++;
        _exit(7);
    }
    char c;
    if (pid < 0 || read(fds[0], &c, 1) != 1)
        return -1;
    close(fds[0]);
    close(fds[1]);
    return pid;
}

int main(void)
{
    int st = 0;
    pid_t a = spinner(true);
    CHECK(a > 0 && kill(a, SIGUSR1) == 0);
    CHECK(waitpid(a, &st, 0) == a && WIFEXITED(st) && WEXITSTATUS(st) == 7);
    pid_t b = spinner(false);
    CHECK(b > 0 && kill(b, SIGKILL) == 0);
    CHECK(waitpid(b, &st, 0) == b && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    printf("%s\n", failures ? "FAILED" : "all passed");
    return failures ? 1 : 0;
}
