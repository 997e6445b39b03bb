/* log_server.c PORT LOGFILE DATAFILE: files a request VM shares with the others, and files
 * it does not.  At start-up it opens LOGFILE for writing (truncated, no O_APPEND), opens
 * DATAFILE read-only and reads its first line.  Each request writes "request" to stdout and
 * to LOGFILE, reads DATAFILE's next line and answers it.  With --ephemeral every answer is
 * DATAFILE's second line (a read-only file's offset is the template's in every request),
 * while stdout and LOGFILE get one line per request (files open for writing are shared,
 * so requests do not overwrite each other's lines).  tests/servers/http.h, blocking accept. */
#include "http.h" /* first: it defines _GNU_SOURCE */

static int log_fd = -1, data_fd = -1;

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

static int app(const char *path, char *body, size_t cap)
{
	(void)path;
	char line[256];
	if (write(1, "request\n", 8) != 8 || write(log_fd, "request\n", 8) != 8)
		perror("log_server: write");
	read_line(data_fd, line, sizeof(line));
	snprintf(body, cap, "%s\n", line);
	return 200;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: log_server PORT LOGFILE DATAFILE\n");
		return 2;
	}
	log_fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	data_fd = open(argv[3], O_RDONLY | O_CLOEXEC);
	if (log_fd < 0 || data_fd < 0)
		die("log_server: open");
	char first[256];
	read_line(data_fd, first, sizeof(first));
	serve_blocking(port_arg(argc, argv));
}
