/* fresh_server.c PORT: fresh memory must read as zero in every request, however the VM
 * reuses it.  Each request maps 1 MiB anonymous (the same address every time, as the
 * template's state is the same), checks it is all zero, writes every page, unmaps it and
 * maps it again (zero again within the request), writes it and leaves it mapped; then grows
 * the heap by 64 KiB with sbrk, checks that is zero and writes it.  Answers "fresh ok" or
 * what was not zero.  tests/servers/http.h, blocking accept. */
#include "http.h" /* first: it defines _GNU_SOURCE */

#include <stdint.h>
#include <sys/mman.h>

#define MAP_BYTES (1u << 20)
#define HEAP_BYTES (64u << 10)

/* 0 if [p, p+n) is all zero, else 1 + the offset of the first non-zero byte. */
static size_t first_nonzero(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return i + 1;
	return 0;
}

static void scribble(unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i += 512)
		p[i] = 0xa5;
}

/* One request's checks: "" when all fresh memory read zero, else what did not. */
static void check(char *why, size_t cap)
{
	why[0] = 0;
	for (int round = 0; round < 2; round++) {
		unsigned char *m = mmap(NULL, MAP_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m == MAP_FAILED) {
			snprintf(why, cap, "mmap failed");
			return;
		}
		size_t bad = first_nonzero(m, MAP_BYTES);
		if (bad) {
			snprintf(why, cap, "mmap round %d: byte %zu not zero", round, bad - 1);
			return;
		}
		scribble(m, MAP_BYTES);
		if (round == 0)
			munmap(m, MAP_BYTES);
	}
	unsigned char *h = sbrk(HEAP_BYTES);
	if (h == (void *)-1) {
		snprintf(why, cap, "sbrk failed");
		return;
	}
	size_t bad = first_nonzero(h, HEAP_BYTES);
	if (bad) {
		snprintf(why, cap, "sbrk: byte %zu not zero", bad - 1);
		return;
	}
	scribble(h, HEAP_BYTES);
}

static int app(const char *path, char *body, size_t cap)
{
	(void)path;
	char why[128];
	check(why, sizeof(why));
	snprintf(body, cap, "%s\n", why[0] ? why : "fresh ok");
	return 200;
}

int main(int argc, char **argv)
{
	serve_blocking(port_arg(argc, argv));
}
