/* pages_server.c PORT [rotate]: every request writes to many pages - 512 pages of globals
 * and 2048 pages of a heap block allocated at start-up - and answers the sum of the values
 * it just incremented.  From a pristine template the answer is always 2560; any page a
 * reset missed would show as a larger number.  With "rotate", a request for a path ending
 * in the number n skips the heap pages i with i % 3 == n % 3 (answer 1877, 1877, 1878 for
 * n % 3 = 0, 1, 2), so that from one request to the next pages stop and start being
 * written (the reset's hot pages).  Blocking accept, Connection: close. */
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
	int rotate = argc > 2 && strcmp(argv[2], "rotate") == 0;
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
		char buf[4096] = "";
		if (read(c, buf, sizeof(buf) - 1) < 0) {
			close(c);
			continue;
		}
		int skip = -1; /* heap pages i % 3 == skip are left alone */
		if (rotate) {
			char *end = strstr(buf, " HTTP/");
			char *d = end;
			while (d && d > buf && d[-1] >= '0' && d[-1] <= '9')
				d--;
			skip = d && d < end ? atoi(d) % 3 : 0;
		}
		long sum = 0;
		for (int i = 0; i < GLOBAL_PAGES; i++)
			sum += ++globals[i][(i * 7) % 1024];
		for (int i = 0; i < HEAP_PAGES; i++)
			if (i % 3 != skip)
				sum += ++heap[(size_t)i * 4096 + (size_t)(i % 4096)];
		char body[32], resp[160];
		int bl = snprintf(body, sizeof(body), "%ld\n", sum);
		int l = snprintf(resp, sizeof(resp), "HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", bl, body);
		if (write(c, resp, (size_t)l) < 0)
			perror("write");
		close(c);
	}
}
