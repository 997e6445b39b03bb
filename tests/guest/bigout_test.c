// A lot of output through a pipe: 4 MiB in mixed write sizes (printf lines,
// 1-byte writes, one 1 MiB write).  Catches short or lost writes.
// EXPECT_EXIT: 0
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int write_all(const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(1, p, n);
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int main(void)
{
    for (int i = 0; i < 50000; i++)
        printf("line %6d: %0*d\n", i, i % 50, 0);
    fflush(stdout);
    for (int i = 0; i < 1000; i++)
        if (write(1, i % 64 == 63 ? "\n" : "x", 1) != 1)
            return 1;
    size_t n = 1u << 20;
    char *big = malloc(n);
    for (size_t i = 0; i < n; i++)
        big[i] = (i % 100 == 99) ? '\n' : (char)('A' + i % 26);
    ssize_t w = write(1, big, n);
    /* Linux never short-writes a blocking pipe; finish anyway so stdout matches */
    if (w < 0 || write_all(big + w, n - (size_t)w))
        return 2;
    printf("\nfirst write of 1 MiB returned %s\n", (size_t)w == n ? "all of it" : "a short count");
    return 0;
}
