/* faultsig.c - a user-mode exception as the signal Linux sends for it (see faultsig.h). */
#include <signal.h>

#include "sys/signals/faultsig.h"
#include "vmm/abi.h"
#include "vmm/vmm.h"

struct fault_info fault_siginfo(const struct vm_fault *f)
{
	struct fault_info fi = {.sig = SIGSEGV, .addr = f->rip};
	switch (f->vector) {
	case X86_EXC_DE: fi = (struct fault_info){SIGFPE, FPE_INTDIV, f->rip}; break;
	case X86_EXC_MF:
	case X86_EXC_XM: fi = (struct fault_info){SIGFPE, 0x80 /* SI_KERNEL */, f->rip}; break;
	case X86_EXC_DB:
	case X86_EXC_BP: fi = (struct fault_info){SIGTRAP, 0x80, f->rip}; break;
	case X86_EXC_UD: fi = (struct fault_info){SIGILL, ILL_ILLOPN, f->rip}; break;
	case X86_EXC_AC: fi = (struct fault_info){SIGBUS, 0x80, f->rip}; break;
	case X86_EXC_PF:
		/* A page that is present but forbids the access: SEGV_ACCERR; absent: SEGV_MAPERR. */
		fi = (struct fault_info){SIGSEGV, (f->error & PF_ERR_P) ? SEGV_ACCERR : SEGV_MAPERR, f->addr};
		break;
	default: /* #GP, #SS, #NP and the rest, and a shutdown: SIGSEGV, si_addr 0 (SI_KERNEL) */
		fi = (struct fault_info){SIGSEGV, 0x80, 0};
		break;
	}
	return fi;
}
