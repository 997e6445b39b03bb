/* info.c - who and where the process is: ids, uname, rlimits, CPUs, random bytes. */
#include <errno.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/sysinfo.h>
#include <sys/times.h>
#include <sys/utsname.h>
#include <string.h>
#include <unistd.h>

#include "sys/processes/process.h"
#include "sys/syscalls.h"
#include "sys/uaccess.h"

#define UTS_NAME_MAX 64 /* __NEW_UTS_LEN */

long sys_uname(struct proc *p, const struct sys_args *a)
{
	struct utsname u;
	if (uname(&u) < 0)
		return -errno;
	if (p->id.uts.node_set)
		memcpy(u.nodename, p->id.uts.node, sizeof(p->id.uts.node));
	if (p->id.uts.domain_set)
		memcpy(u.domainname, p->id.uts.domain, sizeof(p->id.uts.domain));
	return copy_to_guest(p, a->a[0], &u, sizeof(u));
}

/* sethostname/setdomainname change the guest's names only, as in a UTS namespace of its
 * own: the host's are never touched.  Permission as Linux: effective uid 0. */
static long set_uts_name(struct proc *p, char *dst, bool *set, uint64_t uname_, uint64_t len)
{
	if (len > UTS_NAME_MAX)
		return -EINVAL;
	if (!cred_privileged(&p->id.cred))
		return -EPERM;
	char buf[UTS_NAME_MAX + 1] = {0};
	int err = copy_from_guest(p, buf, uname_, (size_t)len);
	if (err)
		return err;
	memcpy(dst, buf, sizeof(buf));
	*set = true;
	return 0;
}

long sys_sethostname(struct proc *p, const struct sys_args *a)
{
	return set_uts_name(p, p->id.uts.node, &p->id.uts.node_set, a->a[0], a->a[1]);
}

long sys_setdomainname(struct proc *p, const struct sys_args *a)
{
	return set_uts_name(p, p->id.uts.domain, &p->id.uts.domain_set, a->a[0], a->a[1]);
}

long sys_getpid(struct proc *p, const struct sys_args *a)
{
	return p->id.pid;
}
long sys_gettid(struct proc *p, const struct sys_args *a)
{
	return p->thr.cur->tid;
}

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
		out->rlim_cur = (rlim_t)p->fdt.limit, out->rlim_max = (rlim_t)p->fdt.hard;
	if (res == RLIMIT_STACK)
		out->rlim_cur = 8ULL << 20;
	return 0;
}

long sys_prlimit64(struct proc *p, const struct sys_args *a)
{
	int pid = (int)a->a[0], res = (int)a->a[1];
	if (pid != 0 && pid != p->id.pid)
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
		if (res == RLIMIT_NOFILE) {
			p->fdt.limit = (int)lim.rlim_cur;
			p->fdt.hard = (int)lim.rlim_max;
		}
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
long sys_sysinfo(struct proc *p, const struct sys_args *a)
{
	struct sysinfo si;
	if (sysinfo(&si) < 0)
		return -errno;
	/* Memory as the guest has it: its address space is its limit. */
	uint64_t limit = vm_user_size(p->vm) / si.mem_unit;
	if (si.totalram > limit)
		si.totalram = limit;
	if (si.freeram > si.totalram)
		si.freeram = si.totalram;
	si.procs = (unsigned short)p->thr.nthreads;
	si.uptime -= (long)(p->srv.mono_offset_ns / 1000000000LL); /* CLOCK_BOOTTIME, as the guest reads it */
	return copy_to_guest(p, a->a[0], &si, sizeof(si));
}

long sys_getrusage(struct proc *p, const struct sys_args *a)
{
	int who = (int)a->a[0];
	if (who != RUSAGE_SELF && who != RUSAGE_CHILDREN && who != RUSAGE_THREAD)
		return -EINVAL;
	struct rusage ru;
	memset(&ru, 0, sizeof(ru));
	/* Children: none.  Self: kvmserver's thread that runs this VM is the closest truth. */
	if (who != RUSAGE_CHILDREN && getrusage(RUSAGE_THREAD, &ru) < 0)
		return -errno;
	return copy_to_guest(p, a->a[1], &ru, sizeof(ru));
}

long sys_times(struct proc *p, const struct sys_args *a)
{
	struct tms t;
	clock_t now = times(&t);
	struct rusage ru;
	getrusage(RUSAGE_THREAD, &ru);
	long hz = sysconf(_SC_CLK_TCK);
	t.tms_utime = (clock_t)(ru.ru_utime.tv_sec * hz + ru.ru_utime.tv_usec * hz / 1000000);
	t.tms_stime = (clock_t)(ru.ru_stime.tv_sec * hz + ru.ru_stime.tv_usec * hz / 1000000);
	t.tms_cutime = t.tms_cstime = 0;
	if (a->a[0]) {
		int err = copy_to_guest(p, a->a[0], &t, sizeof(t));
		if (err)
			return err;
	}
	return (long)now;
}

/* Nice values are answered, not applied: the vCPU thread's priority is the server's. */
long sys_getpriority(struct proc *p, const struct sys_args *a)
{
	if ((int)a->a[0] < PRIO_PROCESS || (int)a->a[0] > PRIO_USER)
		return -EINVAL;
	return 20 - p->id.nice; /* the raw syscall returns 20 - nice */
}

long sys_setpriority(struct proc *p, const struct sys_args *a)
{
	int which = (int)a->a[0], prio = (int)a->a[2];
	if (which < PRIO_PROCESS || which > PRIO_USER)
		return -EINVAL;
	if (prio < p->id.nice && geteuid() != 0)
		return -EACCES;
	p->id.nice = prio < -20 ? -20 : prio > 19 ? 19 : prio;
	return 0;
}
