// Guest processes: posix_spawn, vfork+exec, fork (own memory), exit statuses and fatal
// signals through waitpid/waitid, pipes between parent and child, SIGCHLD to a handler,
// getppid, #! scripts (also through /usr/bin/env), and execve refused without
// --allow-run.  argv[1] picks the part.
// VARIANTS: static static-pie
// CASE[spawn]: spawn
// CASE[vfork]: vfork
// CASE[fork]: fork
// CASE[signals]: signals
// CASE[groups]: groups
// CASE[script]: script @TMP@
// CASE[denied]: denied -> 0
// NATIVE[denied]: skip
// DEFAULT_OPTS[denied]: no
// KVMSERVER_OPTS[denied]: --allow-read
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#define CHECK CHECK_ERRNO

extern char **environ;

// Runs argv with stdout into a pipe; returns what it printed (first line) and its status.
static int run_capture(char *const argv[], char *out, size_t size, int *status)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0)
        return -1;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    pid_t pid;
    int r = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    if (r) {
        close(fds[0]);
        errno = r;
        return -1;
    }
    size_t n = 0;
    ssize_t k;
    while (n + 1 < size && (k = read(fds[0], out + n, size - 1 - n)) > 0)
        n += (size_t)k;
    out[n] = 0;
    close(fds[0]);
    return waitpid(pid, status, 0) == pid ? 0 : -1;
}

static int part_spawn(void)
{
    char out[256];
    int st = -1;
    char *echo[] = {"/bin/echo", "hello", "from", "a child", NULL};
    CHECK(run_capture(echo, out, sizeof(out), &st) == 0);
    CHECK(strcmp(out, "hello from a child\n") == 0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    char *sh[] = {"/bin/sh", "-c", "exit 7", NULL};
    pid_t pid;
    CHECK(posix_spawn(&pid, "/bin/sh", NULL, NULL, sh, environ) == 0);
    CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 7);
    // A shell pipeline: the shell forks both sides and waits for them.
    char *pipeline[] = {"/bin/sh", "-c", "printf 'a\\nb\\nc\\n' | wc -l", NULL};
    CHECK(run_capture(pipeline, out, sizeof(out), &st) == 0);
    CHECK(atoi(out) == 3 && WEXITSTATUS(st) == 0);
    char *missing[] = {"/nonexistent/program", NULL};
    CHECK(posix_spawn(&pid, missing[0], NULL, NULL, missing, environ) == ENOENT);
    errno = 0;
    CHECK(waitpid(-1, &st, WNOHANG) == -1 && errno == ECHILD);
    return 0;
}

static int part_vfork(void)
{
    volatile int shared = 1;
    int st = -1;
    pid_t pid = vfork();
    if (pid == 0) {
        shared = 2; // vfork: the child runs in the parent's memory
        _exit(5);
    }
    CHECK(pid > 0);
    CHECK(shared == 2);
    CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 5);

    int fds[2];
    CHECK(pipe(fds) == 0);
    pid = vfork();
    if (pid == 0) {
        dup2(fds[1], 1);
        char *argv[] = {"/bin/echo", "exec'd", NULL};
        execve(argv[0], argv, environ);
        _exit(127);
    }
    close(fds[1]);
    char out[64] = {0};
    CHECK(read(fds[0], out, sizeof(out) - 1) > 0 && strcmp(out, "exec'd\n") == 0);
    close(fds[0]);
    CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);

    // A failed exec returns to the vfork child, which reports it.
    pid = vfork();
    if (pid == 0) {
        char *argv[] = {"/nonexistent", NULL};
        execve(argv[0], argv, environ);
        _exit(errno == ENOENT ? 42 : 1);
    }
    CHECK(waitpid(pid, &st, 0) == pid && WEXITSTATUS(st) == 42);
    return 0;
}

static int global = 10;

