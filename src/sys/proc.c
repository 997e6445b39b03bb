/* proc.c - the emulated process: creation, the run loop, crashes, and the syscalls that
 * act on the process as a whole (exit, arch_prctl, thread-area registration). */
#include <asm/prctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sys/memory/limits.h"
#include "sys/processes/process.h"
#include "sys/signals/signal.h"
#include "sys/processes/spawn.h"
#include "sys/ring.h"
#include "util/log.h"
#include "sys/syscalls.h"
#include "sys/table.h"
#include "sys/uaccess.h"
#include "vmm/abi.h"

#define GUEST_NOFILE 1024 /* RLIMIT_NOFILE's usual soft limit */

/* The guest's 0, 1 and 2 are dups of ours, so it can close them without closing ours; one
 * that kvmserver was started without stays closed (main.c put /dev/null on ours, so that
 * none of kvmserver's own fds lands there). */
static int install_stdio(struct proc *p)
{
	for (int fd = 0; fd < 3; fd++) {
		if (p->cfg.closed_stdio & (1u << fd))
			continue;
		int h = fcntl(fd, F_DUPFD_CLOEXEC, 3);
		if (h < 0)
			h = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (h < 0)
			return -errno;
		int err = fdtab_install(&p->fdt, fd, h, FD_FILE, false);
		if (err < 0)
			return err;
	}
	return 0;
}

/* The guest's umask is its own (p->id.umask, which starts as kvmserver's was), applied by the
 * calls that create files (fs.c, dir.c, net.c): the host's is shared by every worker
 * thread, so it is cleared once, at the first process, and never changed again. */
static mode_t umask_at_start(void)
{
	static bool read;
	static mode_t m;
	if (!read) {
		m = umask(0);
		read = true;
	}
	return m;
}

int proc_create(struct proc **out, const struct proc_config *cfg)
{
	struct proc *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->cfg = *cfg;
	p->cfg.policy = cfg->policy;
	p->id.umask = umask_at_start();
	if (cfg->cwd)
		snprintf(p->id.cwd, sizeof(p->id.cwd), "%s", cfg->cwd);
	else if (!getcwd(p->id.cwd, sizeof(p->id.cwd)))
		snprintf(p->id.cwd, sizeof(p->id.cwd), "/");
	struct vm_config vcfg = {.user_size = cfg->user_size};
	int err = vm_create(&p->vm, &vcfg);
	if (err) {
		free(p);
		return err;
	}
	vma_init(&p->mm, cfg->user_size);
	fdtab_init(&p->fdt, GUEST_NOFILE);
	p->id.pid = getpid();
	cred_init(&p->id.cred);
	uaccess_init();
	err = sched_init(p);
	if (!err)
		err = install_stdio(p);
	if (err) {
		proc_destroy(p);
		return err;
	}
	*out = p;
	return 0;
}

void proc_destroy(struct proc *p)
{
	if (!p)
		return;
	spawn_vfork_abandon(p);
	if (p->fam.pt) {
		/* Its children are orphaned; its own entry goes (no parent waits for it). */
		process_exited(p->fam.pt, 0);
		p->fam.pt = NULL;
	}
	ring_stop(p);
	if (p->srv.await_ep1)
		close(p->srv.await_ep1 - 1);
	fdtab_fini(&p->fdt);
	sched_fini(p);
	vma_fini(&p->mm);
	net_unix_names_free(p);
	vm_destroy(p->vm);
	free(p);
}

int proc_exit_code(const struct proc *p)
{
	return p->end.exit_code;
}

const struct proc_crash *proc_crash(const struct proc *p)
{
	return &p->end.crash;
}

const struct vm_stats *proc_vm_stats(const struct proc *p)
{
	return vm_stats(p->vm);
}

const char *proc_syscall_name(uint64_t nr, char *buf, unsigned size)
{
	return sys_name(nr, buf, size);
}

void proc_describe_crash(const struct proc *p, char *buf, unsigned size)
{
	const struct vm_fault *f = &p->end.crash.fault;
	if (f->vector == VM_FAULT_SIGNAL)
		snprintf(buf, size, "the program raised %s with no handler",
		         sigabbrev_np(p->end.crash.signal) ?: "a signal");
	else if (f->vector == X86_EXC_PF)
		snprintf(buf, size, "%s (%s%s) at address 0x%llx, rip 0x%llx", vm_vector_name(f->vector),
		         f->error & PF_ERR_I   ? "exec"
		         : f->error & PF_ERR_W ? "write"
		                               : "read",
		         f->error & PF_ERR_P ? ", protection" : ", not mapped", (unsigned long long)f->addr,
		         (unsigned long long)f->rip);
	else
		snprintf(buf, size, "%s%s, rip 0x%llx", vm_vector_name(f->vector),
		         f->user ? "" : " in the guest trampoline", (unsigned long long)f->rip);
}

