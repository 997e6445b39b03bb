// Writing to a pipe or socket nobody reads raises SIGPIPE: by default it ends the
// process (status 141, like a native run), ignored or blocked the call fails with
// EPIPE, a handler runs and the call fails with EPIPE, and send(MSG_NOSIGNAL) raises
// nothing.
// CASE[default]: default -> 141
// CASE[socket]: socket -> 141
// CASE[ignored]: ignored
// CASE[blocked]: blocked
// CASE[handler]: handler
// CASE[nosignal]: nosignal
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static volatile sig_atomic_t caught;
static void on_pipe(int sig)
{
    (void)sig;
    caught++;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "default";
    setvbuf(stdout, NULL, _IONBF, 0);
    int fd[2];
    bool sock = !strcmp(mode, "socket") || !strcmp(mode, "nosignal");
    if (sock ? socketpair(AF_UNIX, SOCK_STREAM, 0, fd) : pipe(fd))
        return 1;
    close(fd[0]);
    if (!strcmp(mode, "ignored"))
        signal(SIGPIPE, SIG_IGN);
    if (!strcmp(mode, "handler"))
        signal(SIGPIPE, on_pipe);
    if (!strcmp(mode, "blocked")) {
        sigset_t s;
        sigemptyset(&s);
        sigaddset(&s, SIGPIPE);
        sigprocmask(SIG_BLOCK, &s, NULL);
    }
    printf("%s: writing\n", mode);
    long r = !strcmp(mode, "nosignal") ? send(fd[1], "x", 1, MSG_NOSIGNAL) : write(fd[1], "x", 1);
    int e = errno;
    printf("write: %s, handler ran %d\n", r < 0 ? strerrorname_np(e) : "ok", (int)caught);
    if (!strcmp(mode, "blocked")) {
        sigset_t pend;
        sigpending(&pend);
        printf("SIGPIPE pending: %s\n", sigismember(&pend, SIGPIPE) ? "yes" : "no");
    }
    return 0;
}
