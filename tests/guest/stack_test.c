// The initial stack is big enough for ordinary programs: 6 MiB of recursion
// (Linux gives 8 MiB by default) and a 1 MiB local array.
// EXPECT_EXIT: 0
#include <stdio.h>
#include <string.h>

static unsigned long deep(int n, volatile char *prev)
{
    volatile char frame[1024];
    frame[0] = (char)n;
    frame[1023] = prev ? prev[0] : 0;
    if (n == 0)
        return frame[0];
    return deep(n - 1, frame) + (unsigned char)frame[1023];
}

int main(void)
{
    volatile char big[1 << 20];
    memset((char *)big, 7, sizeof big);
    unsigned long s = 0;
    for (size_t i = 0; i < sizeof big; i += 4096)
        s += big[i];
    printf("1 MiB local: sum=%lu\n", s);
    printf("recursion 6000 x 1 KiB: %lu\n", deep(6000, NULL));
    return 0;
}
