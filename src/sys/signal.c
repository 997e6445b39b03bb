/* signal.c - signal dispositions and the mask, recorded for the guest (delivery of
 * signals to guest handlers is not implemented yet: faults end the process). */
#include <errno.h>
#include <signal.h>

#include "sys/syscalls.h"
#include "sys/uaccess.h"

#define GUEST_NSIG 64

long sys_rt_sigaction(struct proc *p, const struct sys_args *a)
{
	int sig = (int)a->a[0];
	if (a->a[3] != sizeof(uint64_t) || sig < 1 || sig > GUEST_NSIG)
		return -EINVAL;
	struct sigaction_rec old = p->sigactions[sig];
	if (a->a[1]) {
		if (sig == SIGKILL || sig == SIGSTOP)
			return -EINVAL;
		struct sigaction_rec act;
		int err = copy_from_guest(p, &act, a->a[1], sizeof(act));
		if (err)
			return err;
		p->sigactions[sig] = act;
	}
	return a->a[2] ? copy_to_guest(p, a->a[2], &old, sizeof(old)) : 0;
}

long sys_rt_sigprocmask(struct proc *p, const struct sys_args *a)
{
	int how = (int)a->a[0];
	if (a->a[3] != sizeof(uint64_t))
		return -EINVAL;
	uint64_t old = p->cur->sigmask;
	if (a->a[1]) {
		uint64_t set;
		int err = copy_from_guest(p, &set, a->a[1], sizeof(set));
		if (err)
			return err;
		/* SIGKILL and SIGSTOP cannot be blocked. */
		set &= ~((1ULL << (SIGKILL - 1)) | (1ULL << (SIGSTOP - 1)));
		switch (how) {
		case SIG_BLOCK: p->cur->sigmask |= set; break;
		case SIG_UNBLOCK: p->cur->sigmask &= ~set; break;
		case SIG_SETMASK: p->cur->sigmask = set; break;
		default: return -EINVAL;
		}
	}
	return a->a[2] ? copy_to_guest(p, a->a[2], &old, sizeof(old)) : 0;
}
