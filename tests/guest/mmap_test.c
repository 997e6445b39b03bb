// Anonymous memory mappings: mmap fills with zeros, mprotect changes
// permissions without losing data, mremap grows (in place or moving) and
// keeps the content, munmap and MAP_FIXED replace, argument errors are EINVAL.
// Nothing touches memory after munmap (no signals yet).
// VARIANTS: static static-pie
// EXPECT_EXIT: 0
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "check.h"
#define CHECK(cond) CHECK_REPORT(cond, #cond, ", errno %d", errno)

#define PG 4096u
#define MiB (1u << 20)

/* The pattern word at byte offset i of a mapping; has_pattern_at checks the
 * n bytes at offset off of the mapping that starts at p. */
static uint64_t word(size_t i, unsigned seed)
{
    return (i * 0x9E3779B97F4A7C15ull) ^ seed;
}

static void pattern(unsigned char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i += 8)
        *(uint64_t *)(p + i) = word(i, seed);
}

static int has_pattern_at(const unsigned char *p, size_t off, size_t n, unsigned seed)
{
    for (size_t i = off; i < off + n; i += 8)
        if (*(const uint64_t *)(p + i) != word(i, seed))
            return 0;
    return 1;
}

static int has_pattern(const unsigned char *p, size_t n, unsigned seed)
{
    return has_pattern_at(p, 0, n, seed);
}

static int all_zero(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i += 8)
        if (*(const uint64_t *)(p + i))
            return 0;
    return 1;
}

