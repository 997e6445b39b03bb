// getrandom(2) and getentropy(3): buffers get filled, two draws differ, flags
// accepted; nothing random is printed.
// EXPECT_EXIT: 0
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "check.h"
#define CHECK CHECK_PLAIN

static int nonzero(const unsigned char *p, size_t n)
{
    unsigned char o = 0;
    for (size_t i = 0; i < n; i++)
        o |= p[i];
    return o != 0;
}

int main(void)
{
    unsigned char a[64], b[64], big[4096];
    memset(a, 0, sizeof a);
    memset(b, 0, sizeof b);
    CHECK(getrandom(a, sizeof a, 0) == (ssize_t)sizeof a);
    CHECK(getrandom(b, sizeof b, GRND_NONBLOCK) == (ssize_t)sizeof b);
    CHECK(nonzero(a, sizeof a) && nonzero(b, sizeof b));
    CHECK(memcmp(a, b, sizeof a) != 0);
    /* the tail is filled too */
    memset(big, 0, sizeof big);
    CHECK(getrandom(big, sizeof big, 0) == (ssize_t)sizeof big);
    CHECK(nonzero(big + sizeof big - 16, 16));
    CHECK(getrandom(a, 0, 0) == 0);
    memset(a, 0, sizeof a);
    CHECK(getentropy(a, 32) == 0 && nonzero(a, 32));
    errno = 0;
    CHECK(getentropy(big, 257) == -1 && errno == EIO);
    errno = 0;
    CHECK(getrandom(a, 8, 0x1000) == -1 && errno == EINVAL); /* unknown flag */
    /* a byte histogram over 4 KiB: every value should not be the same */
    int distinct = 0, seen[256] = {0};
    for (size_t i = 0; i < sizeof big; i++)
        if (!seen[big[i]]++)
            distinct++;
    CHECK(distinct > 128);
    printf("%d failures\n", failures);
    return failures ? 1 : 0;
}
