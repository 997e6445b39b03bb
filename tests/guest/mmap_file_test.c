// File mappings and the fd's access mode: a MAP_SHARED mapping of a file opened O_RDONLY
// can never become writable, neither by mmap nor later by mprotect (EACCES, as Linux, whose
// mapping lacks VM_MAYWRITE); a MAP_PRIVATE one can (a private copy).
// VARIANTS: static static-pie
// MKFILE: mapped.txt 0123456789abcdef\n
// ARGS: @TMP@/mapped.txt
// EXPECT_EXIT: 0
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "check.h"
#define CHECK CHECK_FRESH_ERRNO

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    int fd = open(argv[1], O_RDONLY);
    CHECK(fd >= 0);

    char *s = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
    CHECK(s != MAP_FAILED && memcmp(s, "0123456789", 10) == 0);
    CHECK(mprotect(s, 4096, PROT_READ | PROT_WRITE) < 0 && errno == EACCES);
    CHECK(mprotect(s, 4096, PROT_WRITE) < 0 && errno == EACCES);
    CHECK(mprotect(s, 4096, PROT_NONE) == 0);
    CHECK(mprotect(s, 4096, PROT_READ) == 0 && s[0] == '0');
    CHECK(munmap(s, 4096) == 0);

    CHECK(mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) == MAP_FAILED && errno == EACCES);

    char *pv = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
    CHECK(pv != MAP_FAILED);
    CHECK(mprotect(pv, 4096, PROT_READ | PROT_WRITE) == 0);
    pv[0] = 'X';
    CHECK(pv[0] == 'X' && pv[1] == '1');
    CHECK(munmap(pv, 4096) == 0);

    char buf[4];
    CHECK(pread(fd, buf, 1, 0) == 1 && buf[0] == '0'); /* the file is unchanged */
    printf("%d failures\n", failures);
    return failures ? 1 : 0;
}
