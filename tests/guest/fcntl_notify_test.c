// fcntl(F_NOTIFY): clearing a directory's dnotify registration with DN_MULTISHOT alone
// (bit 31, which a 64-bit caller such as CPython's test_fcntl_64_bit passes in a long)
// succeeds as on Linux, on any fd; asking a file for events is ENOTDIR.  (It once was
// EINVAL.)
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "check.h"
#define CHECK CHECK_FRESH_ERRNO

int main(void)
{
    int dir = open("/", O_RDONLY | O_DIRECTORY);
    CHECK(dir >= 0);
    CHECK(fcntl(dir, F_NOTIFY, (long)(unsigned)DN_MULTISHOT) == 0);
    CHECK(fcntl(dir, F_NOTIFY, 0L) == 0);
    int file = open("/proc/self/exe", O_RDONLY);
    CHECK(file >= 0);
    CHECK(fcntl(file, F_NOTIFY, (long)(unsigned)DN_MULTISHOT) == 0);
    CHECK(fcntl(file, F_NOTIFY, (long)DN_MODIFY) == -1 && errno == ENOTDIR);
    printf("%s\n", failures ? "FAILED" : "all passed");
    return failures ? 1 : 0;
}
