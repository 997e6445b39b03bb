// Rights taken away take effect on memory the guest has already used: after mprotect to
// PROT_READ a write faults, after PROT_NONE a read does, after munmap too, and a page
// given its rights back is usable again.  Under a shadow MMU (kvm_pvm) the host's edits
// of the page tables are invisible to KVM until its translations are dropped (gmem_zap):
// without that, the first two went through.
// VARIANTS: static
// EXPECT_EXIT: 0
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mman.h>

#include "check.h"
#define CHECK CHECK_PLAIN

static sigjmp_buf jb;

static void on_segv(int sig)
{
    (void)sig;
    siglongjmp(jb, 1);
}

static int writes(volatile char *p)
{
    if (sigsetjmp(jb, 1))
        return 0;
    *p = 1;
    return 1;
}

static int reads(volatile char *p)
{
    if (sigsetjmp(jb, 1))
        return 0;
    (void)*p;
    return 1;
}

int main(void)
{
    signal(SIGSEGV, on_segv);
    volatile char *p = mmap(0, 2 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(p != MAP_FAILED);
    CHECK(writes(p) && writes(p + 4096)); /* both translated now */
    CHECK(mprotect((void *)p, 4096, PROT_READ) == 0);
    CHECK(!writes(p));
    CHECK(reads(p) && p[0] == 1);
    CHECK(writes(p + 4096)); /* the other page keeps its rights */
    CHECK(mprotect((void *)p, 4096, PROT_NONE) == 0);
    CHECK(!reads(p));
    CHECK(mprotect((void *)p, 4096, PROT_READ | PROT_WRITE) == 0);
    CHECK(writes(p) && p[0] == 1);
    CHECK(munmap((void *)p, 2 * 4096) == 0);
    CHECK(!reads(p) && !reads(p + 4096));
    printf("%d failures\n", failures);
    return failures ? 1 : 0;
}
