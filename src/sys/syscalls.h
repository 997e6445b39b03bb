/* syscalls.h - prototypes of the handlers listed in syscalls.def (private to src/sys). */
#ifndef SYS_SYSCALLS_H
#define SYS_SYSCALLS_H

#include "sys/proc_impl.h"

#define SYSCALL(name, ...) long sys_##name(struct proc *p, const struct sys_args *a);
#define BLOCKING(name, wait, ...) SYSCALL(name)
#include "sys/syscalls.def"
#undef BLOCKING
#undef SYSCALL

#endif
