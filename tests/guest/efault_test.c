// Bad pointers handed to syscalls must fail with EFAULT, not crash the guest
// or kvmserver, and not leak host memory: write(1, (void *)1, 10) == -1/EFAULT.
// STDIN: some input for read()\n
// EXPECT_EXIT: 0
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#define CHECK CHECK_ERRNO

#define BAD ((void *)1)
#define KERNELISH ((void *)0xffff800000001000ull)
#define HIGH ((void *)0x00007ffffffff000ull)

int main(void)
{
#pragma GCC diagnostic ignored "-Wstringop-overread"
    fflush(stdout);
    errno = 0;
    CHECK(write(1, BAD, 10) == -1 && errno == EFAULT); /* the classic */
    errno = 0;
    CHECK(syscall(SYS_write, 1, KERNELISH, 10) == -1 && errno == EFAULT);
    errno = 0;
    CHECK(write(1, HIGH, 10) == -1 && errno == EFAULT);
    errno = 0;
    CHECK(syscall(SYS_read, 0, BAD, 10) == -1 && errno == EFAULT); /* stdin has data */
    errno = 0;
    CHECK(open(BAD, O_RDONLY) == -1 && errno == EFAULT);
    errno = 0;
    CHECK(syscall(SYS_stat, BAD, BAD) == -1 && errno == EFAULT);
    errno = 0;
    CHECK(syscall(SYS_stat, "/", BAD) == -1 && errno == EFAULT);
    errno = 0;
    CHECK(syscall(SYS_fstat, 1, BAD) == -1 && errno == EFAULT);
    errno = 0;
    CHECK(syscall(SYS_clock_gettime, CLOCK_MONOTONIC, BAD) == -1 && errno == EFAULT);
    errno = 0;
    CHECK(syscall(SYS_uname, BAD) == -1 && errno == EFAULT);
    struct iovec iov[2] = {{(void *)"ok\n", 3}, {BAD, 5}};
    errno = 0;
    /* Linux writes nothing or just the good prefix; either way no crash */
    long r = syscall(SYS_writev, 2, iov, 2);
    CHECK(r == -1 ? errno == EFAULT : r == 3);
    errno = 0;
    CHECK(syscall(SYS_writev, 1, BAD, 2) == -1 && errno == EFAULT);
    errno = 0;
    CHECK(syscall(SYS_getrandom, BAD, 16, 0) == -1 && errno == EFAULT);
    /* the process is still fine */
    CHECK(write(1, "still writing\n", 14) == 14);
    printf("%d failures\n", failures);
    return failures ? 1 : 0;
}
