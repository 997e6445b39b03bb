/* paging.h - 4-level x86-64 page tables built by the host in a plain buffer (no ioctls).
 *
 * The tables live in guest-physical memory (`mem` is the host address of guest-physical 0)
 * and their pages come from a pool [pool_start, pool_end).  Keeping this free of KVM lets
 * unit tests run it on an ordinary buffer (tests/unit/paging_test.c).
 */
#ifndef VMM_PAGING_H
#define VMM_PAGING_H

#include <stdint.h>

struct pt {
	uint8_t *mem; /* host address of guest-physical 0 */
	uint64_t pool_start; /* guest-physical range the table pages come from */
	uint64_t pool_end;
	uint64_t pool_next; /* bump pointer; table pages are never freed (they are small) */
	uint64_t root; /* guest-physical address of the PML4 (CR3) */
	/* Called with the guest-physical address of every table entry written (may be NULL):
	 * a forked VM records them so a reset can undo them. */
	void (*on_write)(struct pt *pt, uint64_t gpa);
};

/* Allocates the PML4.  The pool must read as zero.  Returns 0 or -ENOMEM. */
int pt_init(struct pt *pt, uint8_t *mem, uint64_t pool_start, uint64_t pool_end);

/* Points each 4 KiB page of [va, va+size) at pa.. with the given PTE flags (PTE_P etc.);
 * flags == 0 makes the pages not present.  va, pa, size page aligned.  Returns 1 if an entry
 * that was present changed (the TLB may hold it), 0 if not, or -ENOMEM (pool exhausted; the
 * range may be partly updated). */
int pt_set(struct pt *pt, uint64_t va, uint64_t pa, uint64_t size, uint64_t flags);

/* The leaf PTE for va (0 when not mapped). */
uint64_t pt_lookup(const struct pt *pt, uint64_t va);

/* Whether any page of [va, va+size) is present (missing tables are skipped whole). */
int pt_any_present(const struct pt *pt, uint64_t va, uint64_t size);

/* Bytes of the pool in use. */
uint64_t pt_pool_used(const struct pt *pt);

#endif
