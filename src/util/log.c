/* log.c - stderr logging; each message is written with one write() so lines from
 * worker threads never interleave mid-line. */
#include <stdio.h>
#include <unistd.h>

#include "util/log.h"

static void emit(const char *prefix, const char *fmt, va_list ap)
{
	char buf[1024];
	int n = snprintf(buf, sizeof(buf), "%s", prefix);
	int m = vsnprintf(buf + n, sizeof(buf) - n, fmt, ap);
	size_t len = (size_t)n + (m > 0 ? (size_t)m : 0);
	if (len > sizeof(buf) - 2)
		len = sizeof(buf) - 2;
	if (*prefix && (len == 0 || buf[len - 1] != '\n'))
		buf[len++] = '\n';
	ssize_t unused = write(STDERR_FILENO, buf, len);
	(void)unused;
}

void log_msg(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	emit("kvmserver: ", fmt, ap);
	va_end(ap);
}

void log_raw(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	emit("", fmt, ap);
	va_end(ap);
}
