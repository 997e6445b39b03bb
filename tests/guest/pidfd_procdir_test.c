// pidfd_send_signal with a /proc/PID directory fd signals that process, as on Linux
// (CPython's test_pidfd_send_signal); fd 0 (not a pidfd) is EBADF.  The signal to the own
// process is process-directed: the thread that does not block it takes it.
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "check.h"
#define CHECK CHECK_FRESH_ERRNO

static volatile sig_atomic_t got;

static void on_usr1(int sig)
{
    (void)sig;
    got++;
}

int main(void)
{
    signal(SIGUSR1, on_usr1);
    CHECK(syscall(SYS_pidfd_send_signal, 0, SIGUSR1, NULL, 0) == -1 && errno == EBADF);
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d", (int)getpid());
    int fd = open(path, O_RDONLY | O_DIRECTORY);
    CHECK(fd >= 0);
    CHECK(syscall(SYS_pidfd_send_signal, fd, SIGUSR1, NULL, 0) == 0);
    CHECK(got == 1);
    int self = open("/proc/self", O_RDONLY | O_DIRECTORY);
    CHECK(self >= 0 && syscall(SYS_pidfd_send_signal, self, SIGUSR1, NULL, 0) == 0);
    CHECK(got == 2);
    int file = open("/proc/self/status", O_RDONLY);
    CHECK(file >= 0 && syscall(SYS_pidfd_send_signal, file, SIGUSR1, NULL, 0) == -1 && errno == EBADF);
    printf("%s\n", failures ? "FAILED" : "all passed");
    return failures ? 1 : 0;
}
