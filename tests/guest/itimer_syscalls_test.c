// An interval timer firing while the program makes syscalls as fast as it can: every
// SIGALRM must interrupt user code cleanly and its handler return to where it was (a
// tick that lands on the syscall instruction's way into the trampoline once recorded a
// kernel-area rip in the frame, and sigreturn then killed the guest).
#include <signal.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
    (void)sig;
    alarms++;
}

int main(void)
{
    struct sigaction sa = {.sa_handler = on_alarm, .sa_flags = SA_RESTART};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = {{0, 1000}, {0, 1000}};
    setitimer(ITIMER_REAL, &it, NULL);
    long calls = 0, bad = 0;
    while (alarms < 400) {
        if (syscall(SYS_getppid) <= 0)
            bad++;
        calls++;
    }
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, NULL);
    printf("alarms: at least 400\nbad results: %ld\nsyscalls made: %s\n", bad, calls >= 400 ? "many" : "few");
    return 0;
}
