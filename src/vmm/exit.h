/* exit.h - decoding KVM exits into enum vm_exit (private to src/vmm). */
#ifndef VMM_EXIT_H
#define VMM_EXIT_H

struct vm;
struct vm_fault;

/* The frame fault_common leaves on the IST1 stack, in qwords from its top - 7*8. */
#define FAULT_FRAME_VECTOR 0
#define FAULT_FRAME_ERROR 1
#define FAULT_FRAME_RIP 2
#define FAULT_FRAME_CS 3
#define FAULT_FRAME_RFLAGS 4
#define FAULT_FRAME_RSP 5
#define FAULT_FRAME_SS 6
#define FAULT_FRAME_SIZE (7 * 8)

/* Returns an enum vm_exit, -1 when the run loop should simply re-enter, -2 when it should
 * re-enter with the user state it set (a ring call completed, ring.c). */
int exit_decode(struct vm *vm, struct vm_fault *fault);

#endif