static void handle_syscall(struct proc *p)
{
	const struct kvm_regs *r = vm_regs(p->vm);
	struct sys_args a = {r->rax, {r->rdi, r->rsi, r->rdx, r->r10, r->r8, r->r9}};
	if (vm_ring_on(p->vm)) {
		struct kvm_regs user;
		vm_save_user_state(p->vm, &user);
		ring_after_trap(p, a.nr, user.rip);
	}
	long ret = sys_dispatch(p, &a);
	if (ret != SYS_RESUMED)
		vm_regs(p->vm)->rax = (uint64_t)ret;
}

/* Why the run stops: an exit is for good, a server verdict is taken once. */
static enum proc_end take_stop(struct proc *p)
{
	enum proc_end stop = p->end.stop;
	if (stop != PROC_EXITED)
		p->end.stop = 0;
	return stop;
}

static enum proc_end run_loop(struct proc *p)
{
	for (;;) {
		/* The VM's ring thread (after an exec in place too: a new VM). */
		if (!p->ring && vm_ring_on(p->vm) && ring_start(p))
			return PROC_ERROR;
		/* Signals: the host's, the interval timer's, and any pending one the thread may
		 * take. */
		if (vm_signals_pending())
			signal_take_host(p);
		if (p->sig.itimer_ns)
			itimer_fire(p, vm_now_ns());
		if (p->sig.cpu_itimer_check_ns)
			itimer_cpu_fire(p, vm_now_ns());
		process_take_signals(p);
		if (p->thr.cur->pending & ~p->thr.cur->sigmask) {
			int sig = signal_deliver_pending(p);
			if (sig && spawn_in_vfork_child(p)) {
				spawn_vfork_child_ended(p, sig); /* the parent goes on */
				continue;
			}
			if (sig) {
				memset(&p->end.crash, 0, sizeof(p->end.crash));
				p->end.crash.signal = sig;
				p->end.crash.fault.what = "killed by a signal";
				p->end.crash.fault.vector = VM_FAULT_SIGNAL;
				return PROC_CRASHED;
			}
		}
		struct vm_fault f;
		switch (vm_run(p->vm, &f)) {
		case VM_EXIT_SYSCALL:
			/* Before the call runs: a request over its memory limit sends nothing more. */
			if (p->srv.max_dirty_pages && limits_memory_exceeded(p))
				return PROC_MEMORY_LIMIT;
			handle_syscall(p);
			if (p->end.stop) /* the one way a handler stops the run (proc_impl.h) */
				return take_stop(p);
			break;
		case VM_EXIT_FAULT: {
			int sig = fault_siginfo(&f).sig;
			if (p->cfg.verbose) {
				char desc[200];
				p->end.crash.fault = f;
				proc_describe_crash(p, desc, sizeof(desc));
				log_msg("thread %d: %s (%s)", p->thr.cur->tid, desc, sigabbrev_np(sig) ?: "signal");
			}
			if (f.user && signal_fault(p, sig, &f))
				break;
			if (spawn_in_vfork_child(p)) {
				spawn_vfork_child_ended(p, sig);
				break;
			}
			p->end.crash.fault = f;
			p->end.crash.signal = sig;
			return PROC_CRASHED;
		}
		case VM_EXIT_RING_DONE:
			/* The ring thread ran a call and left something for the run loop. */
			if (p->end.stop)
				return take_stop(p);
			break;
		case VM_EXIT_TIMEOUT: return PROC_TIMEOUT;
		case VM_EXIT_TICK:
			if (p->end.stop) /* a ring call's verdict, the guest out of the trampoline */
				return take_stop(p);
			if (p->srv.max_dirty_pages && limits_memory_exceeded(p))
				return PROC_MEMORY_LIMIT;
			sched_tick(p);
			break;
		case VM_EXIT_ERROR: p->end.crash.fault = f; return PROC_ERROR;
		}
	}
}

/* The signals `kill PID` to kvmserver passes on to the guest while the program runs as a
 * program (until it first waits for a connection): the ones a program or its user sends
 * to ask something of it.  Once serving, kvmserver's own defaults apply (it stops). */
#define FORWARDED_SIGNALS                                                                                              \
	((1ULL << (SIGHUP - 1)) | (1ULL << (SIGINT - 1)) | (1ULL << (SIGQUIT - 1)) | (1ULL << (SIGTERM - 1)) |         \
	 (1ULL << (SIGUSR1 - 1)) | (1ULL << (SIGUSR2 - 1)))

enum proc_end proc_run(struct proc *p, uint64_t deadline_ns)
{
	if (vm_set_deadline(p->vm, deadline_ns))
		return PROC_ERROR;
	bool forward = p->srv.mode == PROC_MODE_BOOT;
	if (forward)
		vm_forward_signals(FORWARDED_SIGNALS);
	cpuclock_run_begin(p);
	enum proc_end end = run_loop(p);
	cpuclock_run_end(p);
	if (forward)
		vm_forward_signals(0);
	return end;
}

