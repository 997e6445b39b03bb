/* stdio_probe.c OUTFILE: for tests/vm/cli-tests (not a NAME_test.c: it is run with its stdio
 * closed, so it reports into OUTFILE).  Writes, for fds 0-2, whether each is open, then which
 * fd the first open() got: "0:EBADF 1:EBADF 2:EBADF first-open=0" natively when started with
 * all three closed. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	char line[128];
	size_t n = 0;
	for (int fd = 0; fd < 3; fd++) {
		int r = fcntl(fd, F_GETFD);
		n += (size_t)snprintf(line + n, sizeof(line) - n, "%d:%s ", fd,
		                      r >= 0           ? "open"
		                      : errno == EBADF ? "EBADF"
		                                       : "error");
	}
	int out = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (out < 0)
		return 1;
	n += (size_t)snprintf(line + n, sizeof(line) - n, "first-open=%d\n", out);
	return write(out, line, n) == (ssize_t)n ? 0 : 1;
}
