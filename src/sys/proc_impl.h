/* proc_impl.h - the emulated process and the handler interface, private to src/sys. */
#ifndef SYS_PROC_IMPL_H
#define SYS_PROC_IMPL_H

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "sys/files/fdtab.h"
#include "sys/memory/mm.h"
#include "sys/policy/policy.h"
#include "sys/threads/sched.h"
#include "sys/sys.h"

/* Arguments of one syscall, as the guest passed them (rdi rsi rdx r10 r8 r9). */
struct sys_args {
	uint64_t nr;
	uint64_t a[6];
};

/* The guest's user and group ids (cred.c): the host's at start, changed only here. */
#define CRED_MAX_GROUPS 256
struct cred {
	uint32_t ruid, euid, suid, fsuid;
	uint32_t rgid, egid, sgid, fsgid;
	int ngroups;
	uint32_t groups[CRED_MAX_GROUPS];
};
void cred_init(struct cred *c);
bool cred_privileged(const struct cred *c); /* effective uid 0 */
bool cred_in_group(const struct cred *c, uint32_t gid); /* fsgid or a supplementary group */

/* The emulated process, in parts with one owner each.  "Owner" is the folder whose code
 * changes the part after proc_create; everyone else reads it.  A request VM's reset
 * (requestvm.c copy_state) copies parts from the template, not fields one by one. */

/* Who the process is (src/sys/identity, and umask/cwd by src/sys/files): reset from the
 * template as a whole. */
struct proc_ident {
	pid_t pid; /* what getpid() answers: the host process's pid */
	struct cred cred;
	int nice;
	char comm[16]; /* prctl(PR_SET_NAME) */
	mode_t umask; /* the guest's: applied to the modes of the files it creates */
	struct { /* sethostname/setdomainname (info.c); unset: the host's */
		char node[65], domain[65];
		bool node_set, domain_set;
	} uts;
	char cwd[PATH_MAX]; /* the guest's current directory: an absolute guest path */
	char exe_path[PATH_MAX]; /* host path of the executable (/proc/self/exe shows the guest's name) */
};
/* What getppid() answers: the guest has no parent it could see (kvmserver's parent is the
 * host's), so, as a daemon started by init, 1; stable across forks and requests. */
#define PROC_GUEST_PPID 1

/* The guest threads on the one vCPU (src/sys/threads/sched.c only). */
struct proc_threads {
	struct thread **threads;
	int nthreads;
	struct thread *cur; /* the thread on the vCPU */
	int next_tid;
	/* CPU time (threads/cpuclock.c): the process's over the runs that ended, and while a
	 * run goes on, the clock of the host thread running it and its reading at the start;
	 * cur's share starts at process time cur_since_ns. */
	uint64_t cpu_ns, host_since_ns, cur_since_ns;
	clockid_t host_clock;
	bool cpu_running;
};

/* Signal dispositions and the interval timers (src/sys/signals). */
struct proc_signals {
	struct sigaction_rec {
		uint64_t handler, flags, restorer, mask;
	} sigactions[65];
	uint64_t itimer_ns, itimer_interval_ns; /* ITIMER_REAL: next expiry (0 = off), period */
	struct { /* ITIMER_VIRTUAL, ITIMER_PROF: expiry in CPU time (0 = off), period (itimer.c) */
		uint64_t expiry_ns, interval_ns;
	} cpu_itimer[2];
	uint64_t cpu_itimer_check_ns; /* monotonic time before which neither can expire (0 = off) */
};

/* Guest processes (src/sys/processes): p's process-table entry (NULL until needed), and
 * while a vfork child runs in p's memory, the parent's saved side. */
struct proc_family {
	struct pt_entry *pt;
	struct vfork_frame *vfork;
};

/* How the run stops and the process ended (proc.c's run loop, exit and exit_group, and
 * server mode's verdicts). */
struct proc_end_state {
	/* Why proc_run returns after this syscall, or 0 to go on: PROC_EXITED (exit,
	 * exit_group, the last thread's exit; for good) or a server-mode verdict (template.c:
	 * PROC_LISTENING, PROC_CONN_DONE; once).  A handler's own result is its return value,
	 * or SYS_RESUMED when it loaded the thread's state itself; nothing else stops a run. */
	enum proc_end stop;
	int exit_code;
	struct proc_crash crash;
};

