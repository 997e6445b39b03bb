/* spawn.h - vfork, fork and execve: new guest processes (spawn.c, forkproc.c).  Private
 * to src/sys.  Not the request-VM fork of requestvm.c. */
#ifndef SYS_SPAWN_H
#define SYS_SPAWN_H

#include <stdbool.h>
#include <stdint.h>

struct proc;

/* clone/clone3 for anything but a thread (sched.c passes them on): vfork-like clones run
 * the child in place (spawn.c), the others fork (forkproc.c). */
long process_clone(struct proc *p, uint64_t flags, uint64_t stack, uint64_t ptid, uint64_t ctid, uint64_t tls);

/* Whether the vCPU is running a vfork child in its parent's memory (the scheduler then
 * switches to none of the parent's other threads). */
bool spawn_in_vfork_child(const struct proc *p);

/* The vfork child on the vCPU ended with wait status `wstatus` (exit, exit_group, a fatal
 * signal): the parent resumes.  Returns SYS_RESUMED. */
long spawn_vfork_child_ended(struct proc *p, int wstatus);

/* The VM is being put back (a request VM's reset) or destroyed while vfork children run
 * on it: each one ends as killed by SIGKILL and the process is the outermost parent again,
 * with its own fds and process-table entry; its registers are left to the caller. */
void spawn_vfork_abandon(struct proc *p);

/* fork(2): the child gets a copy of the parent's memory (forkproc.c). */
long forkproc_clone(struct proc *p, uint64_t flags, uint64_t stack, uint64_t ptid, uint64_t ctid, uint64_t tls);

struct fdtab;
/* dst: a table of dups of src's host fds (a child's fds are the same open files). */
int spawn_dup_fdtab(struct fdtab *dst, const struct fdtab *src);
/* Runs process c (with its process-table entry set) on a new host thread until it ends;
 * then its entry becomes a zombie and c is destroyed.  0 or -errno (c untouched). */
int spawn_start_process(struct proc *c);

#endif
