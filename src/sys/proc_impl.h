/* proc_impl.h - the emulated process and the handler interface, private to src/sys. */
#ifndef SYS_PROC_IMPL_H
#define SYS_PROC_IMPL_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "sys/fdtab.h"
#include "sys/mm.h"
#include "sys/sys.h"

/* Arguments of one syscall, as the guest passed them (rdi rsi rdx r10 r8 r9). */
struct sys_args {
	uint64_t nr;
	uint64_t a[6];
};

struct proc {
	struct vm *vm;
	struct proc_config cfg;
	struct mm mm;
	struct fdtab fdt;

	bool exited;
	int exit_code;
	struct proc_crash crash;

	char exe_path[PATH_MAX];  /* host path of the executable, for /proc/self/exe */
	pid_t pid;                /* what getpid() answers (the guest is its own small world) */
	uint64_t clear_child_tid; /* set_tid_address */
	uint64_t robust_list;
	uint64_t robust_list_len;
	uint64_t rseq_addr;
	struct sigaction_rec {
		uint64_t handler, flags, restorer, mask;
	} sigactions[65];
	uint64_t sigmask;

	uint8_t enosys_logged[512 / 8]; /* --verbose names each unimplemented call once */
};

/* A handler returns the value for rax: >= 0 or -errno. */
typedef long (*sys_fn)(struct proc *p, const struct sys_args *a);

#endif
