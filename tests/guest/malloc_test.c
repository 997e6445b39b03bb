// Heap churn: a few hundred MiB allocated in total, in sizes from 1 byte to
// 4 MiB (small ones come from brk, large ones from mmap), freed and reused,
// realloc'd, calloc'd; every block carries a pattern that is verified before
// it is freed.  A checksum over everything read back is printed.
// VARIANTS: static static-pie
// EXPECT_EXIT: 0
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SLOTS 4096
#define ROUNDS 40000

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static size_t pick_size(void)
{
    uint64_t r = next();
    switch (r % 64) {
    case 0: return 1 + (r >> 8) % (4u << 20);   /* up to 4 MiB: mmap'd */
    case 1: case 2: case 3: case 4: case 5: case 6:
        return 1 + (r >> 8) % 65536;             /* medium */
    default: return 1 + (r >> 8) % 512;          /* small */
    }
}

struct slot {
    unsigned char *p;
    size_t n;
    unsigned char tag;
};
static struct slot slots[SLOTS];

/* Fill the first and last 64 bytes and every 4096th byte: enough to catch
 * overlapping or lost blocks without spending all the time in memset. */
static void fill(struct slot *s)
{
    size_t n = s->n;
    for (size_t i = 0; i < n && i < 64; i++)
        s->p[i] = (unsigned char)(s->tag + i);
    for (size_t i = n > 64 ? n - 64 : 0; i < n; i++)
        s->p[i] = (unsigned char)(s->tag + i);
    for (size_t i = 0; i < n; i += 4096)
        s->p[i] = (unsigned char)(s->tag + i);
}

static int check(const struct slot *s, size_t upto, uint64_t *sum)
{
    size_t n = upto;
    for (size_t i = 0; i < n && i < 64; i++)
        if (s->p[i] != (unsigned char)(s->tag + i))
            return 0;
    for (size_t i = n > 64 ? n - 64 : 0; i < n; i++)
        if (upto == s->n && s->p[i] != (unsigned char)(s->tag + i))
            return 0;
    for (size_t i = 0; i < n; i += 4096) {
        if (s->p[i] != (unsigned char)(s->tag + i))
            return 0;
        *sum = *sum * 31 + s->p[i];
    }
    return 1;
}

int main(void)
{
    uint64_t total = 0, sum = 0, bad = 0, peak = 0, live = 0;
    unsigned long nmalloc = 0, nfree = 0, nrealloc = 0, ncalloc = 0;

    for (int r = 0; r < ROUNDS; r++) {
        struct slot *s = &slots[next() % SLOTS];
        if (s->p) {
            if (!check(s, s->n, &sum))
                bad++;
            if (next() % 4 == 0) {
                /* realloc keeps the common prefix */
                size_t nn = pick_size(), keep = nn < s->n ? nn : s->n;
                unsigned char *np = realloc(s->p, nn);
                if (!np) {
                    printf("realloc(%zu) failed\n", nn);
                    return 1;
                }
                s->p = np;
                if (!check(s, keep, &sum)) /* s->n is still the old size */
                    bad++;
                live += nn - s->n;
                s->n = nn;
                total += nn;
                fill(s);
                nrealloc++;
                continue;
            }
            free(s->p);
            live -= s->n;
            s->p = NULL;
            nfree++;
            continue;
        }
        s->n = pick_size();
        s->tag = (unsigned char)next();
        if (next() % 8 == 0) {
            s->p = calloc(1, s->n);
            ncalloc++;
            if (s->p) {
                for (size_t i = 0; i < s->n; i += 512)
                    if (s->p[i])
                        bad++;
                if (s->p[s->n - 1])
                    bad++;
            }
        } else {
            s->p = malloc(s->n);
            nmalloc++;
        }
        if (!s->p) {
            printf("malloc(%zu) failed\n", s->n);
            return 1;
        }
        fill(s);
        total += s->n;
        live += s->n;
        if (live > peak)
            peak = live;
    }
    for (int i = 0; i < SLOTS; i++) {
        if (slots[i].p) {
            if (!check(&slots[i], slots[i].n, &sum))
                bad++;
            free(slots[i].p);
            nfree++;
        }
    }
    /* one big block, fully written and read back */
    size_t big = 64u << 20;
    unsigned char *b = malloc(big);
    if (!b) {
        printf("malloc(64 MiB) failed\n");
        return 1;
    }
    memset(b, 0x5a, big);
    uint64_t bsum = 0;
    for (size_t i = 0; i < big; i += 8) {
        uint64_t v;
        memcpy(&v, b + i, 8);
        bsum += v;
    }
    free(b);
    total += big;

    printf("malloc=%lu calloc=%lu realloc=%lu free=%lu\n", nmalloc, ncalloc, nrealloc, nfree);
    printf("total allocated: %llu MiB, peak live: %llu MiB\n",
           (unsigned long long)(total >> 20), (unsigned long long)(peak >> 20));
    printf("checksum: %016llx %016llx\n", (unsigned long long)sum, (unsigned long long)bsum);
    printf("corrupted blocks: %llu\n", (unsigned long long)bad);
    return bad ? 1 : 0;
}
