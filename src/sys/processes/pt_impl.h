/* pt_impl.h - the process table's entries and lock, shared by process.c (the table, wait,
 * signals between processes) and pgroup.c (process groups, sessions, pidfds); private to
 * src/sys/processes.  Everything here is read and written under pt_lock. */
#ifndef SYS_PT_IMPL_H
#define SYS_PT_IMPL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct pt_entry {
	int pid;
	int ppid; /* 0: the first process, whose parent is the host's; -1: orphaned */
	/* The parent's entry (NULL: none).  Pids need not be unique across request VMs, which
	 * all are the template's pid: the links are pointers. */
	struct pt_entry *parent;
	int pgid, sid;
	/* The request VM whose request started this process (directly or not; NULL: none):
	 * its reset ends it even once its parent is gone. */
	struct pt_entry *request;
	bool request_vm; /* a request VM's own entry (its pid is its template's) */
	bool isolated; /* ... and that VM is ephemeral (visible_locked) */
	bool ended; /* a zombie: wstatus is valid */
	bool ran; /* a process ran with this entry (else it is a spawn in the making) */
	int wstatus;
	_Atomic uint64_t sigs; /* sent by other processes, not yet taken */
	/* Signals that interrupt the owner's blocking calls (a handler, or a default action
	 * that ends it), published by the owner at each syscall; a sender of one of those
	 * interrupts the owner's host thread too (the wake fd is for its waits). */
	_Atomic uint64_t catching;
	pthread_t owner;
	clockid_t owner_clock; /* owner's CPU clock (cpuclock.c reads another process's time) */
	bool has_owner;
	int wake_fd; /* eventfd: written on a child's exit and on a signal */
	int exit_fd; /* pidfd_open's: an eventfd written once when the process ends; -1 none */
	int pdeathsig; /* prctl(PR_SET_PDEATHSIG): sent to it when its parent ends */
	struct pt_entry *next;
};

extern pthread_mutex_t pt_lock;
extern struct pt_entry *pt_head;

/* Whether self sees e (pt_lock held).  An ephemeral request VM and the processes it
 * started see only each other, and no other process sees them: no request may signal,
 * wait for or inspect another's processes or the template's.  Request VMs that keep
 * their state (-t N) are like a pre-fork server's workers, siblings that see each other
 * and the boot tree.  self NULL: every entry. */
bool visible_locked(const struct pt_entry *self, const struct pt_entry *e);

/* The entry of pid that self sees, or NULL (pt_lock held).  Pids repeat across request
 * VMs (each has its template's): self itself comes first, then an entry of self's own
 * request, then any. */
struct pt_entry *find_locked(const struct pt_entry *self, int pid);

#endif
