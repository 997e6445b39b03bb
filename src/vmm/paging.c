/* paging.c - build and query 4-level page tables (Intel SDM vol. 3, 4.5 "4-level paging"). */
#include <errno.h>
#include <string.h>

#include "vmm/abi.h"
#include "vmm/paging.h"

/* Index of va at each level: PML4 bits 47:39, PDPT 38:30, PD 29:21, PT 20:12 (SDM 4.5.4). */
static unsigned pt_index(uint64_t va, int level)
{
	return (va >> (PAGE_SHIFT + 9 * level)) & (PT_ENTRIES - 1);
}

static uint64_t *pt_table(const struct pt *pt, uint64_t gpa)
{
	return (uint64_t *)(pt->mem + gpa);
}

static int pt_alloc(struct pt *pt, uint64_t *gpa)
{
	if (pt->pool_next + PAGE_SIZE > pt->pool_end)
		return -ENOMEM;
	*gpa = pt->pool_next;
	pt->pool_next += PAGE_SIZE;
	return 0;
}

int pt_init(struct pt *pt, uint8_t *mem, uint64_t pool_start, uint64_t pool_end)
{
	pt->mem = mem;
	pt->pool_start = pool_start;
	pt->pool_end = pool_end;
	pt->pool_next = pool_start;
	pt->on_write = NULL;
	return pt_alloc(pt, &pt->root);
}

/*
 * Upper-level entries are maximally permissive (present, writable, user, accessed): the
 * effective rights are the AND over all levels (SDM 4.6), so the leaf alone decides.  A, and
 * D on leaves, are preset so the CPU never writes page tables: in a forked VM such a write
 * would copy a page-table page for nothing.
 */
#define PT_UPPER_FLAGS (PTE_P | PTE_W | PTE_U | PTE_A)

/* The leaf PTE slot for va, creating intermediate tables when `create`.  NULL if absent,
 * with *span set to the bytes covered by the missing table (so callers can skip it). */
static uint64_t *pt_leaf(struct pt *pt, uint64_t va, int create, int *err, uint64_t *span)
{
	uint64_t table = pt->root;
	for (int level = 3; level > 0; level--) {
		uint64_t *entry = &pt_table(pt, table)[pt_index(va, level)];
		if (!(*entry & PTE_P)) {
			if (!create) {
				*span = 1ULL << (PAGE_SHIFT + 9 * level);
				return NULL;
			}
			uint64_t fresh;
			*err = pt_alloc(pt, &fresh);
			if (*err)
				return NULL;
			*entry = fresh | PT_UPPER_FLAGS;
			if (pt->on_write)
				pt->on_write(pt, (uint64_t)((uint8_t *)entry - pt->mem));
		}
		table = *entry & PTE_ADDR_MASK;
	}
	return &pt_table(pt, table)[pt_index(va, 0)];
}

/* The offset from va of the end of the missing table (of `span` bytes) that covers
 * va + off: where a walk over an unmapped stretch goes on. */
static uint64_t past_missing(uint64_t va, uint64_t off, uint64_t span)
{
	return ((va + off) & ~(span - 1)) + span - va;
}

int pt_set(struct pt *pt, uint64_t va, uint64_t pa, uint64_t size, uint64_t flags)
{
	int err = 0, changed = 0;
	uint64_t off = 0;
	while (off < size) {
		uint64_t span = PAGE_SIZE;
		uint64_t *pte = pt_leaf(pt, va + off, flags != 0, &err, &span);
		if (err)
			return err;
		if (pte) {
			uint64_t val = flags ? ((pa + off) | flags | PTE_A | PTE_D) : 0;
			if ((*pte & PTE_P) && *pte != val)
				changed = 1;
			if (*pte != val && pt->on_write)
				pt->on_write(pt, (uint64_t)((uint8_t *)pte - pt->mem));
			*pte = val;
			off += PAGE_SIZE;
		} else {
			/* Nothing mapped and nothing to map: skip the whole span of the missing
			 * table rather than walking every page of a large PROT_NONE range. */
			off = past_missing(va, off, span);
		}
	}
	return changed;
}

uint64_t pt_lookup(const struct pt *pt, uint64_t va)
{
	int err = 0;
	uint64_t span;
	uint64_t *pte = pt_leaf((struct pt *)pt, va, 0, &err, &span);
	return pte ? *pte : 0;
}

int pt_any_present(const struct pt *pt, uint64_t va, uint64_t size)
{
	int err = 0;
	for (uint64_t off = 0; off < size;) {
		uint64_t span = PAGE_SIZE;
		const uint64_t *pte = pt_leaf((struct pt *)pt, va + off, 0, &err, &span);
		if (pte && (*pte & PTE_P))
			return 1;
		off = pte ? off + PAGE_SIZE : past_missing(va, off, span);
	}
	return 0;
}

uint64_t pt_pool_used(const struct pt *pt)
{
	return pt->pool_next - pt->pool_start;
}
