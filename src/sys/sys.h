/* sys.h - the Linux emulation: a guest process (struct proc) running in a VM from libvmm.
 *
 * The only header the server layer includes from src/sys.  Functions return 0 or a
 * negative errno unless stated otherwise; nothing here exits the process.
 */
#ifndef SYS_H
#define SYS_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "sys/policy/policy.h"
#include "vmm/vmm.h"

struct proc;

struct proc_config {
	uint64_t user_size; /* guest address-space size (bytes) */
	bool verbose; /* log unimplemented syscalls (once each) and events */
	bool trace; /* one strace-like line per syscall on stderr */
	const struct policy *policy; /* required; shared, must outlive the process */
	const char *cwd; /* initial guest cwd (absolute); NULL = the host's cwd */
	/* Bit fd (0-2): kvmserver was started with that fd closed, and so is the guest's
	 * (EBADF, and its first open gets it, as on Linux). */
	unsigned closed_stdio;
	uint64_t max_address_space; /* bytes the guest's mappings may total; 0 = no limit */
	int syscall_path; /* enum sys_path */
};

/* --syscall-path: every syscall a VM exit, the ring path (docs/design.md), or the ring
 * where start-up measurements say it wins. */
enum sys_path { SYSPATH_TRAP, SYSPATH_RING, SYSPATH_AUTO };
/* auto's measurement (once), printed with verbose.  It also limits the VMs whose guests
 * are on the ring at once to half the CPUs (each spins two host threads while its guest
 * runs); the others' calls trap meanwhile.  Without auto: no limit. */
void sys_syscall_path_measure(bool verbose);
/* How many VMs have their guests on the ring now, and the most there were at once
 * (/metrics). */
void sys_ring_spinners(int *now, int *max);

/* systemd socket activation: take the sockets passed in LISTEN_FDS (for this pid), and
 * unset LISTEN_*.  Afterwards a guest bind(2) to the address of one of them gets that
 * socket (activation.c).  Call once, before any guest runs.  Returns how many. */
int sys_activation_init(void);

/* Creates the VM and a process with stdin/stdout/stderr.  Returns 0 or -errno. */
int proc_create(struct proc **out, const struct proc_config *cfg);
void proc_destroy(struct proc *p);

/* Loads the executable at host path `path` (already resolved) with argv/envp into the
 * process.  Returns 0, or -errno with *why a one-line reason (e.g. "not an ELF file"). */
int proc_exec(struct proc *p, const char *path, char *const argv[], char *const envp[], const char **why);

/* If host file `path` is a #! script: the program to load instead into interp (for
 * `#!/usr/bin/env NAME`, NAME found on `search`, a PATH, so the guest need not run env),
 * *argv rewritten for it (its strings then owned by the caller, the old array freed: pass
 * a malloc'd, strdup'd vector), and 1.  0: not a script.  -errno with *why. */
int proc_script_interp(const char *path, char ***argv, const char *search, char interp[PATH_MAX], const char **why);

enum proc_end {
	PROC_EXITED = 1, /* exit/exit_group: see proc_exit_code (0 is "not stopped", proc_impl.h) */
	PROC_CRASHED, /* an unhandled fault: see proc_crash */
	PROC_TIMEOUT, /* the deadline passed */
	PROC_ERROR, /* the VM could not run */
	PROC_LISTENING, /* PROC_MODE_BOOT: stopped at a wait for connections (proc_wait_kind) */
	PROC_CONN_DONE, /* PROC_MODE_EPHEMERAL: its one connection is closed */
	PROC_MEMORY_LIMIT, /* a request VM dirtied more than proc_set_memory_limit allows */
};

/* How the syscall layer treats connections (server mode). */
enum proc_mode {
	PROC_MODE_RUN, /* plain: no server rules */
	PROC_MODE_BOOT, /* stop at every wait on a listening socket (PROC_LISTENING) */
	PROC_MODE_SERVE, /* request VM keeping its state: per-connection deadline only */
	PROC_MODE_EPHEMERAL, /* request VM: one connection, then PROC_CONN_DONE */
};

enum proc_wait_kind { PROC_WAIT_NONE, PROC_WAIT_EPOLL, PROC_WAIT_POLL, PROC_WAIT_ACCEPT };

void proc_set_mode(struct proc *p, enum proc_mode mode);
/* The kind of wait a PROC_LISTENING stop is at. */
enum proc_wait_kind proc_wait_kind(const struct proc *p);
/* How many connections the process has accepted on a listening socket, ever: a request VM
 * whose run ends with this unchanged made no progress (src/server backs off). */
