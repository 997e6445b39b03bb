/* ring.c - the ring path's emulation side: which sites are rewritten, which calls the
 * host ring thread may run while the guest spins in the trampoline, the ring thread
 * itself, and --syscall-path=auto's choice (docs/design.md, "The ring path").
 *
 * The ring thread runs a call only while the vCPU thread is inside KVM_RUN (vm_ring_claim
 * takes the VM's lock), so the emulation stays single-threaded per process.  It never
 * touches the vCPU's registers: anything that would (parking, clone, signals, exits, a
 * server verdict) is answered RING_S_TRAP and taken by the vCPU thread as an ordinary
 * trap from the site.
 */
#include <asm/unistd.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sys/memory/limits.h"
#include "sys/processes/process.h"
#include "sys/ring.h"
#include "sys/hooks.h"
#include "sys/processes/spawn.h"
#include "sys/table.h"
#include "sys/threads/sched.h"
#include "util/log.h"
#include "vmm/layout.h"

/* How long the ring thread spins for the next call before it sleeps (vm_run wakes it at
 * the next entry into the guest), in pause loops (~25 ns each here): ~1 ms while the guest
 * runs (the guest's own page faults cost 30-45 us each here, and a sleeping ring thread
 * costs the next call a trap).  While the vCPU thread is in the host (a trap takes 30-125
 * us here) ~125 us: the guest usually comes back with its next call.
 * Bounded, so that a VM blocked in a host wait (a server waiting for a connection) costs
 * no CPU. */
#define RING_IDLE_SPINS 40000u
/* How long the ring thread waits for a call's fd before it lets the call trap (above). */
#define RING_WAIT_NS (1000 * 1000ULL)
#define RING_HOST_SPINS 5000u

/* Calls whose site stays a real `syscall`: they need the vCPU's registers or stack
 * exactly as the instruction leaves them, or never return there. */
static bool never_rewrite(uint64_t nr)
{
	switch (nr) {
	case __NR_rt_sigreturn:
	case __NR_clone:
	case __NR_clone3:
	case __NR_fork:
	case __NR_vfork:
	case __NR_execve:
	case __NR_execveat:
	case __NR_exit:
	case __NR_exit_group: return true;
	default: return false;
	}
}

/* Calls the ring thread may run: they read and write guest memory and host fds only, add
 * memory (brk, anonymous mmap: see ring_allowed), or drop it (munmap, a shrinking mremap,
 * MADV_DONTNEED: the host pages behind it are replaced, which drops their translations
 * from the running vCPU's TLB, vm_unmap_range).  Everything else (mprotect and the other
 * calls that change rights the guest's TLB holds; futex
 * waits, sleeps and other parking; signals; thread and process calls; ioctl, which may
 * wait for a terminal to drain) takes the trap.  Known gaps: an open of a FIFO and a
 * close with SO_LINGER can wait on the host (docs/design.md, "The ring path"). */
static bool ring_row(uint64_t nr)
{
	switch (nr) {
	case __NR_read:
	case __NR_write:
	case __NR_close:
	case __NR_fstat:
	case __NR_stat:
	case __NR_lstat:
	case __NR_newfstatat:
	case __NR_statx:
	case __NR_lseek:
	case __NR_pread64:
	case __NR_pwrite64:
	case __NR_readv:
	case __NR_writev:
	case __NR_access:
	case __NR_faccessat:
	case __NR_faccessat2:
	case __NR_open:
	case __NR_openat:
	case __NR_readlink:
	case __NR_readlinkat:
	case __NR_getdents64:
	case __NR_getcwd:
	case __NR_dup:
	case __NR_dup2:
	case __NR_dup3:
	case __NR_pipe2:
	case __NR_getpid:
	case __NR_gettid:
	case __NR_getppid:
	case __NR_getuid:
	case __NR_geteuid:
	case __NR_getgid:
	case __NR_getegid:
	case __NR_gettimeofday:
	case __NR_time:
	case __NR_clock_gettime:
	case __NR_clock_getres:
	case __NR_getrandom:
	case __NR_uname:
	case __NR_getrlimit:
	case __NR_prlimit64:
	case __NR_sched_getaffinity:
	case __NR_socket:
	case __NR_setsockopt:
	case __NR_getsockopt:
	case __NR_getsockname:
	case __NR_getpeername:
	case __NR_sendto:
	case __NR_recvfrom:
	case __NR_sendmsg:
	case __NR_recvmsg:
	case __NR_shutdown:
	case __NR_accept:
	case __NR_accept4:
	case __NR_epoll_create1:
	case __NR_epoll_ctl:
	case __NR_epoll_wait:
	case __NR_poll:
	case __NR_fcntl:
	case __NR_rt_sigprocmask:
	case __NR_rt_sigaction:
	case __NR_brk:
	case __NR_mmap:
	case __NR_munmap:
	case __NR_mremap:
	case __NR_madvise:
	case __NR_ioctl: return true;
	default: return false;
	}
}

