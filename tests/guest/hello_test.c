// The smallest guest: one line on stdout, exit 0.  Also built as static-PIE,
// which makes the loader apply its own relocations before main runs.
// VARIANTS: static static-pie
// EXPECT_EXIT: 0
#include <stdio.h>

int main(void)
{
    printf("Hello, world!\n");
    return 0;
}
