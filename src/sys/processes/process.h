/* process.h - guest processes: the process table (pids, parents, exit statuses) and the
 * calls that cross processes (wait4, waitid, getppid, signals to another process).
 * Private to src/sys.
 *
 * Each guest process runs on its own host thread and is touched only by it (the emulation
 * has no locks); what processes share is this table, behind one mutex: one entry per
 * process, alive or a zombie, with its pid, parent, group and session, its wait status once
 * it has ended, the signals other processes sent it, and a wake fd (an eventfd) its owner
 * polls while it waits, so that a child's exit or another process's signal wakes it.
 * Not to be confused with request VMs (requestvm.c), which are copies of one process.
 */
#ifndef SYS_PROCESS_H
#define SYS_PROCESS_H

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

struct proc;
struct sys_args;
struct thread;
struct pt_entry;

/* p's entry, made on first need (the first process registers lazily, keeping its pid).
 * NULL when out of memory. */
struct pt_entry *process_self(struct proc *p);

/* A new entry for a child of p, with a fresh pid (> 0 returned) or -errno. */
int process_new_child(struct proc *p, struct pt_entry **out);

/* The process of entry e ended with Linux wait status `wstatus`: it becomes a zombie for
 * its parent to reap (SIGCHLD and a wake for the parent), its children are orphaned. */
void process_exited(struct pt_entry *e, int wstatus);

/* Drop an entry that never ran (a failed spawn). */
void process_discard(struct pt_entry *e);

int process_pid(const struct pt_entry *e);

/* The calling host thread runs e's process from now on (it is interrupted for signals);
 * release: it no longer does (its VM is about to go). */
void process_set_owner(struct pt_entry *e);
void process_release_owner(struct pt_entry *e);

/* The CPU clock of the host thread that runs guest process `pid` (false: none runs it). */
bool process_cpu_clock(const struct proc *p, int pid, clockid_t *out);

/* What getppid answers for p: its parent's pid, 1 when orphaned or for the first process
 * (PROC_GUEST_PPID). */
int process_ppid(struct proc *p);

/* Signals other processes sent p: made pending on one of its threads.  Cheap when none. */
void process_take_signals(struct proc *p);
/* The eventfd other processes write when they signal p or a child of p exits (-1 when p
 * is in no process table); consume: read it empty first.  The scheduler waits on it, so
 * that a signal sent just before the host wait starts is not missed. */
int process_wake_fd(struct proc *p, bool consume);

/* A thread id for a new thread of p: unique among every guest process once p has an
 * entry (pids and tids share one number space, as in Linux); p->thr.next_tid before that. */
int process_alloc_tid(struct proc *p);

/* For the scheduler: would wait4/waitid `a` block?  If so its wait fd goes into *pfd and
 * true is returned (the thread parks and re-issues the call when it is readable). */
bool process_wait_would_block(struct proc *p, const struct sys_args *a, struct pollfd *pfd);

/* prctl(PR_SET_PDEATHSIG / PR_GET_PDEATHSIG): the signal p gets when its parent ends. */
int process_set_pdeathsig(struct proc *p, int sig);
int process_pdeathsig(struct proc *p);

/* End p's children (SIGKILL; they are reaped by nobody): a request VM's reset. */
void process_end_children(struct proc *p);

/* Block the host thread until another process wakes p (a signal, a child's end) or
 * timeout_ns passes (-1: none).  0, or -EINTR when the execution deadline interrupted. */
int process_block(struct proc *p, int64_t timeout_ns);

/* kill(2) to a pid that is not p's own: 0, -ESRCH, -EINVAL. */
long process_kill(struct proc *p, int pid, int sig);

/* Whether a signal pending for p's current thread and not in mask would interrupt a wait
 * (a handler, or a default action that ends the process). */
bool process_signal_interrupts(struct proc *p, uint64_t mask);
/* Whether p has a child that has not ended. */
bool process_has_live_children(struct proc *p);

#endif
