/* snapsave.h - what the two halves of writing a snapshot share (snapsave.c, snapfds.c;
 * private to src/requestvm). */
#ifndef REQUESTVM_SNAPSAVE_H
#define REQUESTVM_SNAPSAVE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include "requestvm/snapfile.h"

struct proc;

/* A one-line reason into why[whylen]; -1 to return. */
__attribute__((format(printf, 3, 4))) static inline int why_fmt(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	return -1;
}
#define WHY(...) why_fmt(why, whylen, __VA_ARGS__)

/* The fd table section (snapfds.c). */
int snap_put_fds(struct proc *p, struct snap_wbuf *w, char *why, size_t whylen);

#endif
