// Writing to a pipe's read end (or reading its write end) is EBADF at once, also while
// another thread runs, when a blocking call may park instead of blocking the host (it
// once parked to wait for the read end to become writable, for good: CPython's
// test_wakeup_write_error).
// LDLIBS: -lpthread
// TIMEOUT: 30
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

#include "check.h"
#define CHECK CHECK_FRESH_ERRNO

static int stop[2];

static void *waiter(void *arg)
{
    (void)arg;
    char c;
    read(stop[0], &c, 1);
    return NULL;
}

int main(void)
{
    int fds[2];
    char c = 'x';
    CHECK(pipe(fds) == 0 && pipe(stop) == 0);
    pthread_t th;
    CHECK(pthread_create(&th, NULL, waiter, NULL) == 0);
    CHECK(write(fds[0], &c, 1) == -1 && errno == EBADF);
    CHECK(read(fds[1], &c, 1) == -1 && errno == EBADF);
    CHECK(write(stop[1], &c, 1) == 1);
    CHECK(pthread_join(th, NULL) == 0);
    printf("%s\n", failures ? "FAILED" : "all passed");
    return failures ? 1 : 0;
}