static int part_fork(void)
{
    int down[2], up[2], st = -1;
    CHECK(pipe(down) == 0 && pipe(up) == 0);
    char *heap = strdup("parent's");
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        global = 20; // its own copy
        strcpy(heap, "child's");
        close(down[1]);
        close(up[0]);
        char buf[32] = {0};
        if (read(down[0], buf, sizeof(buf) - 1) <= 0)
            _exit(90);
        char reply[96];
        int n = snprintf(reply, sizeof(reply), "got %s, ppid %s, global %d, heap %s", buf,
                         getppid() == parent ? "right" : "wrong", global, heap);
        write(up[1], reply, (size_t)n);
        _exit(3);
    }
    CHECK(pid > 0 && pid != parent);
    close(down[0]);
    close(up[1]);
    CHECK(write(down[1], "ping", 4) == 4);
    close(down[1]);
    char buf[128] = {0};
    size_t n = 0;
    ssize_t k;
    while ((k = read(up[0], buf + n, sizeof(buf) - 1 - n)) > 0)
        n += (size_t)k;
    printf("child said: %s\n", buf);
    CHECK(global == 10 && strcmp(heap, "parent's") == 0);
    CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 3);

    // A child killed by a signal, reaped with waitid.
    pid = fork();
    if (pid == 0) {
        signal(SIGSEGV, SIG_DFL);
        *(volatile int *)0 = 1;
        _exit(0);
    }
    siginfo_t si;
    memset(&si, 0, sizeof(si));
    CHECK(waitid(P_PID, (id_t)pid, &si, WEXITED) == 0);
    CHECK(si.si_pid == pid && si.si_code == CLD_KILLED && si.si_status == SIGSEGV);

    // Several children, reaped in any order with waitpid(-1).
    int sum = 0;
    for (int i = 1; i <= 3; i++)
        if (fork() == 0)
            _exit(i);
    for (int i = 0; i < 3; i++) {
        CHECK(waitpid(-1, &st, 0) > 0);
        sum += WEXITSTATUS(st);
    }
    CHECK(sum == 6);
    errno = 0;
    CHECK(wait(&st) == -1 && errno == ECHILD);
    free(heap);
    return 0;
}

static volatile sig_atomic_t got_chld;
static void on_chld(int sig)
{
    got_chld++;
}

static int part_signals(void)
{
    struct sigaction sa = {.sa_handler = on_chld};
    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(SIGCHLD, &sa, NULL) == 0);
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGCHLD);
    sigprocmask(SIG_BLOCK, &block, &old);
    pid_t pid = fork();
    if (pid == 0)
        _exit(0);
    while (!got_chld)
        sigsuspend(&old); // SIGCHLD arrives when the child ends
    sigprocmask(SIG_SETMASK, &old, NULL);
    CHECK(got_chld == 1);
    int st;
    CHECK(waitpid(pid, &st, 0) == pid);

    // kill() between processes: the child waits for SIGTERM.
    int fds[2];
    CHECK(pipe(fds) == 0);
    pid = fork();
    if (pid == 0) {
        close(fds[0]);
        write(fds[1], "r", 1);
        for (;;)
            pause();
    }
    close(fds[1]);
    char c;
    CHECK(read(fds[0], &c, 1) == 1);
    CHECK(kill(pid, SIGTERM) == 0);
    CHECK(waitpid(pid, &st, 0) == pid && WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM);
    CHECK(kill(pid, 0) == -1 && errno == ESRCH);
    return 0;
}

static volatile sig_atomic_t got_usr1;
static void on_usr1(int sig)
{
    got_usr1 = 1;
}

