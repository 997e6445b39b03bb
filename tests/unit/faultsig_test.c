/* faultsig_test.c - unit tests for fault_siginfo: the signal, si_code and si_addr Linux
 * gives each user-mode exception (arch/x86/kernel/traps.c, arch/x86/mm/fault.c). */
#include "sys/signals/faultsig.h"

#include <signal.h>

#include "test_util.h"
#include "vmm/abi.h"
#include "vmm/vmm.h"

static struct fault_info of(int vector, uint64_t error, uint64_t addr)
{
	struct vm_fault f = {.vector = vector, .error = error, .rip = 0x401000, .addr = addr, .user = true};
	return fault_siginfo(&f);
}

static void test_page_faults(void)
{
	struct fault_info fi = of(X86_EXC_PF, 0 /* not present */, 0x10);
	ASSERT_EQ(fi.sig, SIGSEGV);
	ASSERT_EQ(fi.code, SEGV_MAPERR);
	ASSERT_EQ(fi.addr, 0x10); /* the address touched, not the instruction */
	fi = of(X86_EXC_PF, PF_ERR_P | 2 /* write */, 0x7000);
	ASSERT_EQ(fi.code, SEGV_ACCERR);
	ASSERT_EQ(fi.addr, 0x7000);
}

static void test_other_vectors(void)
{
	ASSERT_EQ(of(X86_EXC_DE, 0, 0).sig, SIGFPE);
	ASSERT_EQ(of(X86_EXC_DE, 0, 0).code, FPE_INTDIV);
	ASSERT_EQ(of(X86_EXC_DE, 0, 0).addr, 0x401000);
	ASSERT_EQ(of(X86_EXC_UD, 0, 0).sig, SIGILL);
	ASSERT_EQ(of(X86_EXC_UD, 0, 0).code, ILL_ILLOPN);
	ASSERT_EQ(of(X86_EXC_BP, 0, 0).sig, SIGTRAP);
	ASSERT_EQ(of(X86_EXC_DB, 0, 0).sig, SIGTRAP);
	ASSERT_EQ(of(X86_EXC_AC, 0, 0).sig, SIGBUS);
	ASSERT_EQ(of(X86_EXC_XM, 0, 0).sig, SIGFPE);
	ASSERT_EQ(of(X86_EXC_MF, 0, 0).sig, SIGFPE);
}

static void test_general_protection(void)
{
	/* #GP (a non-canonical address, a privileged instruction): SIGSEGV, SI_KERNEL, addr 0,
	 * whatever the error code holds (a selector, not page-fault bits). */
	struct fault_info fi = of(X86_EXC_GP, PF_ERR_P, 0x1234);
	ASSERT_EQ(fi.sig, SIGSEGV);
	ASSERT_EQ(fi.code, 0x80);
	ASSERT_EQ(fi.addr, 0);
	ASSERT_EQ(of(VM_FAULT_SHUTDOWN, 0, 0).sig, SIGSEGV);
}

int main(void)
{
	RUN_TEST(test_page_faults);
	RUN_TEST(test_other_vectors);
	RUN_TEST(test_general_protection);
	return test_summary();
}