/* Server mode (src/requestvm): the template's stop at its first wait for connections, a
 * request VM's one-connection rule and limits, and the clock a fork restarts. */
struct proc_server {
	enum proc_mode mode;
	enum proc_wait_kind wait_kind;
	bool let_through; /* run the next listener wait instead of stopping */
	uint64_t conn_ino; /* ephemeral: inode of the connection taken, 0 = none yet */
	bool conn_shut;
	bool conn_closed; /* ephemeral: closed here while a child still holds it (template.c) */
	uint64_t conns_taken; /* connections accepted on a listener since requestvm_create (template.c) */
	uint64_t max_request_ns;
	/* limits.c: --max-request-memory in pages (0 = none), when the dirty count was last
	 * read, and the count that crossed the limit. */
	uint64_t max_dirty_pages, dirty_checked_ns, dirty_over;
	uint64_t *conn_counter; /* accepted connections, counted atomically; NULL = none */
	struct proc *tmpl; /* a fork's template */
	uint64_t frozen_ns; /* a template: host CLOCK_MONOTONIC when it was frozen */
	/* A fork: host CLOCK_MONOTONIC minus the guest's (see restart_monotonic in requestvm.c). */
	int64_t mono_offset_ns;
	/* An ephemeral fork's epoll set for proc_await_connection_or, kept across resets: the
	 * host fd plus one (0 = not made yet), and whether it watches the cancel fd. */
	int await_ep1;
	bool await_cancel;
	/* Resets under the guest (requestvm.c): server mode's bookkeeping, and the counts of
	 * such a reset after which no connection was ready (the next reset adds them). */
	const struct proc_turnover *turnover;
	struct vm_reset_stats turnover_undone;
};

struct proc {
	struct vm *vm;
	struct proc_config cfg; /* as created; cfg.policy is shared, owned by the creator */
	struct mm mm; /* the address space (src/sys/memory) */
	struct fdtab fdt; /* the fd table (src/sys/files) */
	struct proc_ident id;
	struct proc_threads thr;
	struct proc_signals sig;
	struct proc_family fam;
	struct proc_end_state end;
	struct proc_server srv;

	uint64_t vdso_addr; /* where the vDSO is mapped, 0 if none (exec.c) */
	struct ring_thread *ring; /* the host ring thread (src/sys/ring.c), NULL when none runs */
	struct unix_names *unix_names; /* guest names of bound AF_UNIX sockets (sockaddr.c), or NULL */
#define PROC_MAX_PTYS 16
	int ptys[PROC_MAX_PTYS]; /* the pty numbers opened through /dev/ptmx (procfs.c) */
	int nptys;
	/* --verbose says each of these once: unimplemented calls (dispatch.c), SIGIO (io.c). */
	uint8_t enosys_logged[512 / 8];
	bool sigio_logged;
};

/* A request VM's AF_UNIX name table becomes a copy of its template's (net.c). */
int net_unix_names_copy(struct proc *dst, const struct proc *src);
void net_unix_names_free(struct proc *p);

/* The clocks that restart at the template's freeze time in a fork (requestvm.c): the guest
 * reads host time minus p->srv.mono_offset_ns on them; CLOCK_REALTIME stays the host's. */
static inline bool clock_restarts_in_fork(int clock)
{
	return clock == CLOCK_MONOTONIC || clock == CLOCK_MONOTONIC_RAW || clock == CLOCK_MONOTONIC_COARSE ||
	       clock == CLOCK_BOOTTIME || clock == CLOCK_BOOTTIME_ALARM;
}

/* t moved by ns (time.c); never below zero. */
struct timespec ts_add_ns(struct timespec t, int64_t ns);

/* The iovec count readv/writev/sendmsg/recvmsg accept (UIO_MAXIOV). */
#define GUEST_IOV_MAX 1024

/* A host call's result as a handler returns it: r, or -errno when the call failed (-1). */
static inline long host_result(long r)
{
	return r < 0 ? -errno : r;
}

/* The host fd behind guest fd `fd`, or -EBADF when it is not open. */
static inline int host_fd_of(struct proc *p, uint64_t fd)
{
	struct fd_entry *e = fd <= INT_MAX ? fdtab_get(&p->fdt, (int)fd) : NULL;
	return e ? e->host_fd : -EBADF;
}

/* A handler returns the value for rax: >= 0 or -errno. */
typedef long (*sys_fn)(struct proc *p, const struct sys_args *a);

#endif
