/* log_server.c PORT LOGFILE DATAFILE: files a request VM shares with the others, and files
 * it does not.  At start-up it opens LOGFILE for writing (truncated, no O_APPEND), opens
 * DATAFILE read-only and reads its first line.  Each request writes "request" to stdout and
 * to LOGFILE, reads DATAFILE's next line and answers it.  With --ephemeral every answer is
 * DATAFILE's second line (a read-only file's offset is the template's in every request),
 * while stdout and LOGFILE get one line per request (files open for writing are shared,
 * so requests do not overwrite each other's lines).  Blocking accept, Connection: close. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* The next line of fd (without the newline), read a byte at a time so the file offset
 * stays just past it. */
static void read_line(int fd, char *out, size_t cap)
{
	size_t n = 0;
	char c;
	while (n + 1 < cap && read(fd, &c, 1) == 1 && c != '\n')
		out[n++] = c;
	out[n] = 0;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: log_server PORT LOGFILE DATAFILE\n");
		return 2;
	}
	int log = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int data = open(argv[3], O_RDONLY | O_CLOEXEC);
	char line[256];
	if (log < 0 || data < 0) {
		perror("log_server: open");
		return 1;
	}
	read_line(data, line, sizeof(line));
	int ls = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in a = {.sin_family = AF_INET,
	                        .sin_port = htons((uint16_t)atoi(argv[1])),
	                        .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (bind(ls, (struct sockaddr *)&a, sizeof(a)) || listen(ls, 64)) {
		perror("log_server");
		return 1;
	}
	for (;;) {
		int c = accept(ls, NULL, NULL);
		if (c < 0)
			continue;
		char buf[4096], resp[512];
		if (read(c, buf, sizeof(buf)) < 0) {
			close(c);
			continue;
		}
		if (write(1, "request\n", 8) != 8 || write(log, "request\n", 8) != 8)
			perror("log_server: write");
		read_line(data, line, sizeof(line));
		int l = snprintf(resp, sizeof(resp),
		                 "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s\n",
		                 strlen(line) + 1, line);
		if (write(c, resp, (size_t)l) < 0)
			perror("write");
		close(c);
	}
}
