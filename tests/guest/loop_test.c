// A guest that never finishes.  kvmserver --max-boot-time 2 must stop it,
// print a one-line message and exit non-zero.  Not run natively.
// NATIVE: skip
// KVMSERVER_OPTS: --max-boot-time 2
// EXPECT_EXIT: nonzero
// EXPECT_STDERR: time|limit|exceed|timeout|timed out|killed|stopped
// EXPECT_STDERR_LINES: 1
// TIMEOUT: 30
#include <stdio.h>

int main(void)
{
    printf("spinning\n");
    fflush(stdout);
    for (volatile unsigned long i = 0;; i++)
        ;
}
