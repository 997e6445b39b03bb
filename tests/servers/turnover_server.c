/* tests/servers/turnover_server.c PORT: an epoll server (the template waits in epoll_wait)
 * whose requests change state the next request must not see, for the check of resets
 * under the guest (tests/vm/isolation-tests, under-guest[...]).  Each path answers a line:
 *   /count    increments a global: "count=N" (1 from a pristine template)
 *   /pages    increments one int in each of 64 global pages: "pages=N" (64 likewise)
 *   /fpu      "mxcsr=X fcw=X xmm15=X"      /setfpu   changes all three: "set ..."
 *   /brk      grows the heap by 64 KiB (page tables change: the reset puts them back
 *             and flushes the TLB) and writes it: "brk=K", K the KiB that read zero (64) */
#include "http.h" /* first: it defines _GNU_SOURCE */

#include "fpu.h"

#include <unistd.h>

#define PAGES 64
static int pages[PAGES][1024];
static int count;

static int app(const char *path, char *body, size_t cap)
{
	if (strcmp(path, "/count") == 0) {
		snprintf(body, cap, "count=%d\n", ++count);
	} else if (strcmp(path, "/pages") == 0) {
		int sum = 0;
		for (int i = 0; i < PAGES; i++)
			sum += ++pages[i][0];
		snprintf(body, cap, "pages=%d\n", sum);
	} else if (strcmp(path, "/brk") == 0) {
		char *b = sbrk(64 * 1024);
		int kib = 0;
		for (int i = 0; b != (void *)-1 && i < 16; i++) {
			kib += b[i * 4096] == 0 ? 4 : 0;
			b[i * 4096] = 1;
		}
		snprintf(body, cap, "brk=%d\n", kib);
	} else if (!fpu_app(path, body, cap)) {
		snprintf(body, cap, "no such path\n");
		return 404;
	}
	return 200;
}

int main(int argc, char **argv)
{
	serve_epoll(port_arg(argc, argv));
}
