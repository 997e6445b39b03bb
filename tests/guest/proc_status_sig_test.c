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
    /* What the process inherited ignored (a runner may ignore signals glibc keeps for
     * itself, which no signal() can reset) is the baseline; only this test's changes count. */
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    unsigned long long base = field("SigIgn");
    CHECK(base != ~0ULL); /* the line is there */
    signal(SIGUSR1, on_usr1);
    signal(SIGPIPE, SIG_IGN);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR2);
    sigprocmask(SIG_BLOCK, &set, NULL);
    raise(SIGUSR2);
    CHECK(field("SigBlk") == BIT(SIGUSR2));
    CHECK(field("SigPnd") == BIT(SIGUSR2));
    CHECK(field("SigIgn") == (base | BIT(SIGPIPE)));
    CHECK(field("SigCgt") == BIT(SIGUSR1));
    signal(SIGPIPE, SIG_DFL);
    CHECK(field("SigIgn") == base);
    printf("%s\n", failures ? "FAILED" : "all passed");
    return failures ? 1 : 0;
}
