// File descriptors and the file syscalls: open/openat, read, lseek, pread,
// fstat/stat, dup, close, and their error paths (ENOENT, EBADF, ENOTDIR,
// EINVAL).  Self-checking: prints one line per check, exits 1 on a failure.
// MKFILE: fileio.txt 0123456789abcdefghijklmnopqrstuvwxyz\nsecond line\n
// ARGS: @TMP@/fileio.txt @TMP@
// EXPECT_EXIT: 0
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#define CHECK CHECK_ERRNO

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: fileio_test FILE DIR\n");
        return 2;
    }
    const char *path = argv[1], *dir = argv[2];
    const char *content = "0123456789abcdefghijklmnopqrstuvwxyz\nsecond line\n";
    long len = (long)strlen(content);
    char buf[256];

    int fd = open(path, O_RDONLY);
    CHECK(fd >= 3);
    struct stat st;
    CHECK(fstat(fd, &st) == 0);
    CHECK(S_ISREG(st.st_mode));
    CHECK(st.st_size == len);
    struct stat st2;
    CHECK(stat(path, &st2) == 0 && st2.st_ino == st.st_ino && st2.st_size == len);

    ssize_t n = read(fd, buf, 10);
    CHECK(n == 10 && memcmp(buf, "0123456789", 10) == 0);
    CHECK(lseek(fd, 0, SEEK_CUR) == 10);
    n = read(fd, buf, 5);
    CHECK(n == 5 && memcmp(buf, "abcde", 5) == 0);
    CHECK(lseek(fd, 0, SEEK_END) == len);
    CHECK(read(fd, buf, sizeof buf) == 0); /* EOF */
    CHECK(lseek(fd, 37, SEEK_SET) == 37);
    n = read(fd, buf, sizeof buf);
    CHECK(n == len - 37 && memcmp(buf, "second line\n", 12) == 0);
    CHECK(lseek(fd, -5, SEEK_END) == len - 5);
    errno = 0;
    CHECK(lseek(fd, -1, SEEK_SET) == -1 && errno == EINVAL);

    /* pread does not move the offset */
    CHECK(lseek(fd, 3, SEEK_SET) == 3);
    n = pread(fd, buf, 6, 10);
    CHECK(n == 6 && memcmp(buf, "abcdef", 6) == 0);
    CHECK(lseek(fd, 0, SEEK_CUR) == 3);
    n = pread(fd, buf, sizeof buf, len - 3);
    CHECK(n == 3 && memcmp(buf, "ne\n", 3) == 0);
    CHECK(pread(fd, buf, sizeof buf, len + 100) == 0);

    /* dup shares the offset */
    int fd2 = dup(fd);
    CHECK(fd2 > fd);
    CHECK(lseek(fd2, 20, SEEK_SET) == 20);
    CHECK(lseek(fd, 0, SEEK_CUR) == 20);
    CHECK(close(fd2) == 0);

    /* a second open has its own offset and the lowest free number */
    int fd3 = open(path, O_RDONLY | O_CLOEXEC);
    CHECK(fd3 == fd + 1);
    CHECK(read(fd3, buf, 4) == 4 && memcmp(buf, "0123", 4) == 0);
    CHECK(lseek(fd, 0, SEEK_CUR) == 20);
    CHECK(close(fd3) == 0);

    CHECK(close(fd) == 0);
    errno = 0;
    CHECK(close(fd) == -1 && errno == EBADF);
    errno = 0;
    CHECK(read(fd, buf, 1) == -1 && errno == EBADF);
    errno = 0;
    CHECK(read(12345, buf, 1) == -1 && errno == EBADF);
    errno = 0;
    CHECK(fstat(-1, &st) == -1 && errno == EBADF);

    /* openat relative to a directory fd */
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    CHECK(dfd >= 0);
    CHECK(fstat(dfd, &st) == 0 && S_ISDIR(st.st_mode));
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    fd = openat(dfd, base, O_RDONLY);
    CHECK(fd >= 0);
    CHECK(read(fd, buf, 3) == 3 && memcmp(buf, "012", 3) == 0);
    CHECK(close(fd) == 0);
    errno = 0;
    CHECK(openat(dfd, "definitely-missing", O_RDONLY) == -1 && errno == ENOENT);
    CHECK(close(dfd) == 0);

    /* error paths */
    errno = 0;
    CHECK(open("/definitely/not/here", O_RDONLY) == -1 && errno == ENOENT);
    errno = 0;
    CHECK(stat("/definitely/not/here", &st) == -1 && errno == ENOENT);
    errno = 0;
    char sub[4200];
    snprintf(sub, sizeof sub, "%s/x", path);
    CHECK(open(sub, O_RDONLY) == -1 && errno == ENOTDIR);
    errno = 0;
    CHECK(open(path, O_RDONLY | O_DIRECTORY) == -1 && errno == ENOTDIR);
    errno = 0;
    CHECK(access(path, R_OK) == 0);
    CHECK(access("/definitely/not/here", F_OK) == -1 && errno == ENOENT);

    printf("%d failures\n", failures);
    return failures ? 1 : 0;
}
