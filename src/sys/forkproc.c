/* forkproc.c - fork(2): a child process with a copy of the parent's address space. */
#include <errno.h>

#include "sys/proc_impl.h"
#include "sys/spawn.h"

long forkproc_clone(struct proc *p, uint64_t flags, uint64_t stack, uint64_t ptid, uint64_t ctid, uint64_t tls)
{
	return -ENOSYS;
}
