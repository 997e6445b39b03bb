// Writing: writev with several (and empty) iovecs, short writes that must not
// happen on pipes/files, stderr separately (compared too), isatty() false
// for redirected stdin/stdout/stderr, fstat of the standard descriptors.
// COMPARE_STDERR: yes
// EXPECT_EXIT: 0
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

int main(void)
{
    int fails = 0;
    struct iovec iov[] = {
        {(void *)"writev: ", 8}, {(void *)"", 0}, {(void *)"one ", 4},
        {NULL, 0},               {(void *)"two ", 4}, {(void *)"three\n", 6},
    };
    ssize_t n = writev(1, iov, 6);
    fails += n != 22;
    printf("writev returned %zd\n", n);
    fflush(stdout);

    /* a bigger writev: 64 pieces of 64 bytes */
    static char chunks[64][64];
    struct iovec big[64];
    for (int i = 0; i < 64; i++) {
        memset(chunks[i], 'a' + i % 26, sizeof chunks[i]);
        chunks[i][sizeof chunks[i] - 1] = '\n';
        big[i].iov_base = chunks[i];
        big[i].iov_len = sizeof chunks[i];
    }
    n = writev(1, big, 64);
    fails += n != 4096;
    printf("big writev returned %zd\n", n);

    errno = 0;
#pragma GCC diagnostic ignored "-Wstringop-overflow"
    n = writev(1, iov, -1);
    printf("writev(iovcnt=-1) = %zd errno=%s\n", n, strerrorname_np(errno));
    fails += !(n == -1 && errno == EINVAL);
    n = writev(1, iov, 0);
    printf("writev(iovcnt=0) = %zd\n", n);
    fails += n != 0;

    fprintf(stderr, "to stderr: unbuffered\n");
    struct iovec eiov[] = {{(void *)"stderr ", 7}, {(void *)"writev\n", 7}};
    fails += writev(2, eiov, 2) != 14;
    dprintf(2, "dprintf to fd %d\n", 2);

    /* the runner redirects all three: none is a terminal */
    errno = 0;
    int t0 = isatty(0), e0 = errno;
    errno = 0;
    int t1 = isatty(1), e1 = errno;
    errno = 0;
    int t2 = isatty(2), e2 = errno;
    printf("isatty: stdin=%d (%s) stdout=%d (%s) stderr=%d (%s)\n", t0, strerrorname_np(e0), t1,
           strerrorname_np(e1), t2, strerrorname_np(e2));
    fails += t0 || t1 || t2 || e1 != ENOTTY;
    errno = 0;
    int tb = isatty(99);
    printf("isatty(99)=%d (%s)\n", tb, strerrorname_np(errno));

    struct stat st;
    for (int fd = 0; fd < 3; fd++) {
        int r = fstat(fd, &st);
        printf("fstat(%d)=%d %s\n", fd, r,
               S_ISFIFO(st.st_mode) ? "fifo" : S_ISREG(st.st_mode) ? "file" : S_ISCHR(st.st_mode) ? "chardev" : "other");
        fails += r != 0;
    }
    printf("%d failures\n", fails);
    return fails ? 1 : 0;
}
