/* ring.h - the ring path's emulation side (ring.c; private to src/sys). */
#ifndef SYS_RING_H
#define SYS_RING_H

#include <stdbool.h>
#include <stdint.h>

struct proc;

/* The host ring thread of p's VM, if its VM has the ring: started before the guest runs,
 * stopped before the process goes away or becomes a template. */
int ring_start(struct proc *p);
void ring_stop(struct proc *p);
/* p's guest will not run for a while (a request VM's reset, its wait for a connection):
 * its spinner slot (sys_syscall_path_measure) is lent to a VM that finds none free, and its
 * ring thread then sleeps at once instead of spinning out its budget. */
void ring_park(struct proc *p);
/* After a trap from a real `syscall` (next_rip: the instruction after it): rewrite the
 * site when the call may take the ring path. */
void ring_after_trap(struct proc *p, uint64_t nr, uint64_t next_rip);
/* A new image in p (proc_exec): the ring or not, per p->cfg.syscall_path. */
int ring_setup_image(struct proc *p, int fd, const char *path);
/* --syscall-path=auto's measurement, once; -v prints it. */
void ring_measure(bool verbose);

#endif
