/* limits.h - per-process resource limits beyond Linux's: --max-address-space (the total
 * size of the guest's mappings) and --max-request-memory (pages a request VM may dirty). */
#ifndef SYS_LIMITS_H
#define SYS_LIMITS_H

#include <stdbool.h>
#include <stdint.h>

struct proc;

/* May [start, start+size) be mapped (replacing what overlaps it) while `freed` bytes
 * elsewhere are unmapped?  Always true without --max-address-space. */
bool limits_space_ok(struct proc *p, uint64_t start, uint64_t size, uint64_t freed);
/* Has the request VM dirtied more than its limit?  Reads the dirty log at most every
 * LIMITS_CHECK_NS of host time, so it is cheap to call at every exit. */
bool limits_memory_exceeded(struct proc *p);

#endif
