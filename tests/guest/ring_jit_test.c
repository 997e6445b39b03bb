// JIT-like code and the ring path's lazy rewriting: a `syscall` the program wrote into a
// writable and executable buffer runs, and the buffer still holds the program's bytes
// afterwards (the host rewrites only sites in pages the guest cannot write), so reading
// it back and overwriting it with other code works.  Then the same with the W^X dance:
// written, made read+exec, run (now it may be rewritten: the guest cannot see the page
// change except by reading it), made writable, overwritten, run again.
// VARIANTS: static static-pie
// KVMSERVER_OPTS: --syscall-path=ring
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "check.h"
#define CHECK CHECK_ERRNO

// mov $nr, %eax; syscall; ret
static void emit_syscall(uint8_t *p, uint32_t nr)
{
	p[0] = 0xb8;
	memcpy(p + 1, &nr, 4);
	p[5] = 0x0f;
	p[6] = 0x05;
	p[7] = 0xc3;
}

// mov $value, %eax; ret
static void emit_const(uint8_t *p, uint32_t value)
{
	p[0] = 0xb8;
	memcpy(p + 1, &value, 4);
	p[5] = 0xc3;
}

int main(void)
{
	uint8_t *rwx = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(rwx != MAP_FAILED);
	emit_syscall(rwx, SYS_getppid);
	long (*fn)(void) = (long (*)(void))rwx;
	long pp = getppid();
	int same = 1;
	for (int i = 0; i < 100; i++)
		same &= fn() == pp;
	CHECK(same);
	CHECK(rwx[5] == 0x0f && rwx[6] == 0x05); // still the program's own bytes
	emit_const(rwx, 1234);
	CHECK(fn() == 1234);
	emit_syscall(rwx, SYS_getpid);
	CHECK(fn() == getpid());

	// W^X: read+exec while it runs
	uint8_t *wx = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(wx != MAP_FAILED);
	emit_syscall(wx, SYS_getppid);
	CHECK(mprotect(wx, 4096, PROT_READ | PROT_EXEC) == 0);
	fn = (long (*)(void))wx;
	same = 1;
	for (int i = 0; i < 100; i++)
		same &= fn() == pp;
	CHECK(same);
	CHECK(mprotect(wx, 4096, PROT_READ | PROT_WRITE) == 0);
	emit_const(wx, 4321);
	CHECK(mprotect(wx, 4096, PROT_READ | PROT_EXEC) == 0);
	CHECK(fn() == 4321);
	printf("%s\n", failures ? "SOME CHECKS FAILED" : "all checks passed");
	return failures ? 1 : 0;
}
