// One blocking write() of 4 MiB into a pipe, and one send() of 4 MiB into a stream
// socket, that another thread of the same process reads: the writer must not block the
// host (the reader would never run: the process hung), the call returns the whole count
// and the reader sees every byte in order (CPython's test_socketserver test_write).  The
// same for sendfile from a file into a socket (test_socket's sendfile tests), with an
// offset and with the file position.
// ARGS: @TMP@
// LDLIBS: -lpthread
// TIMEOUT: 60
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <sys/sendfile.h>
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

static const char *tmpdir;

// how: 0 write to a pipe, 1 send to a socket, 2 sendfile with an offset, 3 sendfile at
// the file position.
static void run(const char *name, int how)
{
    bool sock = how > 0;
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
    ssize_t w;
    if (how >= 2) {
        char path[600];
        snprintf(path, sizeof(path), "%s/bigwrite.%d", tmpdir, how);
        int f = open(path, O_CREAT | O_TRUNC | O_RDWR, 0644);
        CHECK(f >= 0 && write(f, data, SIZE) == SIZE);
        off_t off = 0;
        CHECK(lseek(f, 0, SEEK_SET) == 0);
        w = how == 2 ? sendfile(fds[1], f, &off, SIZE) : sendfile(fds[1], f, NULL, SIZE);
        CHECK(how == 2 ? off == SIZE : lseek(f, 0, SEEK_CUR) == SIZE);
        close(f);
        unlink(path);
    } else {
        w = sock ? send(fds[1], data, SIZE, 0) : write(fds[1], data, SIZE);
    }
    printf("%s: wrote %zd\n", name, w);
    CHECK(w == SIZE);
    close(fds[1]);
    CHECK(pthread_join(th, NULL) == 0);
    CHECK(rcount == SIZE && rsum == sum);
    close(fds[0]);
    free(data);
}

int main(int argc, char **argv)
{
    tmpdir = argc > 1 ? argv[1] : "/tmp";
    run("pipe", 0);
    run("socket", 1);
    run("sendfile with offset", 2);
    run("sendfile at the position", 3);
    printf("%s\n", failures ? "FAILED" : "all passed");
    return failures ? 1 : 0;
}