int main(void)
{
    /* basic: page aligned, zeroed, writable */
    unsigned char *a = mmap(NULL, 8 * MiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(a != MAP_FAILED);
    CHECK(((uintptr_t)a & (PG - 1)) == 0);
    CHECK(all_zero(a, 8 * MiB));
    pattern(a, 8 * MiB, 1);
    CHECK(has_pattern(a, 8 * MiB, 1));

    /* a second mapping does not overlap the first */
    unsigned char *b = mmap(NULL, 3 * PG + 1, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(b != MAP_FAILED);
    CHECK(b + 4 * PG <= a || b >= a + 8 * MiB);
    memset(b, 0x77, 4 * PG); /* the length is rounded up to whole pages */
    CHECK(has_pattern(a, 8 * MiB, 1));

    /* mprotect read-only and back: content unchanged */
    CHECK(mprotect(a, 8 * MiB, PROT_READ) == 0);
    CHECK(has_pattern(a, 8 * MiB, 1));
    CHECK(mprotect(a + PG, PG, PROT_NONE) == 0);
    CHECK(mprotect(a, 8 * MiB, PROT_READ | PROT_WRITE) == 0);
    CHECK(has_pattern(a, 8 * MiB, 1));
    a[PG] ^= 0xff;
    a[PG] ^= 0xff;
    CHECK(has_pattern(a, 8 * MiB, 1));
    errno = 0;
    CHECK(mprotect(a + 1, PG, PROT_READ) == -1 && errno == EINVAL);

    /* mremap: shrink in place, then grow (may move) keeping the content */
    unsigned char *c = mremap(a, 8 * MiB, 4 * MiB, 0);
    CHECK(c == a);
    CHECK(has_pattern(c, 4 * MiB, 1));
    unsigned char *d = mremap(c, 4 * MiB, 32 * MiB, MREMAP_MAYMOVE);
    CHECK(d != MAP_FAILED);
    CHECK(has_pattern(d, 4 * MiB, 1));
    CHECK(all_zero(d + 4 * MiB, 28 * MiB));
    pattern(d, 32 * MiB, 2);
    CHECK(has_pattern(d, 32 * MiB, 2));
    /* growing in place succeeds only if the space after it is free */
    errno = 0;
    unsigned char *x = mremap(d, 32 * MiB, 64 * MiB, 0);
    CHECK(x == d || (x == MAP_FAILED && errno == ENOMEM));
    d = mremap(d, x == d ? 64 * MiB : 32 * MiB, 16 * MiB, 0);
    CHECK(d != MAP_FAILED && has_pattern(d, 16 * MiB, 2));
    /* the small one grows too */
    unsigned char *e = mremap(b, 4 * PG, 64 * PG, MREMAP_MAYMOVE);
    CHECK(e != MAP_FAILED && e[0] == 0x77 && e[4 * PG - 1] == 0x77 && e[4 * PG] == 0);

    /* munmap a hole in the middle, then MAP_FIXED something new into it */
    CHECK(munmap(d + 4 * MiB, 4 * MiB) == 0);
    CHECK(has_pattern(d, 4 * MiB, 2));
    CHECK(has_pattern_at(d, 8 * MiB, 8 * MiB, 2));
    unsigned char *f = mmap(d + 4 * MiB, 4 * MiB, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    CHECK(f == d + 4 * MiB);
    CHECK(all_zero(f, 4 * MiB));
    /* MAP_FIXED over live memory replaces it with zeroes */
    unsigned char *g = mmap(d, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    CHECK(g == d && all_zero(g, PG));
    CHECK(has_pattern_at(d, PG, 4 * MiB - PG, 2));

    /* a hint that is free is usually honoured; the result is always usable */
    unsigned char *h = mmap((void *)0x300000000000ull, 2 * PG, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(h != MAP_FAILED);
    h[0] = 1;
    h[2 * PG - 1] = 2;
    CHECK(munmap(h, 2 * PG) == 0);
    /* MAP_FIXED_NOREPLACE on a busy range fails with EEXIST */
    errno = 0;
    CHECK(mmap(d, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0) == MAP_FAILED &&
          errno == EEXIST);
    /* PROT_NONE reservation, then opened up piecewise (what allocators do) */
    unsigned char *r = mmap(NULL, 16 * MiB, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    CHECK(r != MAP_FAILED);
    CHECK(mprotect(r + MiB, MiB, PROT_READ | PROT_WRITE) == 0);
    memset(r + MiB, 3, MiB);
    CHECK(r[MiB] == 3 && r[2 * MiB - 1] == 3);
    CHECK(munmap(r, 16 * MiB) == 0);

    /* argument errors */
    errno = 0;
    CHECK(mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED && errno == EINVAL);
    errno = 0;
    CHECK(mmap(NULL, PG, PROT_READ, MAP_ANONYMOUS, -1, 0) == MAP_FAILED && errno == EINVAL);
    errno = 0;
    CHECK(mmap((void *)(d + 1), PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED &&
          errno == EINVAL);
    errno = 0;
    CHECK(munmap(d + 1, PG) == -1 && errno == EINVAL);
    errno = 0;
    CHECK(munmap(d, 0) == -1 && errno == EINVAL);
    errno = 0;
    CHECK(mmap(NULL, PG, PROT_READ, MAP_PRIVATE, 12345, 0) == MAP_FAILED && errno == EBADF);
    errno = 0;
    CHECK(mremap(d, PG, 2 * PG, 0xff) == MAP_FAILED && errno == EINVAL);
    /* munmap of a range with nothing in it is fine */
    CHECK(munmap(h, 2 * PG) == 0);

    /* many small mappings */
    void *many[256];
    int okm = 1;
    for (int i = 0; i < 256; i++) {
        many[i] = mmap(NULL, PG * (1 + i % 4), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (many[i] == MAP_FAILED)
            okm = 0;
        else
            memset(many[i], i, PG * (1 + i % 4));
    }
    for (int i = 0; i < 256 && okm; i++)
        if (((unsigned char *)many[i])[PG * (1 + i % 4) - 1] != (unsigned char)i)
            okm = 0;
    for (int i = 0; i < 256; i++)
        if (many[i] != MAP_FAILED && munmap(many[i], PG * (1 + i % 4)) != 0)
            okm = 0;
    CHECK(okm);

    CHECK(munmap(d, 16 * MiB) == 0);
    CHECK(munmap(e, 64 * PG) == 0);
    printf("%d failures\n", failures);
    return failures ? 1 : 0;
}