/* Would the call wait?  Then it is the scheduler's (park, signals, deadlines): trap.  A
 * call that writes to a blocking fd may block part way even when the fd polls writable,
 * so those trap too. */
static bool would_block(struct proc *p, const struct sys_args *a)
{
	const struct sys_wait *w = wait_row(a->nr);
	if (w->how == WH_NONE)
		return false;
	if (w->how != WH_FD && w->how != WH_ACCEPT && w->how != WH_POLL && w->how != WH_EPOLL)
		return true;
	if ((a->nr == __NR_recvfrom || a->nr == __NR_recvmsg) && (a->a[a->nr == __NR_recvfrom ? 3 : 2] & MSG_WAITALL))
		return true;
	struct wait_req req;
	if (!wait_decode(p, a, &req) || req.timeout_ns == 0)
		return false;
	if (w->how == WH_FD && w->events == WAIT_OUT)
		return true;
	struct pollfd fds[WAIT_MAX_FDS];
	for (int i = 0; i < req.n; i++)
		fds[i] = (struct pollfd){.fd = req.host_fd[i], .events = req.events[i]};
	if (req.n == 0)
		return true;
	if (poll(fds, (nfds_t)req.n, 0) > 0)
		return false;
	/* Not ready yet.  No other thread needs the vCPU and no timer signal can come: wait a
	 * little here rather than trap (a trap costs 4 hypervisor entries; a request's bytes
	 * come within microseconds of its connection).  The guest spins meanwhile.  Waits
	 * never end early; one that does not end here goes on as a trap, at most
	 * RING_WAIT_NS (or half its own timeout) late. */
	if (sched_should_park(p))
		return true;
	uint64_t budget = RING_WAIT_NS;
	if (req.timeout_ns > 0 && (uint64_t)req.timeout_ns / 2 < budget)
		budget = (uint64_t)req.timeout_ns / 2;
	struct timespec ts = {0, (long)budget};
	return ppoll(fds, (nfds_t)req.n, &ts, NULL) <= 0;
}

static bool signal_due(struct proc *p)
{
	process_take_signals(p);
	return (p->thr.cur->pending & ~p->thr.cur->sigmask) || vm_signals_pending() ||
	       (p->sig.itimer_ns && vm_now_ns() >= p->sig.itimer_ns);
}

static bool ring_allowed(struct proc *p, const struct sys_args *a)
{
	if (a->nr >= SYS_TABLE_SIZE || !ring_row(a->nr) || !sys_table[a->nr].fn)
		return false;
	if (a->nr == __NR_fcntl && (a->a[1] == F_SETLKW || a->a[1] == F_OFD_SETLKW))
		return false; /* retried by the scheduler */
	/* Memory: only new private anonymous memory (and the heap's break).  Growing adds
	 * page-table entries that were not present, which no TLB holds and a shadow MMU
	 * walks afresh at the first touch, so the spinning vCPU may go on; unmapping drops
	 * the translations with the host pages (vm_unmap_range); any other change that takes
	 * rights away sets the VM's TLB flush and is answered DONE_TRAP (run_one). */
	if (a->nr == __NR_mmap && (!(a->a[3] & MAP_ANONYMOUS) || (a->a[3] & MAP_TYPE) != MAP_PRIVATE))
		return false;
	/* ioctl: the fd flags and the byte count only (a terminal's may wait to drain). */
	if (a->nr == __NR_ioctl && a->a[1] != FIONBIO && a->a[1] != FIOCLEX && a->a[1] != FIONCLEX &&
	    a->a[1] != FIONREAD)
		return false;
	if (spawn_in_vfork_child(p) || !sys_serve_ring_ok(p, a) || signal_due(p))
		return false;
	if (p->srv.max_dirty_pages && limits_memory_exceeded(p))
		return false; /* the trap path reports it */
	return !would_block(p, a);
}

