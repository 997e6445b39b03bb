/* info.c - who and where the process is: ids, uname, rlimits, CPUs, random bytes. */
#include <errno.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "sys/syscalls.h"
#include "sys/uaccess.h"

long sys_uname(struct proc *p, const struct sys_args *a)
{
	struct utsname u;
	if (uname(&u) < 0)
		return -errno;
	return copy_to_guest(p, a->a[0], &u, sizeof(u));
}

long sys_getpid(struct proc *p, const struct sys_args *a) { return p->pid; }
long sys_gettid(struct proc *p, const struct sys_args *a) { return p->cur->tid; }
long sys_getppid(struct proc *p, const struct sys_args *a) { return getppid(); }
long sys_getuid(struct proc *p, const struct sys_args *a) { return getuid(); }
long sys_getgid(struct proc *p, const struct sys_args *a) { return getgid(); }
long sys_geteuid(struct proc *p, const struct sys_args *a) { return geteuid(); }
long sys_getegid(struct proc *p, const struct sys_args *a) { return getegid(); }

long sys_getrandom(struct proc *p, const struct sys_args *a)
{
	size_t n = a->a[1] > 0x2000000 ? 0x2000000 : (size_t)a->a[1]; /* Linux caps at 32 MiB */
	if (a->a[2] & ~(uint64_t)(GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE))
		return -EINVAL;
	void *buf = guest_buf(p, a->a[0], n, true);
	if (!buf)
		return -EFAULT;
	ssize_t r = getrandom(buf, n, (unsigned)a->a[2]);
	return r < 0 ? -errno : r;
}

/* The limits the guest sees: the host's, except the two the emulation itself defines. */
static int guest_rlimit(struct proc *p, int res, struct rlimit *out)
{
	if (res < 0 || res >= RLIM_NLIMITS)
		return -EINVAL;
	if (getrlimit(res, out) < 0)
		return -errno;
	if (res == RLIMIT_NOFILE)
		out->rlim_cur = out->rlim_max = (rlim_t)p->fdt.limit;
	if (res == RLIMIT_STACK)
		out->rlim_cur = 8ULL << 20;
	return 0;
}

long sys_prlimit64(struct proc *p, const struct sys_args *a)
{
	int pid = (int)a->a[0], res = (int)a->a[1];
	if (pid != 0 && pid != p->pid)
		return -ESRCH;
	struct rlimit old;
	int err = guest_rlimit(p, res, &old);
	if (err)
		return err;
	if (a->a[2]) {
		struct rlimit lim;
		err = copy_from_guest(p, &lim, a->a[2], sizeof(lim));
		if (err)
			return err;
		if (lim.rlim_cur > lim.rlim_max)
			return -EINVAL;
		/* Only lowering is meaningful here; the emulation keeps its own ceilings. */
		if (lim.rlim_max > old.rlim_max)
			return -EPERM;
		if (res == RLIMIT_NOFILE)
			p->fdt.limit = (int)lim.rlim_cur;
	}
	return a->a[3] ? copy_to_guest(p, a->a[3], &old, sizeof(old)) : 0;
}

long sys_getrlimit(struct proc *p, const struct sys_args *a)
{
	struct rlimit lim;
	int err = guest_rlimit(p, (int)a->a[0], &lim);
	return err ? err : copy_to_guest(p, a->a[1], &lim, sizeof(lim));
}

/* One vCPU: the process runs on CPU 0 only.  Linux writes a whole number of longs and
 * returns how many bytes it wrote. */
long sys_sched_getaffinity(struct proc *p, const struct sys_args *a)
{
	uint64_t len = a->a[1];
	if (len < sizeof(uint64_t) || (len & (sizeof(uint64_t) - 1)))
		return -EINVAL;
	uint64_t mask = 1;
	int err = copy_to_guest(p, a->a[2], &mask, sizeof(mask));
	return err ? err : (long)sizeof(mask);
}
