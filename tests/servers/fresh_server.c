/* fresh_server.c PORT: fresh memory must read as zero in every request, however the VM
 * reuses it.  Each request maps 1 MiB anonymous (the same address every time, as the
 * template's state is the same), checks it is all zero, writes every page, unmaps it and
 * maps it again (zero again within the request), writes it and leaves it mapped; then grows
 * the heap by 64 KiB with sbrk, checks that is zero and writes it.  Answers "fresh ok" or
 * what was not zero.  Blocking accept, Connection: close. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

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

int main(int argc, char **argv)
{
	int ls = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in a = {.sin_family = AF_INET,
	                        .sin_port = htons((uint16_t)atoi(argc > 1 ? argv[1] : "0")),
	                        .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (bind(ls, (struct sockaddr *)&a, sizeof(a)) || listen(ls, 64)) {
		perror("fresh_server");
		return 1;
	}
	for (;;) {
		int c = accept(ls, NULL, NULL);
		if (c < 0)
			continue;
		char buf[4096], why[128], body[160], resp[320];
		if (read(c, buf, sizeof(buf)) < 0) {
			close(c);
			continue;
		}
		check(why, sizeof(why));
		int bl = snprintf(body, sizeof(body), "%s\n", why[0] ? why : "fresh ok");
		int l = snprintf(resp, sizeof(resp),
		                 "HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", bl, body);
		if (write(c, resp, (size_t)l) < 0)
			perror("write");
		close(c);
	}
}