static void run_one(struct proc *p, const struct vm_ring_req *req)
{
	struct sys_args a = {req->nr, {req->a[0], req->a[1], req->a[2], req->a[3], req->a[4], req->a[5]}};
	if (!req->site_ok || !ring_allowed(p, &a)) {
		vm_ring_answer(p->vm, req, RING_S_TRAP, 0);
		return;
	}
	long ret = sys_dispatch_ring(p, &a);

	/* The run loop must look: a verdict, an exit, a signal to deliver; new mappings that
	 * took rights away (the TLB flush is the vCPU thread's, on its way back in). */
	bool look = p->end.stop || (p->thr.cur->pending & ~p->thr.cur->sigmask);
	if (p->end.stop == PROC_CONN_DONE && !vm_tlb_flush_pending(p->vm) && sys_serve_ring_turnover(p, req))
		return; /* the next request begun under the guest (requestvm.c) */
	if (vm_tlb_flush_pending(p->vm))
		vm_ring_answer(p->vm, req, RING_S_DONE_TRAP, ret);
	else if (look)
		vm_ring_answer_held(p->vm, req, ret);
	else
		vm_ring_answer(p->vm, req, RING_S_DONE, ret);
}

static __thread bool t_on_ring;

bool sys_on_ring_thread(void)
{
	return t_on_ring;
}

struct ring_thread {
	pthread_t th;
	struct proc *p;
	_Atomic bool stop;
};

static void *ring_main(void *arg)
{
	struct ring_thread *rt = arg;
	struct proc *p = rt->p;
	struct vm *vm = p->vm;
	/* Idleness is counted in spins, not time: a spinner the host descheduled was not
	 * idle, and on a busy machine would otherwise fall asleep at every preemption. */
	unsigned idle = 0, host = 0;
	bool served = false; /* a call since the vCPU last entered the guest */
	t_on_ring = true;
	vm_ring_attach(vm);
	vm_ring_set_awake(vm, true);
	while (!atomic_load_explicit(&rt->stop, memory_order_relaxed)) {
		struct vm_ring_req req;
		if (vm_ring_posted(vm) && vm_ring_claim(vm, &req)) {
			run_one(p, &req);
			idle = host = 0;
			served = true;
			continue;
		}
		if (vm_reset_help(vm))
			continue; /* the vCPU thread's reset shared its copying (cow.c) */
		/* Idle: the guest runs and posts nothing for RING_IDLE_SPINS after a call, or
		 * the vCPU thread is in the host (a trap, a blocking call) or on its way into
		 * the guest (an entry takes 20-40 us here) for RING_HOST_SPINS. */
		if (vm_ring_guest_running(vm)) {
			idle++;
		} else {
			idle = 0;
			host = served ? 0 : host;
			served = false;
			host++;
		}
		/* Without a call since the vCPU last entered the guest, the guest's own run counts
		 * too: after a reset an interpreter runs ~200 us (page faults, mostly) before
		 * its first call, and a ring thread asleep by then costs that call a trap. */
		unsigned budget = vm_ring_guest_running(vm) ? RING_IDLE_SPINS : RING_HOST_SPINS;
		if ((served && idle > RING_IDLE_SPINS) || (!served && host + idle > budget)) {
			vm_ring_sleep(vm, 1000 * 1000 * 1000ULL);
			idle = host = 0;
			served = false;
			continue;
		}
		/* (Awake again: a reset may have put the template's flag back.)  Not allowed to
		 * spin (no slot free, its lent slot wanted, starved): the guest traps meanwhile. */
		if ((idle | host) % 256 == 0 && !vm_ring_set_awake(vm, true)) {
			vm_ring_sleep(vm, 1000 * 1000 * 1000ULL);
			idle = host = 0;
			served = false;
			continue;
		}
		__builtin_ia32_pause();
	}
	vm_ring_set_awake(vm, false);
	vm_ring_detach(vm); /* (ring_stop's detach may have come before the attach above) */
	return NULL;
}

