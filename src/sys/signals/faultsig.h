/* faultsig.h - which signal, si_code and si_addr Linux gives a user-mode exception
 * (arch/x86/kernel/traps.c and mm/fault.c): a pure function, unit tested. */
#ifndef SYS_FAULTSIG_H
#define SYS_FAULTSIG_H

#include <stdint.h>

struct vm_fault;

struct fault_info {
	int sig; /* SIGSEGV, SIGBUS, SIGILL, SIGFPE or SIGTRAP */
	int code; /* si_code */
	uint64_t addr; /* si_addr: the faulting address for SIGSEGV, else the instruction */
};

struct fault_info fault_siginfo(const struct vm_fault *f);

#endif
