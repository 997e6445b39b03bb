/* pages_server.c PORT: every request writes to many pages - 512 pages of globals and
 * 2048 pages of a heap block allocated at start-up - and answers the sum of the values it
 * just incremented.  From a pristine template the answer is always 2560; any page a reset
 * missed would show as a larger number.  Blocking accept, Connection: close. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define GLOBAL_PAGES 512
#define HEAP_PAGES 2048

static int globals[GLOBAL_PAGES][1024]; /* one int per page is touched */

int main(int argc, char **argv)
{
	char *heap = calloc(HEAP_PAGES, 4096);
	int ls = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1])),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	if (!heap || bind(ls, (struct sockaddr *)&a, sizeof(a)) || listen(ls, 64)) {
		perror("pages_server");
		return 1;
	}
	for (;;) {
		int c = accept(ls, NULL, NULL);
		if (c < 0)
			continue;
		char buf[4096];
		if (read(c, buf, sizeof(buf)) < 0) {
			close(c);
			continue;
		}
		long sum = 0;
		for (int i = 0; i < GLOBAL_PAGES; i++)
			sum += ++globals[i][(i * 7) % 1024];
		for (int i = 0; i < HEAP_PAGES; i++)
			sum += ++heap[(size_t)i * 4096 + (size_t)(i % 4096)];
		char body[32], resp[160];
		int bl = snprintf(body, sizeof(body), "%ld\n", sum);
		int l = snprintf(resp, sizeof(resp), "HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", bl, body);
		if (write(c, resp, (size_t)l) < 0)
			perror("write");
		close(c);
	}
}
