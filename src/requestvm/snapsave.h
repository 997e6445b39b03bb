/* snapsave.h - what the two halves of writing a snapshot share (snapsave.c, snapfds.c;
 * private to src/requestvm). */
#ifndef REQUESTVM_SNAPSAVE_H
#define REQUESTVM_SNAPSAVE_H

#include <stddef.h>

#include "requestvm/snapfile.h"

struct proc;

/* The fd table section (snapfds.c). */
int snap_put_fds(struct proc *p, struct snap_wbuf *w, char *why, size_t whylen);

#endif
