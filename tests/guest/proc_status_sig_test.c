// /proc/self/status shows the signal masks (SigPnd, SigBlk, SigIgn, SigCgt) as Linux
// does, bit sig-1: CPython's test_restore_signals reads SigIgn of a child (the lines were
// missing, and the test was skipped).
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#define CHECK CHECK_PLAIN

static void on_usr1(int sig)
{
    (void)sig;
}

static unsigned long long field(const char *name)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    unsigned long long v = ~0ULL;
    size_t n = strlen(name);
    while (f && fgets(line, sizeof(line), f))
        if (strncmp(line, name, n) == 0 && line[n] == ':')
            sscanf(line + n + 1, "%llx", &v);
    if (f)
        fclose(f);
    return v;
}

#define BIT(sig) (1ULL << ((sig) - 1))

int main(void)
{
    /* Start from defaults: a process started in the background (a CI script's `&`)
     * inherits SIGINT and SIGQUIT ignored, and a mask; any signal may come ignored. */
    for (int sig = 1; sig < 65; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            signal(sig, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGUSR1, on_usr1);
    signal(SIGPIPE, SIG_IGN);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR2);
    sigprocmask(SIG_BLOCK, &set, NULL);
    raise(SIGUSR2);
    CHECK(field("SigBlk") == BIT(SIGUSR2));
    CHECK(field("SigPnd") == BIT(SIGUSR2));
    CHECK(field("SigIgn") == BIT(SIGPIPE));
    CHECK(field("SigCgt") == BIT(SIGUSR1));
    signal(SIGPIPE, SIG_DFL);
    CHECK(field("SigIgn") == 0);
    printf("%s\n", failures ? "FAILED" : "all passed");
    return failures ? 1 : 0;
}
