/* table.h - the syscall table: one row per implemented call (private to src/sys). */
#ifndef SYS_TABLE_H
#define SYS_TABLE_H

#include "sys/blocking.h"
#include "sys/proc_impl.h"

/* How trace.c prints an argument (Blink's strace.h idea: types, not printf in handlers). */
enum arg_type {
	A_NONE,
	A_INT, /* signed decimal */
	A_UINT, /* unsigned decimal (sizes) */
	A_HEX, /* flags, addresses */
	A_OCT, /* modes */
	A_FD, /* a file descriptor (AT_FDCWD shown by name) */
	A_STR, /* a guest C string (path) */
	A_INBUF, /* guest bytes the call reads; length in the next argument */
	A_OUTBUF, /* guest bytes the call writes; length = the result */
	A_PTR, /* a guest pointer to a struct */
};

struct sys_entry {
	sys_fn fn;
	const char *name;
	unsigned char args[6];
	struct sys_wait wait; /* what it waits on, if it can block (blocking.h) */
};

#define SYS_TABLE_SIZE 512
extern const struct sys_entry sys_table[SYS_TABLE_SIZE];

/* A name for any syscall number, implemented or not ("syscall_1000" when unknown). */
const char *sys_name(uint64_t nr, char *buf, unsigned size);

/* A handler that loaded a whole new user state (sigreturn, thread switch) returns this so
 * the dispatcher leaves rax alone. */
#define SYS_RESUMED ((long)INT64_MIN)

long sys_dispatch(struct proc *p, const struct sys_args *a);
/* The ring thread's dispatcher (ring.c): a call ring_allowed let through, no parking, no
 * server verdict before it. */
long sys_dispatch_ring(struct proc *p, const struct sys_args *a);

/* trace.c */
void trace_syscall(struct proc *p, const struct sys_entry *e, const struct sys_args *a, long ret);

#endif
