/* tests/programs/mmap_prog.c MIB: tries to map MIB MiB with mmap, to grow the heap by MIB
 * MiB with brk and to grow a 1 MiB mapping to MIB MiB with mremap; prints one line each,
 * "mmap ok" or "mmap ENOMEM" (for --max-address-space, tests/vm/ops-tests). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static void say(const char *what, int ok)
{
	printf("%s %s\n", what, ok ? "ok" : errno == ENOMEM ? "ENOMEM" : strerror(errno));
}

int main(int argc, char **argv)
{
	size_t size = (size_t)strtoul(argc > 1 ? argv[1] : "256", NULL, 10) << 20;
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	say("mmap", p != MAP_FAILED);
	if (p != MAP_FAILED)
		munmap(p, size);
	void *old = sbrk(0);
	errno = ENOMEM;
	say("brk", sbrk((intptr_t)size) != (void *)-1);
	brk(old);
	void *q = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	void *r = q == MAP_FAILED ? MAP_FAILED : mremap(q, 1 << 20, size, MREMAP_MAYMOVE);
	say("mremap", r != MAP_FAILED);
	return 0;
}
