// One blocking write() of 4 MiB into a pipe, and one send() of 4 MiB into a stream
// socket, that another thread of the same process reads: the writer must not block the
// host (the reader would never run: the process hung), the call returns the whole count
// and the reader sees every byte in order (CPython's test_socketserver test_write).
// LDLIBS: -lpthread
// TIMEOUT: 60
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#define CHECK CHECK_FRESH_ERRNO

#define SIZE (4 << 20)

static int rfd;
static uint64_t rsum, rcount;

static void *reader(void *arg)
{
    (void)arg;
    static unsigned char buf[65536];
    ssize_t r;
    while ((r = read(rfd, buf, sizeof(buf))) > 0)
        for (ssize_t i = 0; i < r; i++, rcount++)
            rsum = rsum * 31 + buf[i] + rcount;
    return NULL;
}

static void run(const char *name, bool sock)
{
    int fds[2];
    CHECK((sock ? socketpair(AF_UNIX, SOCK_STREAM, 0, fds) : pipe(fds)) == 0);
    unsigned char *data = malloc(SIZE);
    uint64_t sum = 0;
    for (uint64_t i = 0; i < SIZE; i++) {
        data[i] = (unsigned char)(i * 7 + i / 4096);
        sum = sum * 31 + data[i] + i;
    }
    rfd = fds[0];
    rsum = rcount = 0;
    pthread_t th;
    CHECK(pthread_create(&th, NULL, reader, NULL) == 0);
    ssize_t w = sock ? send(fds[1], data, SIZE, 0) : write(fds[1], data, SIZE);
    printf("%s: wrote %zd\n", name, w);
    CHECK(w == SIZE);
    close(fds[1]);
    CHECK(pthread_join(th, NULL) == 0);
    CHECK(rcount == SIZE && rsum == sum);
    close(fds[0]);
    free(data);
}

int main(void)
{
    run("pipe", false);
    run("socket", true);
    printf("%s\n", failures ? "FAILED" : "all passed");
    return failures ? 1 : 0;
}
