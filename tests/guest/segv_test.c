// Deliberate memory faults.  Natively the process dies of SIGSEGV (the shell
// reports 139); kvmserver must print one line naming the fault and exit 139.
// Output written before the fault is flushed first, so stdout is compared too.
// VARIANTS: static static-pie
// EXPECT_EXIT: 139
// EXPECT_STDERR: segv|segmentation|page fault|#PF|#GP|general protection|fault
// EXPECT_STDERR_LINES: 1
// CASE: write-null
// CASE: read-null
// CASE: write-unmapped
// CASE: jump-null
// CASE: noncanonical
// CASE: write-rodata
// CASE: write-text
// On the ring syscall path page 0 is readable (docs/design.md, "The ring path"): a read
// of address 8 faults only with the trap path.
// KVMSERVER_OPTS[read-null]: --syscall-path=trap
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

static const char rodata[64] = "read-only data";

int main(int argc, char **argv)
{
	const char *how = argc > 1 ? argv[1] : "write-null";
	printf("about to fault: %s\n", how);
	fflush(stdout);
	volatile uintptr_t addr = 0;
	if (!strcmp(how, "write-null")) {
		*(volatile int *)addr = 42;
	} else if (!strcmp(how, "read-null")) {
		addr = 8;
		printf("%d\n", *(volatile int *)addr);
	} else if (!strcmp(how, "write-unmapped")) {
		/* just below the 47-bit boundary: never mapped natively, and far above
         * anything a small guest maps */
		addr = 0x7ffff0000000ull - 0x100000000ull;
		/* The native stack's random placement can land there (it did once): step down
		 * past anything mapped (msync fails with ENOMEM on an unmapped page). */
		while (msync((void *)addr, 4096, MS_ASYNC) == 0)
			addr -= 0x100000000ull;
		*(volatile int *)addr = 1;
	} else if (!strcmp(how, "jump-null")) {
		void (*volatile fn)(void) = (void (*)(void))addr;
		fn();
	} else if (!strcmp(how, "noncanonical")) {
		addr = 0x8000000000000000ull; /* #GP, not #PF; Linux still sends SIGSEGV */
		*(volatile int *)addr = 1;
	} else if (!strcmp(how, "write-rodata")) {
		*(volatile char *)(uintptr_t)rodata = 'X';
	} else if (!strcmp(how, "write-text")) {
		*(volatile char *)(uintptr_t)&main = 0;
	}
	printf("still alive: the fault did not happen\n");
	return 0;
}