static int part_groups(void)
{
    int st, fds[2];
    // A child in its own process group, then its own session.
    CHECK(pipe(fds) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        int ok = setpgid(0, 0) == 0 && getpgid(0) == getpid() && getpgrp() == getpid();
        ok = ok && setsid() == -1 && errno == EPERM; // now a group leader
        write(fds[1], ok ? "y" : "n", 1);
        _exit(0);
    }
    close(fds[1]);
    char c = 0;
    CHECK(read(fds[0], &c, 1) == 1 && c == 'y');
    close(fds[0]);
    CHECK(waitpid(pid, &st, 0) == pid);
    CHECK(pipe(fds) == 0);
    pid = fork();
    if (pid == 0) {
        close(fds[0]);
        pid_t sid = setsid();
        int ok = sid == getpid() && getsid(0) == sid && getpgid(0) == sid;
        write(fds[1], ok ? "y" : "n", 1);
        _exit(0);
    }
    close(fds[1]);
    CHECK(read(fds[0], &c, 1) == 1 && c == 'y');
    close(fds[0]);
    CHECK(waitpid(pid, &st, 0) == pid);
    CHECK(getpgid(pid) == -1 && errno == ESRCH);

    // pidfd: readable once the child has ended; waitid(P_PIDFD) reaps it.
    CHECK(pipe(fds) == 0);
    pid = fork();
    if (pid == 0) {
        char x;
        close(fds[1]);
        read(fds[0], &x, 1); // until the parent says so
        _exit(9);
    }
    close(fds[0]);
    int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
    CHECK(pfd >= 0);
    struct pollfd pd = {.fd = pfd, .events = POLLIN};
    CHECK(poll(&pd, 1, 0) == 0);
    close(fds[1]); // the child goes on and ends
    CHECK(poll(&pd, 1, -1) == 1 && (pd.revents & POLLIN));
    siginfo_t si;
    memset(&si, 0, sizeof(si));
    CHECK(waitid(P_PIDFD, (id_t)pfd, &si, WEXITED) == 0 && si.si_pid == pid && si.si_status == 9);
    close(pfd);

    // PR_SET_PDEATHSIG: a grandchild hears of its parent's end.
    CHECK(pipe(fds) == 0);
    pid = fork();
    if (pid == 0) {
        int ready[2];
        pipe(ready);
        if (fork() == 0) {
            close(fds[0]);
            sigset_t usr1;
            sigemptyset(&usr1);
            sigaddset(&usr1, SIGUSR1);
            sigprocmask(SIG_BLOCK, &usr1, NULL);
            prctl(PR_SET_PDEATHSIG, SIGUSR1);
            int got = 0;
            prctl(PR_GET_PDEATHSIG, &got);
            write(ready[1], "r", 1);
            struct sigaction sa = {.sa_handler = on_usr1};
            sigemptyset(&sa.sa_mask);
            sigaction(SIGUSR1, &sa, NULL);
            sigset_t none;
            sigemptyset(&none);
            while (!got_usr1)
                sigsuspend(&none);
            write(fds[1], got == SIGUSR1 ? "y" : "n", 1);
            _exit(0);
        }
        char x;
        read(ready[0], &x, 1);
        _exit(0); // the grandchild gets SIGUSR1
    }
    close(fds[1]);
    CHECK(waitpid(pid, &st, 0) == pid);
    CHECK(read(fds[0], &c, 1) == 1 && c == 'y');
    close(fds[0]);
    return 0;
}

static int write_script(const char *dir, const char *name, const char *text, char *path, size_t size)
{
    snprintf(path, size, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fputs(text, f);
    fclose(f);
    return chmod(path, 0755);
}

static int part_script(const char *dir)
{
    char path[512], out[256];
    int st = -1;
    CHECK(write_script(dir, "s.sh", "#!/bin/sh\necho \"script says $1\"\nexit 4\n", path, sizeof(path)) == 0);
    char *argv[] = {path, "hi", NULL};
    CHECK(run_capture(argv, out, sizeof(out), &st) == 0);
    CHECK(strcmp(out, "script says hi\n") == 0 && WEXITSTATUS(st) == 4);
    CHECK(write_script(dir, "e.sh", "#!/usr/bin/env sh\necho \"env ran $0\" | sed 's|.*/||'\n", path,
                       sizeof(path)) == 0);
    char *argv2[] = {path, NULL};
    CHECK(run_capture(argv2, out, sizeof(out), &st) == 0);
    CHECK(strcmp(out, "e.sh\n") == 0 && WEXITSTATUS(st) == 0);
    CHECK(write_script(dir, "bad", "#!/nonexistent/interp\n", path, sizeof(path)) == 0);
    char *argv3[] = {path, NULL};
    pid_t pid;
    CHECK(posix_spawn(&pid, path, NULL, NULL, argv3, environ) == ENOENT);
    return 0;
}

static int part_denied(void)
{
    char *argv[] = {"/bin/true", NULL};
    pid_t pid;
    CHECK(posix_spawn(&pid, argv[0], NULL, NULL, argv, environ) == EACCES);
    char *falsev[] = {"/bin/false", NULL}; // if it ran, the test would end with status 1
    errno = 0;
    CHECK(execve(falsev[0], falsev, environ) == -1 && errno == EACCES);
    return 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0); // no buffered output to duplicate in a fork
    if (argc < 2)
        return 100;
    if (!strcmp(argv[1], "spawn"))
        part_spawn();
    else if (!strcmp(argv[1], "vfork"))
        part_vfork();
    else if (!strcmp(argv[1], "fork"))
        part_fork();
    else if (!strcmp(argv[1], "signals"))
        part_signals();
    else if (!strcmp(argv[1], "groups"))
        part_groups();
    else if (!strcmp(argv[1], "script") && argc > 2)
        part_script(argv[2]);
    else if (!strcmp(argv[1], "denied"))
        part_denied();
    else
        return 100;
    printf("%d failures\n", failures);
    return failures ? 1 : 0;
}
