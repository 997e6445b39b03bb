// munmap, a shrinking mremap and MADV_DONTNEED answered on the ring path (docs/design.md,
// "The ring path": the vCPU keeps spinning in the trampoline, no CR3 reload) must still
// take effect at once: the pages were just written, so the guest's TLB (and a shadow
// MMU's tables) hold them, and only the invalidation of the host pages behind them drops
// those translations.  Every round writes fresh mappings, unmaps them through libc's sites
// (rewritten from the second round on), and then touches them: each touch must fault
// (SIGSEGV, caught), memory mapped again at the same address must read zero, and a page
// given MADV_DONTNEED must read zero.
// VARIANTS: static static-pie
// KVMSERVER_OPTS: --syscall-path=ring
// EXPECT_EXIT: 0
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "check.h"
#define CHECK CHECK_ERRNO

#define PG 4096u
#define ROUNDS 200

static sigjmp_buf env;

static void on_segv(int sig)
{
    (void)sig;
    siglongjmp(env, 1);
}

// Whether reading the byte at p faults.
static int faults(volatile unsigned char *p)
{
    if (sigsetjmp(env, 1))
        return 1;
    (void)*p;
    return 0;
}

static void fill(unsigned char *p, size_t n, int v)
{
    memset(p, v, n);
    for (size_t i = 0; i < n; i += PG) // read back: the translations are in use
        if (p[i] != (unsigned char)v)
            printf("FAIL fill readback at %zu\n", i);
}

int main(void)
{
    struct sigaction sa = {.sa_handler = on_segv};
    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(SIGSEGV, &sa, NULL) == 0);
    int unmapped_faults = 0, shrunk_faults = 0, remapped_zero = 0, dontneed_zero = 0, brk_faults = 0;
    for (int r = 0; r < ROUNDS; r++) {
        // munmap of written pages
        unsigned char *p = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            break;
        fill(p, 4 * PG, 0xa5);
        munmap(p, 4 * PG);
        unmapped_faults += faults(p) && faults(p + 3 * PG);
        // the same address mapped again reads zero, not the old bytes
        unsigned char *again =
                mmap(p, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
        if (again == p)
            remapped_zero += again[0] == 0 && again[3 * PG + 7] == 0;
        if (again != MAP_FAILED)
            munmap(again, 4 * PG);

        // mremap shrinking written pages: the tail faults, the head keeps its bytes
        unsigned char *q = mmap(NULL, 8 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (q == MAP_FAILED)
            break;
        fill(q, 8 * PG, 0x5a);
        if (mremap(q, 8 * PG, 2 * PG, 0) == q)
            shrunk_faults += faults(q + 2 * PG) && faults(q + 7 * PG) && q[PG] == 0x5a;
        munmap(q, 2 * PG);

        // MADV_DONTNEED: written private anonymous memory reads zero afterwards
        unsigned char *d = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (d == MAP_FAILED)
            break;
        fill(d, 2 * PG, 0x3c);
        madvise(d, 2 * PG, MADV_DONTNEED);
        dontneed_zero += d[0] == 0 && d[PG + 1] == 0;
        munmap(d, 2 * PG);

        // the heap shrinking: the page above the new break faults
        unsigned char *top = sbrk(0);
        uintptr_t up = ((uintptr_t)top + PG - 1) & ~(uintptr_t)(PG - 1);
        if (sbrk((intptr_t)(up - (uintptr_t)top) + 2 * PG) == (void *)-1)
            break;
        fill((unsigned char *)up, 2 * PG, 0x77);
        if (brk((void *)up) == 0)
            brk_faults += faults((unsigned char *)up) && faults((unsigned char *)up + PG);
    }
    CHECK(unmapped_faults == ROUNDS);
    CHECK(remapped_zero == ROUNDS);
    CHECK(shrunk_faults == ROUNDS);
    CHECK(dontneed_zero == ROUNDS);
    CHECK(brk_faults == ROUNDS);
    printf("%s\n", failures ? "FAILED" : "all ok");
    return failures ? 1 : 0;
}
