// An illegal instruction: natively SIGILL (the shell reports 132); kvmserver
// must print one line naming it (#UD / invalid opcode) and exit 132.
// VARIANTS: static static-pie
// EXPECT_EXIT: 132
// EXPECT_STDERR: ill|invalid opcode|#UD|undefined|ud2
// EXPECT_STDERR_LINES: 1
#include <stdio.h>

int main(void)
{
    printf("about to execute ud2\n");
    fflush(stdout);
    __asm__ volatile("ud2");
    printf("still alive after ud2\n");
    return 0;
}