long sys_exit(struct proc *p, const struct sys_args *a)
{
	if (spawn_in_vfork_child(p))
		return spawn_vfork_child_ended(p, (int)(a->a[0] & 0xff) << 8);
	return sched_exit_thread(p, (int)a->a[0]);
}

long sys_exit_group(struct proc *p, const struct sys_args *a)
{
	if (spawn_in_vfork_child(p))
		return spawn_vfork_child_ended(p, (int)(a->a[0] & 0xff) << 8);
	p->end.stop = PROC_EXITED;
	p->end.exit_code = (int)(a->a[0] & 0xff);
	return SYS_RESUMED;
}

long sys_arch_prctl(struct proc *p, const struct sys_args *a)
{
	switch (a->a[0]) {
	case ARCH_SET_FS:
		/* A non-canonical base would fail the VM entry; Linux refuses it too. */
		if (a->a[1] >= (1ULL << 47))
			return -EPERM;
		return vm_set_fs_base(p->vm, a->a[1]);
	case ARCH_GET_FS: {
		uint64_t fs = vm_fs_base(p->vm);
		return copy_to_guest(p, a->a[1], &fs, sizeof(fs));
	}
	default: return -EINVAL;
	}
}

long sys_set_tid_address(struct proc *p, const struct sys_args *a)
{
	p->thr.cur->clear_child_tid = a->a[0];
	return p->thr.cur->tid;
}

long sys_set_robust_list(struct proc *p, const struct sys_args *a)
{
	if (a->a[1] != 24) /* sizeof(struct robust_list_head) */
		return -EINVAL;
	p->thr.cur->robust_list = a->a[0];
	p->thr.cur->robust_len = a->a[1];
	return 0;
}

/* rseq: registration only.  The vCPU never migrates and a thread is never preempted in
 * the middle of user code, so no critical section can be interrupted: the kernel's part
 * reduces to publishing cpu_id = 0 (include/uapi/linux/rseq.h). */
long sys_rseq(struct proc *p, const struct sys_args *a)
{
	uint64_t addr = a->a[0];
	uint32_t len = (uint32_t)a->a[1];
	int flags = (int)a->a[2];
	if (flags & ~1) /* RSEQ_FLAG_UNREGISTER */
		return -EINVAL;
	if (flags & 1) {
		if (addr != p->thr.cur->rseq_addr)
			return -EINVAL;
		p->thr.cur->rseq_addr = 0;
		return 0;
	}
	if (p->thr.cur->rseq_addr)
		return addr == p->thr.cur->rseq_addr ? -EBUSY : -EINVAL;
	if (len < 32 || (addr & 31))
		return -EINVAL;
	uint32_t ids[2] = {0, 0}; /* cpu_id_start, cpu_id */
	int err = copy_to_guest(p, addr, ids, sizeof(ids));
	if (err)
		return err;
	p->thr.cur->rseq_addr = addr;
	return 0;
}

long sys_prctl(struct proc *p, const struct sys_args *a)
{
	switch ((int)a->a[0]) {
	case PR_SET_NAME: {
		char name[16];
		long n = strncpy_from_guest(p, name, a->a[1], sizeof(name));
		if (n == -EFAULT)
			return n;
		name[sizeof(name) - 1] = 0; /* longer names are truncated, as Linux */
		memcpy(p->id.comm, name, sizeof(name));
		return 0;
	}
	case PR_GET_NAME: return copy_to_guest(p, a->a[1], p->id.comm, sizeof(p->id.comm));
	case PR_SET_VMA: return 0; /* naming anonymous memory: bookkeeping only on Linux too */
	case PR_GET_DUMPABLE: return 1;
	case PR_SET_DUMPABLE: return a->a[1] <= 1 ? 0 : -EINVAL;
	case PR_SET_PDEATHSIG: return a->a[1] <= 64 ? process_set_pdeathsig(p, (int)a->a[1]) : -EINVAL;
	case PR_GET_PDEATHSIG: {
		int sig = process_pdeathsig(p);
		return copy_to_guest(p, a->a[1], &sig, sizeof(sig));
	}
	case PR_SET_NO_NEW_PRIVS: return a->a[1] == 1 ? 0 : -EINVAL; /* already true: nothing can gain privileges */
	case PR_GET_NO_NEW_PRIVS: return 1;
	case PR_CAPBSET_READ: return 0;
	default: return -EINVAL;
	}
}

/* Only the default personality exists here; 0xffffffff queries it. */
long sys_personality(struct proc *p, const struct sys_args *a)
{
	uint32_t persona = (uint32_t)a->a[0];
	return persona == 0xffffffffu || persona == 0 ? 0 : -EINVAL;
}
