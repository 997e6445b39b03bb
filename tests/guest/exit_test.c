// Exit statuses 0..255 through every way a program can end.
// argv[1] picks the way, argv[2] the status.  Output written before the end
// tells whether stdio buffers were flushed (exit/return: yes; _exit: no).
// VARIANTS: static static-pie
// CASE: exit 0 -> 0
// CASE: exit 1 -> 1
// CASE: exit 42 -> 42
// CASE: exit 255 -> 255
// CASE: exit 256 -> 0
// CASE: exit -1 -> 255
// CASE: return 0 -> 0
// CASE: return 42 -> 42
// CASE: return 255 -> 255
// CASE: _exit 7 -> 7
// CASE: exit_group 200 -> 200
// CASE: atexit 3 -> 3
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>

static void bye(void)
{
    printf("atexit handler ran\n");
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: exit_test exit|return|_exit|exit_group|atexit STATUS\n");
        return 100;
    }
    int status = atoi(argv[2]);
    printf("way=%s status=%d", argv[1], status); /* no newline: stays buffered */
    if (!strcmp(argv[1], "exit"))
        exit(status);
    if (!strcmp(argv[1], "return"))
        return status;
    if (!strcmp(argv[1], "_exit"))
        _exit(status);
    if (!strcmp(argv[1], "exit_group")) {
        fflush(stdout);
        syscall(SYS_exit_group, status);
        return 101; /* not reached */
    }
    if (!strcmp(argv[1], "atexit")) {
        printf("\n");
        atexit(bye);
        exit(status);
    }
    return 102;
}
