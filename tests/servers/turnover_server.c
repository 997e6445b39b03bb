/* tests/servers/turnover_server.c PORT: an epoll server (the template waits in epoll_wait)
 * whose requests change state the next request must not see, for the check of resets
 * under the guest (tests/vm/isolation-tests, under-guest[...]).  Each path answers a line:
 *   /count    increments a global: "count=N" (1 from a pristine template)
 *   /pages    increments one int in each of 64 global pages: "pages=N" (64 likewise)
 *   /fpu      "mxcsr=X fcw=X xmm15=X"      /setfpu   changes all three: "set ..."
 *   /brk      grows the heap by 64 KiB (page tables change: the reset puts them back
 *             and flushes the TLB) and writes it: "brk=K", K the KiB that read zero (64)
 *   /unmap    checks the two pages the template mapped and filled, then unmaps the second
 *             (the reset maps it back): "unmap=ok" where both still hold the pattern
 *   /refs...  increments one int in each of 64 other pages, sums them and puts each back
 *             (a reference count's up and down: the pages end as they began): "refs=64" */
#include "http.h" /* first: it defines _GNU_SOURCE */

#include "fpu.h"

#include <stdbool.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAGES 64
static int pages[PAGES][1024];
static volatile int refs[PAGES][1024];
static int count;
static unsigned char *filled; /* two pages of FILL, mapped before the template froze */
#define FILL 0x5a

static int app(const char *path, char *body, size_t cap)
{
	if (strcmp(path, "/count") == 0) {
		snprintf(body, cap, "count=%d\n", ++count);
	} else if (strcmp(path, "/pages") == 0) {
		int sum = 0;
		for (int i = 0; i < PAGES; i++)
			sum += ++pages[i][0];
		snprintf(body, cap, "pages=%d\n", sum);
	} else if (strncmp(path, "/refs", 5) == 0) {
		int sum = 0;
		for (int i = 0; i < PAGES; i++)
			sum += ++refs[i][0];
		for (int i = 0; i < PAGES; i++)
			refs[i][0]--;
		snprintf(body, cap, "refs=%d\n", sum);
	} else if (strcmp(path, "/brk") == 0) {
		char *b = sbrk(64 * 1024);
		int kib = 0;
		for (int i = 0; b != (void *)-1 && i < 16; i++) {
			kib += b[i * 4096] == 0 ? 4 : 0;
			b[i * 4096] = 1;
		}
		snprintf(body, cap, "brk=%d\n", kib);
	} else if (strcmp(path, "/unmap") == 0) {
		bool ok = true;
		for (int i = 0; i < 2 * 4096; i++)
			ok = ok && filled[i] == FILL;
		snprintf(body, cap, "unmap=%s\n", ok && munmap(filled + 4096, 4096) == 0 ? "ok" : "bad");
	} else if (!fpu_app(path, body, cap)) {
		snprintf(body, cap, "no such path\n");
		return 404;
	}
	return 200;
}

int main(int argc, char **argv)
{
	filled = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (filled == MAP_FAILED)
		return 1;
	memset(filled, FILL, 2 * 4096);
	serve_epoll(port_arg(argc, argv));
}
