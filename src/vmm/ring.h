/* ring.h - the ring path inside src/vmm (ring.c; the API is in vmm.h). */
#ifndef VMM_RING_H
#define VMM_RING_H

#include <stdbool.h>
#include <stdint.h>

struct vm;
struct vm_fault;

/* Around each KVM_RUN: the vCPU thread lets the ring thread run calls only while the
 * guest runs, and wakes it if it sleeps. */
void ring_before_run(struct vm *vm);
void ring_after_run(struct vm *vm);
/* A syscall exit from the trampoline's `syscall`: an enum vm_exit, or -2 when a
 * finished call just goes back in. */
int ring_syscall_exit(struct vm *vm, struct vm_fault *fault);
/* A user fault that is a rewritten site called with a number past the sled: turned into
 * that syscall (VM_EXIT_SYSCALL), else VM_EXIT_FAULT unchanged. */
int ring_fault_exit(struct vm *vm, struct vm_fault *fault);
/* The vCPU stopped in user mode (a tick): a thread inside page 0 is moved out of it,
 * rewound onto its site or fast-forwarded past a finished call.  VM_EXIT_RING_DONE when a
 * finished call wants the host to look (a stop, a signal), else 0. */
int ring_settle(struct vm *vm);
/* A reset (vm_reset) ends what vm_ring_void_guest began. */
void ring_forget_void(struct vm *vm);
/* rip is inside the trampoline's wait for an answer: user mode (page 0), between
 * instructions that only read the ring page, so no exception can be on its way in. */
bool ring_waiting_at(uint64_t rip);
/* The ring thread is running and spinning (attached, not asleep): it may help a reset. */
bool vm_ring_helper_spinning(struct vm *vm);
/* A request VM (share_sites: the template's set) or a fork(2) copy (a copy of it). */
int vm_ring_inherit(struct vm *vm, struct vm *from, bool share_sites);
void vm_ring_fini(struct vm *vm);

#endif
