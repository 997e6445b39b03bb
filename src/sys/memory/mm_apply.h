/* mm_apply.h - helpers of mm.c that exec.c uses too (private to src/sys). */
#ifndef SYS_MM_APPLY_H
#define SYS_MM_APPLY_H

#include "sys/proc_impl.h"

/* Records v and maps it with v->prot over zeroed memory, replacing what was there. */
int mm_map_fresh(struct proc *p, const struct vma *v);
/* Removes [addr, addr+size): no access, content dropped, bookkeeping forgotten. */
int mm_unmap(struct proc *p, uint64_t addr, uint64_t size);
/* Copies file bytes [off, off+size) of host_fd into guest memory at addr. */
int mm_fill_from_file(struct proc *p, int host_fd, uint64_t addr, uint64_t size, uint64_t off);

#endif
