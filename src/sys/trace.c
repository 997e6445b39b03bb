/* trace.c - --verbose-syscalls: one strace-like line per call, from the table's arg types. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "sys/table.h"
#include "sys/uaccess.h"
#include "util/log.h"

struct line {
	char buf[512];
	size_t len;
};

static void put(struct line *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct line *l, const char *fmt, ...)
{
	if (l->len >= sizeof(l->buf))
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(l->buf + l->len, sizeof(l->buf) - l->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		l->len += (size_t)n;
}

/* Up to 32 bytes of a guest buffer, C-escaped. */
static void put_bytes(struct line *l, struct proc *p, uint64_t addr, long size)
{
	unsigned char tmp[32];
	size_t n = size < 0 ? 0 : (size_t)size > sizeof(tmp) ? sizeof(tmp) : (size_t)size;
	if (copy_from_guest(p, tmp, addr, n)) {
		put(l, "0x%llx", (unsigned long long)addr);
		return;
	}
	put(l, "\"");
	for (size_t i = 0; i < n; i++) {
		unsigned char c = tmp[i];
		if (c == '\n')
			put(l, "\\n");
		else if (c == '"' || c == '\\')
			put(l, "\\%c", c);
		else if (c >= 32 && c < 127)
			put(l, "%c", c);
		else
			put(l, "\\x%02x", c);
	}
	put(l, "\"%s", (size_t)size > n ? "..." : "");
}

static void put_arg(struct line *l, struct proc *p, enum arg_type t, const struct sys_args *a, int i, long ret)
{
	uint64_t v = a->a[i];
	char path[128];
	switch (t) {
	case A_INT: put(l, "%lld", (long long)v); break;
	case A_UINT: put(l, "%llu", (unsigned long long)v); break;
	case A_OCT: put(l, "0%llo", (unsigned long long)v); break;
	case A_FD:
		if ((int)v == AT_FDCWD)
			put(l, "AT_FDCWD");
		else
			put(l, "%d", (int)v);
		break;
	case A_STR:
		if (strncpy_from_guest(p, path, v, sizeof(path)) >= 0)
			put(l, "\"%s\"", path);
		else
			put(l, "0x%llx", (unsigned long long)v);
		break;
	case A_INBUF: put_bytes(l, p, v, i < 5 ? (long)a->a[i + 1] : 0); break;
	case A_OUTBUF:
		if (ret >= 0)
			put_bytes(l, p, v, ret);
		else
			put(l, "0x%llx", (unsigned long long)v);
		break;
	case A_HEX:
	case A_PTR:
	default: put(l, "0x%llx", (unsigned long long)v); break;
	}
}

void trace_syscall(struct proc *p, const struct sys_entry *e, const struct sys_args *a, long ret)
{
	struct line l = {.len = 0};
	char nbuf[32];
	put(&l, "%s(", e ? e->name : sys_name(a->nr, nbuf, sizeof(nbuf)));
	for (int i = 0; e && i < 6 && e->args[i] != A_NONE; i++) {
		if (i)
			put(&l, ", ");
		put_arg(&l, p, (enum arg_type)e->args[i], a, i, ret);
	}
	if (ret == SYS_RESUMED)
		put(&l, ") = ?");
	else if (ret < 0 && ret > -4096)
		put(&l, ") = -1 %s (%s)", strerrorname_np((int)-ret) ?: "E?", strerror((int)-ret));
	else if (ret > 0xffff)
		put(&l, ") = 0x%lx", ret);
	else
		put(&l, ") = %ld", ret);
	log_raw("%.*s\n", (int)l.len, l.buf);
}
