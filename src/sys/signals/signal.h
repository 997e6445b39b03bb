/* signal.h - signal delivery entry points for the run loop (private to src/sys). */
#ifndef SYS_SIGNAL_H
#define SYS_SIGNAL_H

#include "sys/proc_impl.h"
#include "sys/signals/faultsig.h"

#define GUEST_NSIG 64

/* A synchronous fault in user mode: enter the guest's handler for sig.  True when it did;
 * false when the process must die of sig instead (no handler, blocked, or no room). */
bool signal_fault(struct proc *p, int sig, const struct vm_fault *f);

/* Deliver one pending, unblocked signal of the current thread.  Returns 0 (delivered,
 * ignored, or nothing pending) or the signal whose default action ends the process. */
int signal_deliver_pending(struct proc *p);

/* If the interval timer expired by `now`: make SIGALRM pending, re-arm; true then. */
bool itimer_fire(struct proc *p, uint64_t now);

/* If ITIMER_VIRTUAL or ITIMER_PROF may have expired by `now`: check the guest's CPU time,
 * make SIGVTALRM / SIGPROF pending, re-arm (itimer.c). */
void itimer_cpu_fire(struct proc *p, uint64_t now);

/* Make sig pending for thread t (dropped if ignored and not blocked, as Linux does) and
 * end t's wait if it is parked in a call the signal interrupts. */
void signal_send(struct proc *p, struct thread *t, int sig);

/* The thread a process-directed signal goes to: the first that does not block it or
 * waits for it in rt_sigtimedwait (Linux prefers the main thread), else the main one. */
struct thread *signal_process_target(struct proc *p, int sig);

/* Send the host signals recorded for the guest (vm_forward_signals) to it; true if any. */
bool signal_take_host(struct proc *p);

/* The signal t would act on now (pending, not blocked, not ignored), or 0. */
int signal_takes(const struct proc *p, const struct thread *t);

/* Does a handler for sig restart an interrupted restartable call (SA_RESTART)? */
bool signal_restarts(const struct proc *p, int sig);

#endif
