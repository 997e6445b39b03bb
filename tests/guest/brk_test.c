// The program break: brk(0) reports it, growing it gives zeroed writable
// memory, shrinking and growing again works, sbrk agrees.  Absolute addresses
// are not printed (they are randomized natively).
// VARIANTS: static static-pie
// EXPECT_EXIT: 0
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "check.h"
#define CHECK CHECK_PLAIN

extern char end[]; /* end of .bss, from the linker */

static uintptr_t raw_brk(uintptr_t want)
{
    return (uintptr_t)syscall(SYS_brk, want);
}

int main(void)
{
    uintptr_t b0 = raw_brk(0);
    CHECK(b0 != 0);
    /* (where it starts relative to .bss differs: randomized, static-pie) */
    CHECK(b0 >= (uintptr_t)end || b0 + (1u << 30) <= (uintptr_t)end);
    CHECK((uintptr_t)sbrk(0) == b0);

    /* grow by 1 MiB: new memory is zeroed and writable */
    uintptr_t b1 = raw_brk(b0 + (1u << 20));
    CHECK(b1 == b0 + (1u << 20));
    unsigned char *p = (unsigned char *)b0;
    int zero = 1;
    for (size_t i = 0; i < (1u << 20); i += 512)
        zero &= p[i] == 0;
    CHECK(zero);
    memset(p, 0xab, 1u << 20);
    CHECK(p[0] == 0xab && p[(1u << 20) - 1] == 0xab);

    /* grow by 64 MiB more */
    uintptr_t b2 = raw_brk(b1 + (64u << 20));
    CHECK(b2 == b1 + (64u << 20));
    memset((void *)b1, 0xcd, 64u << 20);
    CHECK(((unsigned char *)b2)[-1] == 0xcd);
    CHECK(p[(1u << 20) - 1] == 0xab);

    /* shrink back, grow again: the re-grown area is zero again */
    CHECK(raw_brk(b0 + 4096) == b0 + 4096);
    CHECK(p[0] == 0xab);
    CHECK(raw_brk(b0 + (2u << 20)) == b0 + (2u << 20));
    CHECK(p[8192] == 0 && p[(2u << 20) - 1] == 0);

    /* a request below the start of the heap is refused: brk stays put */
    CHECK(raw_brk(b0 - (16u << 20)) == b0 + (2u << 20));
    CHECK(raw_brk(1) == b0 + (2u << 20));
    /* an absurd request fails the same way (beyond any user address space: 1 << 46 is
     * granted on a big machine that overcommits) */
    CHECK(raw_brk((uintptr_t)1 << 62) == b0 + (2u << 20));
    /* the top addresses too: rounded up they wrap to 0, which must not unmap everything
     * below the old break (the program's text with it) */
    CHECK(raw_brk(UINTPTR_MAX) == b0 + (2u << 20));
    CHECK(raw_brk(UINTPTR_MAX - 4094) == b0 + (2u << 20));
    CHECK(p[0] == 0xab);
    CHECK(raw_brk(0) == b0 + (2u << 20));

    /* sbrk on top */
    CHECK(raw_brk(b0) == b0);
    void *s = sbrk(8192);
    CHECK((uintptr_t)s == b0);
    CHECK((uintptr_t)sbrk(0) == b0 + 8192);
    memset(s, 1, 8192);
    CHECK(sbrk(-8192) == (void *)(b0 + 8192));
    CHECK((uintptr_t)sbrk(0) == b0);

    printf("%d failures\n", failures);
    return failures ? 1 : 0;
}
