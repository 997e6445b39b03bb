/* paging_test.c - unit tests for the page-table builder (pt_*), a plain buffer as guest memory. */
#include "vmm/paging.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "test_util.h"
#include "vmm/abi.h"

#define MEM_SIZE (64ULL << 20)
#define POOL_START (16ULL << 20) /* the pool lies inside guest memory, away from 0 */
#define POOL_END (32ULL << 20)
#define KIB4 PAGE_SIZE
#define MIB2 (1ULL << 21)
#define GIB1 (1ULL << 30)
#define GIB512 (1ULL << 39)
#define TIB1 (1ULL << 40)
#define KERNEL_HALF 0xffffff8000000000ULL
#define RWU (PTE_P | PTE_W | PTE_U)

static uint8_t *mem;

/* A fresh, zeroed guest memory and a page table whose pool holds `pool_pages` pages. */
static void setup(struct pt *pt, uint64_t pool_pages)
{
	memset(mem, 0, MEM_SIZE);
	ASSERT_EQ(pt_init(pt, mem, POOL_START, POOL_START + pool_pages * PAGE_SIZE), 0);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_init(void)
{
	struct pt pt;

	setup(&pt, 16);
	ASSERT_EQ(pt.root, POOL_START);
	ASSERT_EQ(pt.mem, mem);
	ASSERT_EQ(pt_pool_used(&pt), PAGE_SIZE);
	/* No room for the PML4. */
	ASSERT_EQ(pt_init(&pt, mem, POOL_START, POOL_START), -ENOMEM);
	ASSERT_EQ(pt_init(&pt, mem, POOL_START, POOL_START + PAGE_SIZE - 1), -ENOMEM);
	ASSERT_EQ(pt_init(&pt, mem, POOL_START, POOL_START + PAGE_SIZE), 0);
}

static void test_map_one_page(void)
{
	struct pt pt;
	uint64_t va = 0x400000, pa = 0x200000;

	setup(&pt, 16);
	ASSERT_EQ(pt_set(&pt, va, pa, KIB4, RWU), 0);
	ASSERT_EQ(pt_lookup(&pt, va), pa | RWU | PTE_A | PTE_D);
	ASSERT_EQ(pt_lookup(&pt, va + 0x123), pa | RWU | PTE_A | PTE_D); /* any byte of the page */
	ASSERT_EQ(pt_lookup(&pt, va - KIB4), 0);
	ASSERT_EQ(pt_lookup(&pt, va + KIB4), 0);
	/* PML4, PDPT, PD, PT: all from the pool. */
	ASSERT_EQ(pt_pool_used(&pt), 4 * PAGE_SIZE);
	uint64_t pml4e = ((uint64_t *)(mem + pt.root))[0];
	TEST_ASSERT((pml4e & RWU) == RWU, "upper entries permissive: %#llx", (unsigned long long)pml4e);
	uint64_t pdpt = pml4e & PTE_ADDR_MASK;
	TEST_ASSERT(pdpt >= POOL_START && pdpt < POOL_START + 16 * PAGE_SIZE, "PDPT in the pool");

	/* The same mapping again changes nothing; other flags or address do. */
	ASSERT_EQ(pt_set(&pt, va, pa, KIB4, RWU), 0);
	ASSERT_EQ(pt_set(&pt, va, pa, KIB4, PTE_P | PTE_U | PTE_NX), 1);
	ASSERT_EQ(pt_lookup(&pt, va), pa | PTE_P | PTE_U | PTE_NX | PTE_A | PTE_D);
	ASSERT_EQ(pt_set(&pt, va, pa + KIB4, KIB4, PTE_P | PTE_U | PTE_NX), 1);
	ASSERT_EQ(pt_lookup(&pt, va) & PTE_ADDR_MASK, pa + KIB4);

	/* Unmap: present -> 1, then nothing left to change -> 0; tables stay. */
	ASSERT_EQ(pt_set(&pt, va, 0, KIB4, 0), 1);
	ASSERT_EQ(pt_lookup(&pt, va), 0);
	ASSERT_EQ(pt_set(&pt, va, 0, KIB4, 0), 0);
	/* Mapping over a not-present entry is not a change of a present one. */
	ASSERT_EQ(pt_set(&pt, va, pa, KIB4, RWU), 0);
	ASSERT_EQ(pt_pool_used(&pt), 4 * PAGE_SIZE);
	/* size 0 does nothing. */
	ASSERT_EQ(pt_set(&pt, 0x800000, pa, 0, RWU), 0);
	ASSERT_EQ(pt_pool_used(&pt), 4 * PAGE_SIZE);
}

/* Maps 4 pages straddling `boundary` on a fresh table; checks them and the tables used. */
static void check_straddle(uint64_t boundary, uint64_t tables)
{
	struct pt pt;
	uint64_t va = boundary - 2 * KIB4, pa = 0x1000000;

	setup(&pt, 16);
	ASSERT_EQ(pt_set(&pt, va, pa, 4 * KIB4, RWU), 0);
	for (uint64_t i = 0; i < 4; i++)
		ASSERT_EQ(pt_lookup(&pt, va + i * KIB4), (pa + i * KIB4) | RWU | PTE_A | PTE_D);
	ASSERT_EQ(pt_lookup(&pt, va - KIB4), 0);
	ASSERT_EQ(pt_lookup(&pt, va + 4 * KIB4), 0);
	ASSERT_EQ(pt_pool_used(&pt), tables * PAGE_SIZE);
	ASSERT_EQ(pt_set(&pt, va, 0, 4 * KIB4, 0), 1);
	for (uint64_t i = 0; i < 4; i++)
		ASSERT_EQ(pt_lookup(&pt, va + i * KIB4), 0);
}

static void test_boundaries(void)
{
	check_straddle(MIB2, 1 + 1 + 1 + 2); /* PML4, PDPT, PD, 2 PTs */
	check_straddle(GIB1, 1 + 1 + 2 + 2); /* 2 PDs */
	check_straddle(GIB512, 1 + 2 + 2 + 2); /* 2 PDPTs */
	check_straddle(KERNEL_HALF + GIB512 - GIB1, 1 + 1 + 2 + 2);
}

static void test_large_range(void)
{
	struct pt pt;
	uint64_t va = 3 * MIB2 - 8 * KIB4, size = 4 * MIB2 + 16 * KIB4, pa = 0x2000000;

	setup(&pt, 16);
	ASSERT_EQ(pt_set(&pt, va, pa, size, RWU), 0);
	for (uint64_t off = 0; off < size; off += KIB4)
		if (pt_lookup(&pt, va + off) != ((pa + off) | RWU | PTE_A | PTE_D)) {
			TEST_ASSERT(0, "wrong PTE at %#llx", (unsigned long long)(va + off));
			break;
		}
	ASSERT_EQ(pt_pool_used(&pt), (3 + 6) * PAGE_SIZE); /* PTs for 2 MiB regions 2..7 */
	/* Unmap a middle part: only it goes. */
	ASSERT_EQ(pt_set(&pt, va + MIB2, 0, MIB2, 0), 1);
	ASSERT_EQ(pt_lookup(&pt, va + MIB2 - KIB4) & PTE_ADDR_MASK, pa + MIB2 - KIB4);
	ASSERT_EQ(pt_lookup(&pt, va + MIB2), 0);
	ASSERT_EQ(pt_lookup(&pt, va + 2 * MIB2 - KIB4), 0);
	ASSERT_EQ(pt_lookup(&pt, va + 2 * MIB2) & PTE_ADDR_MASK, pa + 2 * MIB2);
}

static void test_unmap_huge_range_is_fast(void)
{
	struct pt pt;

	setup(&pt, 16);
	/* Nothing mapped: 1 TiB, then the whole kernel half, skip missing tables. */
	double t0 = now();
	ASSERT_EQ(pt_set(&pt, 0, 0, TIB1, 0), 0);
	ASSERT_EQ(pt_set(&pt, KERNEL_HALF, 0, GIB512, 0), 0);
	ASSERT_EQ(pt_pool_used(&pt), PAGE_SIZE);

	/* A few pages scattered over the range; unmapping all of it walks only their tables. */
	uint64_t vas[] = {0x1000, GIB1 + 0x5000, GIB512 + MIB2, TIB1 - KIB4};
	for (size_t i = 0; i < sizeof(vas) / sizeof(vas[0]); i++)
		ASSERT_EQ(pt_set(&pt, vas[i], 0x100000, KIB4, RWU), 0);
	uint64_t used = pt_pool_used(&pt);
	ASSERT_EQ(pt_set(&pt, 0, 0, TIB1, 0), 1);
	ASSERT_EQ(pt_set(&pt, 0, 0, TIB1, 0), 0);
	double dt = now() - t0;
	for (size_t i = 0; i < sizeof(vas) / sizeof(vas[0]); i++)
		ASSERT_EQ(pt_lookup(&pt, vas[i]), 0);
	ASSERT_EQ(pt_pool_used(&pt), used); /* unmapping allocates nothing */
	/* Walking 2^28 pages one by one takes seconds; skipping takes microseconds. */
	TEST_ASSERT(dt < 0.25, "unmapping 1 TiB took %.3f s", dt);
}

static void test_pool_exhaustion(void)
{
	struct pt pt;
	uint64_t pool_end = POOL_START + 4 * PAGE_SIZE;

	setup(&pt, 4);
	memset(mem + pool_end, 0xaa, PAGE_SIZE); /* canary just past the pool */
	ASSERT_EQ(pt_set(&pt, 0x400000, 0x100000, KIB4, RWU), 0);
	ASSERT_EQ(pt_pool_used(&pt), 4 * PAGE_SIZE);
	/* Same PT: no allocation needed. */
	ASSERT_EQ(pt_set(&pt, 0x401000, 0x101000, KIB4, RWU), 0);
	/* Another 2 MiB region needs a PT: none left. */
	ASSERT_EQ(pt_set(&pt, 0x600000, 0x100000, KIB4, RWU), -ENOMEM);
	ASSERT_EQ(pt_lookup(&pt, 0x600000), 0);
	/* A range running out of its PT: the first part is done, then -ENOMEM. */
	ASSERT_EQ(pt_set(&pt, 0x5fe000, 0x100000, 4 * KIB4, RWU), -ENOMEM);
	ASSERT_EQ(pt_lookup(&pt, 0x5fe000) & PTE_ADDR_MASK, 0x100000);
	ASSERT_EQ(pt_lookup(&pt, 0x600000), 0);
	ASSERT_EQ(pt_pool_used(&pt), 4 * PAGE_SIZE);
	/* Unmapping still works, and so do lookups. */
	ASSERT_EQ(pt_set(&pt, 0, 0, GIB1, 0), 1);
	ASSERT_EQ(pt_lookup(&pt, 0x400000), 0);
	TEST_ASSERT(pt.pool_next <= pt.pool_end, "bump pointer past the pool");
	for (uint64_t i = 0; i < PAGE_SIZE; i++)
		if (mem[pool_end + i] != 0xaa) {
			TEST_ASSERT(0, "byte %llu past the pool written", (unsigned long long)i);
			break;
		}

	/* A pool with room for only part of the walk: upper tables, then -ENOMEM. */
	setup(&pt, 3);
	ASSERT_EQ(pt_set(&pt, 0x400000, 0x100000, KIB4, RWU), -ENOMEM);
	ASSERT_EQ(pt_lookup(&pt, 0x400000), 0);
	TEST_ASSERT(pt_pool_used(&pt) <= 3 * PAGE_SIZE, "used %llu", (unsigned long long)pt_pool_used(&pt));
}

static void test_kernel_half(void)
{
	struct pt pt;
	uint64_t top = 0xfffffffffffff000ULL;

	setup(&pt, 16);
	ASSERT_EQ(pt_set(&pt, KERNEL_HALF, 0x3000, 2 * KIB4, PTE_P | PTE_W | PTE_G), 0);
	ASSERT_EQ(pt_lookup(&pt, KERNEL_HALF), 0x3000 | PTE_P | PTE_W | PTE_G | PTE_A | PTE_D);
	ASSERT_EQ(pt_lookup(&pt, KERNEL_HALF + KIB4) & PTE_ADDR_MASK, 0x4000);
	TEST_ASSERT(((uint64_t *)(mem + pt.root))[511] & PTE_P, "PML4[511] present");
	ASSERT_EQ(((uint64_t *)(mem + pt.root))[0], 0);
	/* No alias in the lower half. */
	ASSERT_EQ(pt_lookup(&pt, 0), 0);
	ASSERT_EQ(pt_lookup(&pt, 0x00007f8000000000ULL), 0); /* top PML4 slot of the lower half */

	/* The very last page of the address space. */
	ASSERT_EQ(pt_set(&pt, top, 0x5000, KIB4, PTE_P), 0);
	ASSERT_EQ(pt_lookup(&pt, top), 0x5000 | PTE_P | PTE_A | PTE_D);
	ASSERT_EQ(pt_lookup(&pt, top + 0xfff) & PTE_ADDR_MASK, 0x5000);
	/* Unmapping up to the end of the address space terminates (no wrap-around). */
	ASSERT_EQ(pt_set(&pt, KERNEL_HALF, 0, GIB512, 0), 1);
	ASSERT_EQ(pt_lookup(&pt, top), 0);
	ASSERT_EQ(pt_lookup(&pt, KERNEL_HALF), 0);
	ASSERT_EQ(pt_set(&pt, top - GIB1 + KIB4, 0, GIB1, 0), 0);
}

static void test_lookup_unmapped(void)
{
	struct pt pt;
	uint64_t vas[] = {0, 0x1000, 0x400000, GIB1, GIB512, 0x00007ffffffff000ULL, KERNEL_HALF, 0xfffffffffffff000ULL};

	setup(&pt, 16);
	for (size_t i = 0; i < sizeof(vas) / sizeof(vas[0]); i++)
		ASSERT_EQ(pt_lookup(&pt, vas[i]), 0);
	ASSERT_EQ(pt_pool_used(&pt), PAGE_SIZE); /* lookups allocate nothing */
	ASSERT_EQ(pt_set(&pt, 0x400000, 0x100000, KIB4, RWU), 0);
	ASSERT_EQ(pt_lookup(&pt, 0x3ff000), 0); /* same PT */
	ASSERT_EQ(pt_lookup(&pt, 0x200000), 0); /* same PD, no PT */
	ASSERT_EQ(pt_lookup(&pt, GIB1 + 0x400000), 0); /* same PDPT, no PD */
	ASSERT_EQ(pt_lookup(&pt, GIB512 + 0x400000), 0); /* no PDPT */
	ASSERT_EQ(pt_pool_used(&pt), 4 * PAGE_SIZE);
}

static void test_any_present(void)
{
	struct pt pt;

	setup(&pt, 16);
	ASSERT_EQ(pt_any_present(&pt, 0, TIB1), 0); /* empty: whole missing tables skipped */
	ASSERT_EQ(pt_set(&pt, 0x400000, 0x100000, 2 * KIB4, RWU), 0);
	ASSERT_EQ(pt_any_present(&pt, 0x400000, KIB4), 1);
	ASSERT_EQ(pt_any_present(&pt, 0x401000, KIB4), 1);
	ASSERT_EQ(pt_any_present(&pt, 0x3ff000, KIB4), 0); /* just below */
	ASSERT_EQ(pt_any_present(&pt, 0x402000, MIB2), 0); /* just above, to the PT's end and on */
	ASSERT_EQ(pt_any_present(&pt, 0x3ff000, 2 * KIB4), 1); /* straddles the first page */
	ASSERT_EQ(pt_any_present(&pt, 0, GIB512), 1);
	ASSERT_EQ(pt_any_present(&pt, GIB1, TIB1), 0); /* beyond: other PDs and PDPTs */
	ASSERT_EQ(pt_set(&pt, 0x400000, 0, 2 * KIB4, 0), 1); /* unmapped again: tables stay */
	ASSERT_EQ(pt_any_present(&pt, 0, GIB1), 0);
	double t0 = now();
	ASSERT_EQ(pt_any_present(&pt, 0, 1ULL << 47), 0); /* the whole user half, quickly */
	double dt = now() - t0;
	TEST_ASSERT(dt < 0.25, "checking 128 TiB took %.3f s", dt);
}

int main(void)
{
	mem = calloc(1, MEM_SIZE);
	if (!mem) {
		perror("calloc");
		return 1;
	}
	RUN_TEST(test_init);
	RUN_TEST(test_map_one_page);
	RUN_TEST(test_boundaries);
	RUN_TEST(test_large_range);
	RUN_TEST(test_unmap_huge_range_is_fast);
	RUN_TEST(test_pool_exhaustion);
	RUN_TEST(test_kernel_half);
	RUN_TEST(test_lookup_unmapped);
	RUN_TEST(test_any_present);
	free(mem);
	return test_summary();
}
