/* limits.c - --max-address-space and --max-request-memory.
 *
 * The address-space limit is Linux's RLIMIT_AS applied to the guest's mappings: mmap,
 * brk and mremap fail with ENOMEM (brk: the old break) past it, so a runtime sees the
 * failure it knows how to handle.  Loading the program is not limited by it.
 *
 * The request-memory limit counts the pages a request VM dirtied since its fork or last
 * reset (vm_dirty_count: the pages the reset will restore).  Guest writes to memory do not
 * exit to the host, so the count is read at VM exits (system calls, scheduler ticks), at
 * most once per LIMITS_CHECK_NS: a request that dirties too much is stopped at its next
 * system call after crossing the limit - before it can answer - or at the latest when its
 * connection ends.
 */
#include "sys/memory/limits.h"
#include "sys/proc_impl.h"
#include "vmm/abi.h"

#define LIMITS_CHECK_NS (1000 * 1000ULL)

bool limits_space_ok(struct proc *p, uint64_t start, uint64_t size, uint64_t freed)
{
	uint64_t limit = p->cfg.max_address_space;
	if (!limit)
		return true;
	uint64_t end = start + size, total = 0, overlap = 0;
	for (size_t i = 0; i < p->mm.len; i++) {
		const struct vma *v = &p->mm.v[i];
		total += v->end - v->start;
		uint64_t lo = v->start > start ? v->start : start, hi = v->end < end ? v->end : end;
		if (hi > lo)
			overlap += hi - lo;
	}
	uint64_t kept = total - overlap;
	kept = kept > freed ? kept - freed : 0;
	return kept + size <= limit;
}

void proc_set_memory_limit(struct proc *p, uint64_t bytes)
{
	p->srv.max_dirty_pages = (bytes + PAGE_SIZE - 1) / PAGE_SIZE;
	p->srv.dirty_checked_ns = 0;
}

bool limits_memory_exceeded(struct proc *p)
{
	if (!p->srv.max_dirty_pages)
		return false;
	uint64_t now = vm_now_ns();
	if (now - p->srv.dirty_checked_ns < LIMITS_CHECK_NS)
		return false;
	p->srv.dirty_checked_ns = now;
	uint64_t pages;
	if (vm_dirty_count(p->vm, &pages))
		return false;
	if (pages <= p->srv.max_dirty_pages)
		return false;
	p->srv.dirty_over = pages;
	return true;
}

uint64_t proc_memory_limit_pages(const struct proc *p)
{
	return p->srv.dirty_over;
}

void proc_set_connection_counter(struct proc *p, uint64_t *counter)
{
	p->srv.conn_counter = counter;
}
