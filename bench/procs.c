// bench/procs.c - process creation latency: fork + _exit + waitpid, vfork (posix_spawn)
// + exec + wait, and fork + exec + wait of a small static program.  One line per kind:
// `NAME mean_us`.  Run natively and under kvmserver by bench/run.
//   procs N PROGRAM   N rounds of each; PROGRAM is exec'd with argument "x" and must exit 0
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int reap(pid_t pid)
{
    int st;
    return pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (argc != 3)
        return 2;
    int n = atoi(argv[1]);
    char *prog = argv[2], *args[] = {prog, "x", NULL};
    double t0 = now_us();
    for (int i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid == 0)
            _exit(0);
        if (reap(pid))
            return 1;
    }
    double t1 = now_us();
    for (int i = 0; i < n; i++) {
        pid_t pid;
        if (posix_spawn(&pid, prog, NULL, NULL, args, environ) || reap(pid))
            return 1;
    }
    double t2 = now_us();
    for (int i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            execve(prog, args, environ);
            _exit(127);
        }
        if (reap(pid))
            return 1;
    }
    double t3 = now_us();
    printf("fork+exit+wait %.0f\n", (t1 - t0) / n);
    printf("spawn+exec+wait %.0f\n", (t2 - t1) / n);
    printf("fork+exec+wait %.0f\n", (t3 - t2) / n);
    return 0;
}