uint64_t proc_connections_taken(const struct proc *p);
/* After PROC_LISTENING: let that wait run this time (warm-up traffic is coming). */
void proc_continue_wait(struct proc *p);
/* Per-connection limit for request VMs (ns, 0 = none): PROC_TIMEOUT when exceeded. */
void proc_set_request_limit(struct proc *p, uint64_t ns);
/* Request VMs: PROC_MEMORY_LIMIT when more than `bytes` of pages are dirtied since the fork
 * or last reset (0 = no limit; limits.c), and the page count that crossed it. */
void proc_set_memory_limit(struct proc *p, uint64_t bytes);
uint64_t proc_memory_limit_pages(const struct proc *p);
/* Count each connection the guest accepts from a listener into *counter (an atomic add:
 * another thread may read it), NULL = stop counting. */
void proc_set_connection_counter(struct proc *p, uint64_t *counter);

/* Pre-fork servers: the first process of the guest's tree to wait on a listening socket
 * while booting (PROC_MODE_BOOT is inherited by fork, vfork and exec) is the template; every
 * other one that waits on a listener is held at that wait, seeing no connection.  When a
 * child is that process, its own host thread calls fn with it stopped as after
 * PROC_LISTENING; fn returns 0 for the child to run on as a program, or does not return. */
void proc_set_template_handler(int (*fn)(struct proc *tmpl, void *arg), void *arg);
/* Whether a process other than p (a child) became the template. */
bool proc_template_elsewhere(const struct proc *p);
/* The held processes go on as programs (-t 1 without --ephemeral). */
void proc_release_held(void);
/* The first process p ended (Linux wait status wstatus) while others live: they are
 * orphaned, as on Linux, and this returns once every guest process has ended. */
void proc_end_first_and_wait(struct proc *p, int wstatus);

/* After PROC_LISTENING: make p the template request VMs are forked from.  p never runs
 * again and must outlive its forks. */
int proc_freeze(struct proc *p);
/* A copy-on-write request VM of template tmpl, about to re-issue the template's wait. */
int requestvm_create(struct proc *tmpl, struct proc **out);
/* The address of the first listening socket the process has (for warm-up requests). */
int proc_listener_addr(struct proc *p, struct sockaddr_storage *out, socklen_t *len);
/* Back to the template's state: memory, registers, threads, fds, signals, mappings. */
int requestvm_reset(struct proc *p, struct vm_reset_stats *st);
/* Resets under the guest (requestvm.c; docs/design.md): an ephemeral request VM on the
 * ring path whose request ends with a call the ring thread runs may be reset there, and
 * take its next connection, while its guest spins: proc_run goes on, and the ring thread
 * calls ready (whether to take another connection: false when draining) and then, once
 * the next request has begun, turned (st: the ended request's reset).  Both must be safe
 * on another thread than proc_run's, which meanwhile is in KVM_RUN. */
struct proc_turnover {
	bool (*ready)(void *ctx);
	void (*turned)(void *ctx, const struct vm_reset_stats *st);
	void *ctx;
};
void proc_set_turnover(struct proc *p, const struct proc_turnover *t);
/* An ephemeral request VM: wait, running no guest code, until one of its listeners has a
 * connection, then restart its monotonic clock at the template's freeze time (requestvm.c). */
int proc_await_connection(struct proc *p);
/* The same, but -ECANCELED (and no clock restart) as soon as cancel_fd is readable. */
int proc_await_connection_or(struct proc *p, int cancel_fd);

/* Runs the process until it ends or deadline_ns (CLOCK_MONOTONIC; 0 = none; replaces any
 * deadline set before, such as a request VM's per-connection one). */
enum proc_end proc_run(struct proc *p, uint64_t deadline_ns);

int proc_exit_code(const struct proc *p);

struct proc_crash {
	int signal; /* the signal Linux would deliver: SIGSEGV, SIGILL, SIGFPE... */
	struct vm_fault fault; /* vector, rip, addr */
};
const struct proc_crash *proc_crash(const struct proc *p);

/* One line describing a crash, e.g. "page fault (write) at address 0x0, rip 0x401136". */
void proc_describe_crash(const struct proc *p, char *buf, unsigned size);

const struct vm_stats *proc_vm_stats(const struct proc *p);
/* A system call's name ("epoll_wait"), or its number in buf when unknown. */
const char *proc_syscall_name(uint64_t nr, char *buf, unsigned size);

#endif