int ring_start(struct proc *p)
{
	if (p->ring || !vm_ring_on(p->vm))
		return 0;
	struct ring_thread *rt = calloc(1, sizeof(*rt));
	if (!rt)
		return -ENOMEM;
	rt->p = p;
	/* Signals are the vCPU thread's: the ring thread takes none. */
	sigset_t all, old;
	sigfillset(&all);
	sigdelset(&all, SIGBUS); /* uaccess.c's guard against a truncated file's pages */
	sigdelset(&all, SIGSEGV);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int err = pthread_create(&rt->th, NULL, ring_main, rt);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		free(rt);
		return -err;
	}
	p->ring = rt;
	return 0;
}

void ring_stop(struct proc *p)
{
	struct ring_thread *rt = p->ring;
	if (!rt)
		return;
	vm_ring_detach(p->vm); /* its thread id is about to be stale */
	atomic_store(&rt->stop, true);
	vm_ring_kick(p->vm);
	pthread_join(rt->th, NULL);
	free(rt);
	p->ring = NULL;
}

void ring_after_trap(struct proc *p, uint64_t nr, uint64_t next_rip)
{
	/* A call the ring thread never runs keeps its real `syscall`: through the ring it
	 * would cost a refused post on top of the trap.  (A shared site, glibc's syscall(2),
	 * is rewritten by the first ring call through it; the rest come back as traps.) */
	if (nr >= RING_SLED || never_rewrite(nr) || !ring_row(nr) || next_rip < 2 || !vm_ring_on(p->vm))
		return;
	vm_ring_rewrite(p->vm, next_rip - 2);
}

/* --- --syscall-path=auto ------------------------------------------------------------------------ */

/* A program that relies on reads of address 0 faulting (page 0 is readable on the ring
 * path): Go's runtime (nil checks by fault), Java's JVM (implicit null checks). */
static bool needs_null_faults(int fd, const char *path)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	if (!strcmp(base, "java"))
		return true;
	Elf64_Ehdr eh;
	if (pread(fd, &eh, sizeof(eh), 0) != sizeof(eh) || eh.e_shentsize != sizeof(Elf64_Shdr) || eh.e_shnum == 0 ||
	    eh.e_shnum > 4096 || eh.e_shstrndx >= eh.e_shnum)
		return false;
	Elf64_Shdr *sh = calloc(eh.e_shnum, sizeof(*sh));
	if (!sh)
		return false;
	bool go = false;
	size_t shsz = (size_t)eh.e_shnum * sizeof(*sh);
	if (pread(fd, sh, shsz, (off_t)eh.e_shoff) == (ssize_t)shsz) {
		const Elf64_Shdr *strs = &sh[eh.e_shstrndx];
		for (int i = 0; i < eh.e_shnum && !go; i++) {
			char name[24] = {0};
			if (sh[i].sh_name >= strs->sh_size)
				continue;
			if (pread(fd, name, sizeof(name) - 1, (off_t)(strs->sh_offset + sh[i].sh_name)) <= 0)
				continue;
			go = !strcmp(name, ".go.buildinfo") || !strcmp(name, ".note.go.buildid");
		}
	}
	free(sh);
	return go;
}

/* The cost of a trap round trip: a tiny VM whose code is `syscall; jmp back`. */
static uint64_t measure_trap_ns(void)
{
	struct vm *vm;
	struct vm_config cfg = {.user_size = 2ULL << 20};
	if (vm_create(&vm, &cfg))
		return 0;
	uint64_t best = 0;
	const uint64_t code = USER_MIN_ADDR;
	static const uint8_t loop[] = {0x0f, 0x05, 0xeb, 0xfc}; /* syscall; jmp .-2 */
	uint8_t *text = vm_map_range(vm, code, 4096, PROT_READ | PROT_EXEC) == 0
	                        ? vm_user_ptr_unchecked(vm, code, sizeof(loop))
	                        : NULL;
	if (text) {
		memcpy(text, loop, sizeof(loop));
		struct kvm_regs regs = {.rip = code, .rflags = 0x202};
		vm_load_user_state(vm, &regs);
		for (int round = 0; round < 3; round++) {
			struct vm_fault f;
			uint64_t t0 = vm_now_ns();
			int i = 0;
			for (; i < 8; i++)
				if (vm_run(vm, &f) != VM_EXIT_SYSCALL)
					break;
			uint64_t per = i == 8 ? (vm_now_ns() - t0) / 8 : 0;
			if (per && (!best || per < best))
				best = per;
		}
	}
	vm_destroy(vm);
	return best;
}

