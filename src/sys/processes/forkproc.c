/* forkproc.c - fork(2) and clone without CLONE_VM: a child process with a copy of the
 * parent's address space, on its own host thread.  (Not the request-VM fork of requestvm.c,
 * whose copy-on-write relies on the template never running again: see docs/design.md.)
 *
 * The child is a new struct proc: a copy of the VM (vm_copy: memory, page tables, vCPU
 * state), of the mapping list, dups of the fd table, the signal dispositions, cwd, and
 * one thread: the caller, returning 0 from the call.  From a request VM the child is its
 * request's: vm_copy copies the VM's view (the template's memory and the pages the request
 * wrote), and the VM's reset ends it (process_end_children). */
#include <errno.h>
#include <linux/sched.h>
#include <stdlib.h>
#include <string.h>

#include "sys/processes/process.h"
#include "sys/proc_impl.h"
#include "sys/processes/spawn.h"
#include "sys/table.h"
#include "sys/uaccess.h"

/* Everything but the VM and the thread, from the parent. */
static int copy_process(struct proc *c, const struct proc *p)
{
	c->cfg = p->cfg;
	c->cfg.cwd = NULL;
	pid_t pid = c->id.pid;
	c->id = p->id; /* cwd, program, name, nice, credentials, umask, host names */
	c->id.pid = pid;
	/* Dispositions are inherited; interval timers are not (fork(2)). */
	memcpy(c->sig.sigactions, p->sig.sigactions, sizeof(c->sig.sigactions));
	c->vdso_addr = p->vdso_addr;
	/* Booting, a child may be the one that waits for connections first (a pre-fork
	 * server's worker: template.c).  A request VM's children run as programs. */
	c->srv.mode = p->srv.mode == PROC_MODE_BOOT ? PROC_MODE_BOOT : PROC_MODE_RUN;
	int err = vma_copy(&c->mm, &p->mm);
	if (!err)
		err = net_unix_names_copy(c, p);
	return err ? err : spawn_dup_fdtab(&c->fdt, &p->fdt);
}

long forkproc_clone(struct proc *p, uint64_t flags, uint64_t stack, uint64_t ptid, uint64_t ctid, uint64_t tls)
{
	struct proc *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	struct pt_entry *e = NULL;
	int pid = process_new_child(p, &e);
	int err = pid < 0 ? pid : 0;
	if (!err) {
		c->id.pid = pid;
		err = copy_process(c, p);
	}
	if (!err)
		err = vm_copy(p->vm, &c->vm);
	if (!err)
		err = sched_init(c); /* one thread, tid = pid */
	if (err) {
		if (e)
			process_discard(e);
		proc_destroy(c);
		return err == -ENOSYS ? -ENOSYS : err == -ENOMEM ? -ENOMEM : -EAGAIN;
	}
	/* The caller's thread, returning 0 (on its own stack if one was given). */
	struct thread *t = c->thr.cur, *pt = p->thr.cur;
	t->sigmask = pt->sigmask;
	t->altstack_sp = pt->altstack_sp;
	t->altstack_size = pt->altstack_size;
	t->altstack_flags = pt->altstack_flags;
	t->rseq_addr = pt->rseq_addr;
	t->clear_child_tid = (flags & CLONE_CHILD_CLEARTID) ? ctid : 0;
	struct kvm_regs regs;
	vm_save_user_state(c->vm, &regs);
	regs.rax = 0;
	if (stack)
		regs.rsp = stack;
	vm_load_user_state(c->vm, &regs);
	if (flags & CLONE_SETTLS)
		vm_set_fs_base(c->vm, tls);
	uint32_t tid = (uint32_t)pid;
	if (flags & CLONE_CHILD_SETTID)
		copy_to_guest(c, ctid, &tid, sizeof(tid));
	if (flags & CLONE_PARENT_SETTID) {
		copy_to_guest(p, ptid, &tid, sizeof(tid));
		copy_to_guest(c, ptid, &tid, sizeof(tid));
	}
	c->thr.next_tid = pid + 1;
	c->fam.pt = e;
	err = spawn_start_process(c);
	if (err) {
		c->fam.pt = NULL;
		proc_destroy(c);
		process_discard(e);
		return -EAGAIN;
	}
	return pid;
}
