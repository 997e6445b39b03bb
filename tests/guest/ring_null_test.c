// The ring syscall path (docs/design.md, "The ring path") maps page 0 read+exec: its
// NOP sled is where a rewritten `call *%rax` site lands.  Writes to page 0 must still
// fault, and a NULL function-pointer call (from code that is no rewritten site) slides
// through the sled into the trampoline: the host must see that its return address is no
// site and deliver SIGSEGV as Linux does, not run whatever rax says.  Each case first
// makes syscalls from a rewritten site (getpid in a loop) so that the ring is in use.
// VARIANTS: static static-pie
// KVMSERVER_OPTS: --syscall-path=ring
// EXPECT_EXIT: 139
// EXPECT_STDERR: segv|segmentation|page fault|fault
// EXPECT_STDERR_LINES: 1
// CASE: write-null
// CASE: call-null
// CASE: call-sled
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	const char *how = argc > 1 ? argv[1] : "write-null";
	long sum = 0;
	for (int i = 0; i < 200; i++)
		sum += syscall(SYS_getppid); // a rewritten site from the second call on
	printf("ring warm: %d\n", sum == 200L * getppid());
	printf("about to fault: %s\n", how);
	fflush(stdout);
	volatile uintptr_t addr = 0;
	if (!strcmp(how, "write-null")) {
		*(volatile int *)addr = 42;
	} else if (!strcmp(how, "call-null")) {
		// rax = 39 (getpid) at the call: without the check the trampoline would run it
		long (*fn)(long) = (long (*)(long))addr;
		register long rax __asm__("rax") = 39;
		__asm__ volatile("" : "+r"(rax));
		fn(rax);
	} else if (!strcmp(how, "call-sled")) {
		addr = 100; // into the middle of the sled
		((void (*)(void))addr)();
	}
	printf("no fault\n");
	return 0;
}