/* The cost of a handoff through shared memory between two threads spinning on two CPUs,
 * as the trampoline and the ring thread do. */
#define PING_ROUNDS 5
#define PING_N 50
static _Atomic uint64_t pingpong;
static void *pong(void *arg)
{
	(void)arg;
	for (uint64_t want = 1; want < 2 * PING_ROUNDS * PING_N; want += 2) {
		unsigned spins = 0;
		while (atomic_load_explicit(&pingpong, memory_order_acquire) != want)
			if (++spins > (1u << 26))
				return NULL;
		atomic_store_explicit(&pingpong, want + 1, memory_order_release);
	}
	return NULL;
}

/* The best of a few rounds: a busy machine deschedules either side now and then. */
static uint64_t measure_handoff_ns(void)
{
	pthread_t th;
	atomic_store(&pingpong, 0);
	if (pthread_create(&th, NULL, pong, NULL))
		return 0;
	uint64_t best = 0, v = 1;
	bool ok = true;
	for (int round = 0; round < PING_ROUNDS && ok; round++) {
		uint64_t t0 = vm_now_ns();
		for (int i = 0; i < PING_N && ok; i++, v += 2) {
			atomic_store_explicit(&pingpong, v, memory_order_release);
			unsigned spins = 0;
			while (atomic_load_explicit(&pingpong, memory_order_acquire) != v + 1)
				if (++spins > (1u << 26)) {
					ok = false;
					break;
				}
		}
		uint64_t per = (vm_now_ns() - t0) / PING_N;
		if (ok && (!best || per < best))
			best = per;
	}
	pthread_join(th, NULL);
	return ok ? best : 0;
}

static pthread_once_t auto_once = PTHREAD_ONCE_INIT;
static bool auto_ring;
static uint64_t auto_trap_ns, auto_handoff_ns;
static long auto_cpus;

static void auto_measure(void)
{
	/* The CPUs this process may run on (taskset, a cgroup's cpuset), not those online:
	 * confined to one, the ring thread would only take turns with the vCPU thread. */
	cpu_set_t set;
	auto_cpus = sched_getaffinity(0, sizeof(set), &set) == 0 ? CPU_COUNT(&set) : sysconf(_SC_NPROCESSORS_ONLN);
	/* Two spinning host threads per VM on the ring: half the CPUs' worth of VMs. */
	vm_ring_limit_spinners((int)(auto_cpus / 2));
	if (auto_cpus < 2)
		return;
	auto_trap_ns = measure_trap_ns();
	auto_handoff_ns = measure_handoff_ns();
	/* A clear margin: the handoff (plus the emulation both paths share) must be well
	 * under the trap's round trip. */
	auto_ring = auto_trap_ns && auto_handoff_ns && auto_handoff_ns * 10 < auto_trap_ns;
}

void ring_measure(bool verbose)
{
	pthread_once(&auto_once, auto_measure);
	if (verbose)
		log_msg("syscall path auto: %ld CPUs, trap round trip %llu ns, ring handoff %llu ns: %s", auto_cpus,
		        (unsigned long long)auto_trap_ns, (unsigned long long)auto_handoff_ns,
		        auto_ring ? "ring" : "trap");
}

void sys_syscall_path_measure(bool verbose)
{
	ring_measure(verbose);
}

void sys_ring_spinners(int *now, int *max)
{
	vm_ring_spinners(now, max);
}

void ring_park(struct proc *p)
{
	vm_ring_park(p->vm);
}

int ring_setup_image(struct proc *p, int fd, const char *path)
{
	int mode = p->cfg.syscall_path;
	if (mode == SYSPATH_TRAP)
		return 0;
	if (needs_null_faults(fd, path)) {
		if (mode == SYSPATH_AUTO) {
			if (p->cfg.verbose)
				log_msg("syscall path: trap for %s (it relies on reads of address 0 faulting)", path);
			return 0;
		}
		if (p->cfg.verbose)
			log_msg("syscall path: ring forced for %s, which may rely on reads of address 0 faulting",
			        path);
	}
	if (mode == SYSPATH_AUTO) {
		pthread_once(&auto_once, auto_measure);
		if (!auto_ring)
			return 0;
	}
	return vm_ring_enable(p->vm);
}
