/* cred.c - the guest's credentials: real, effective, saved and filesystem user and group
 * ids and the supplementary groups, kept per guest process (struct cred in proc_impl.h).
 *
 * Why emulated, not the host's: the host process is shared by every request VM and its
 * own identity must never change under it, and the guest's file access is decided by the
 * policy, not by uids.  So the ids start as the host's, change only in struct cred, and
 * follow Linux's permission rules (credentials(7)): a guest whose effective uid is 0 may
 * set any id; otherwise only to one of its real, effective or saved ids.  What the ids
 * change is what the guest sees (get*id, /proc/self/status, stat's owner checks in
 * faccessat, chown's permission); the host always acts as itself. */
#include <errno.h>
#include <unistd.h>

#include "sys/syscalls.h"
#include "sys/uaccess.h"

void cred_init(struct cred *c)
{
	c->ruid = getuid();
	c->euid = c->suid = c->fsuid = geteuid();
	c->rgid = getgid();
	c->egid = c->sgid = c->fsgid = getegid();
	c->ngroups = 0;
}

bool cred_privileged(const struct cred *c)
{
	return c->euid == 0;
}

#define NO_ID ((uint32_t)-1)

/* May the process set an id to v, given its three current ids (the non-root rule)? */
static bool may_take(const struct cred *c, uint32_t v, uint32_t r, uint32_t e, uint32_t s)
{
	return v == NO_ID || cred_privileged(c) || v == r || v == e || v == s;
}

/* setresuid/setresgid on one triple: each id -1 = unchanged. */
static long set_res(const struct cred *c, uint32_t *r, uint32_t *e, uint32_t *s, uint32_t *fs, uint32_t nr, uint32_t ne,
                    uint32_t ns)
{
	if (!may_take(c, nr, *r, *e, *s) || !may_take(c, ne, *r, *e, *s) || !may_take(c, ns, *r, *e, *s))
		return -EPERM;
	if (nr != NO_ID)
		*r = nr;
	if (ne != NO_ID)
		*e = ne;
	if (ns != NO_ID)
		*s = ns;
	*fs = *e;
	return 0;
}

/* setreuid/setregid: the saved id follows the new effective one when the real id is set,
 * or the effective one is set to something other than the old real id. */
static long set_re(const struct cred *c, uint32_t *r, uint32_t *e, uint32_t *s, uint32_t *fs, uint32_t nr, uint32_t ne)
{
	bool priv = cred_privileged(c);
	if (nr != NO_ID && !priv && nr != *r && nr != *e)
		return -EPERM;
	if (!may_take(c, ne, *r, *e, *s))
		return -EPERM;
	uint32_t old_r = *r;
	if (nr != NO_ID)
		*r = nr;
	if (ne != NO_ID)
		*e = ne;
	if (nr != NO_ID || (ne != NO_ID && ne != old_r))
		*s = *e;
	*fs = *e;
	return 0;
}

/* setuid/setgid: privileged sets all three, otherwise only the effective id. */
static long set_one(const struct cred *c, uint32_t *r, uint32_t *e, uint32_t *s, uint32_t *fs, uint32_t v)
{
	if (v == NO_ID)
		return -EINVAL;
	if (cred_privileged(c))
		*r = *s = v;
	else if (v != *r && v != *s)
		return -EPERM;
	*e = *fs = v;
	return 0;
}

long sys_getuid(struct proc *p, const struct sys_args *a)
{
	return p->id.cred.ruid;
}
long sys_getgid(struct proc *p, const struct sys_args *a)
{
	return p->id.cred.rgid;
}
long sys_geteuid(struct proc *p, const struct sys_args *a)
{
	return p->id.cred.euid;
}
long sys_getegid(struct proc *p, const struct sys_args *a)
{
	return p->id.cred.egid;
}

static long put_ids(struct proc *p, const struct sys_args *a, uint32_t r, uint32_t e, uint32_t s)
{
	uint32_t ids[3] = {r, e, s};
	for (int i = 0; i < 3; i++) {
		int err = copy_to_guest(p, a->a[i], &ids[i], sizeof(ids[i]));
		if (err)
			return err;
	}
	return 0;
}

long sys_getresuid(struct proc *p, const struct sys_args *a)
{
	return put_ids(p, a, p->id.cred.ruid, p->id.cred.euid, p->id.cred.suid);
}

long sys_getresgid(struct proc *p, const struct sys_args *a)
{
	return put_ids(p, a, p->id.cred.rgid, p->id.cred.egid, p->id.cred.sgid);
}

long sys_setresuid(struct proc *p, const struct sys_args *a)
{
	struct cred *c = &p->id.cred;
	return set_res(c, &c->ruid, &c->euid, &c->suid, &c->fsuid, (uint32_t)a->a[0], (uint32_t)a->a[1],
	               (uint32_t)a->a[2]);
}

long sys_setresgid(struct proc *p, const struct sys_args *a)
{
	struct cred *c = &p->id.cred; /* privilege is the uid's (CAP_SETGID), the rule the gids' */
	return set_res(c, &c->rgid, &c->egid, &c->sgid, &c->fsgid, (uint32_t)a->a[0], (uint32_t)a->a[1],
	               (uint32_t)a->a[2]);
}

long sys_setreuid(struct proc *p, const struct sys_args *a)
{
	struct cred *c = &p->id.cred;
	return set_re(c, &c->ruid, &c->euid, &c->suid, &c->fsuid, (uint32_t)a->a[0], (uint32_t)a->a[1]);
}

long sys_setregid(struct proc *p, const struct sys_args *a)
{
	struct cred *c = &p->id.cred;
	return set_re(c, &c->rgid, &c->egid, &c->sgid, &c->fsgid, (uint32_t)a->a[0], (uint32_t)a->a[1]);
}

long sys_setuid(struct proc *p, const struct sys_args *a)
{
	struct cred *c = &p->id.cred;
	return set_one(c, &c->ruid, &c->euid, &c->suid, &c->fsuid, (uint32_t)a->a[0]);
}

long sys_setgid(struct proc *p, const struct sys_args *a)
{
	struct cred *c = &p->id.cred;
	return set_one(c, &c->rgid, &c->egid, &c->sgid, &c->fsgid, (uint32_t)a->a[0]);
}

/* setfsuid/setfsgid return the previous id, and never an error (Linux). */
long sys_setfsuid(struct proc *p, const struct sys_args *a)
{
	struct cred *c = &p->id.cred;
	uint32_t old = c->fsuid, v = (uint32_t)a->a[0];
	if (v != NO_ID && (cred_privileged(c) || v == c->ruid || v == c->euid || v == c->suid || v == c->fsuid))
		c->fsuid = v;
	return old;
}

long sys_setfsgid(struct proc *p, const struct sys_args *a)
{
	struct cred *c = &p->id.cred;
	uint32_t old = c->fsgid, v = (uint32_t)a->a[0];
	if (v != NO_ID && (cred_privileged(c) || v == c->rgid || v == c->egid || v == c->sgid || v == c->fsgid))
		c->fsgid = v;
	return old;
}

long sys_getgroups(struct proc *p, const struct sys_args *a)
{
	int size = (int)a->a[0];
	if (size < 0)
		return -EINVAL;
	if (size == 0)
		return p->id.cred.ngroups;
	if (size < p->id.cred.ngroups)
		return -EINVAL;
	int err = copy_to_guest(p, a->a[1], p->id.cred.groups, (size_t)p->id.cred.ngroups * sizeof(uint32_t));
	return err ? err : p->id.cred.ngroups;
}

long sys_setgroups(struct proc *p, const struct sys_args *a)
{
	int64_t n = (int64_t)a->a[0];
	if (n < 0 || n > CRED_MAX_GROUPS)
		return -EINVAL;
	if (!cred_privileged(&p->id.cred))
		return -EPERM;
	uint32_t groups[CRED_MAX_GROUPS];
	int err = copy_from_guest(p, groups, a->a[1], (size_t)n * sizeof(uint32_t));
	if (err)
		return err;
	for (int64_t i = 0; i < n; i++)
		p->id.cred.groups[i] = groups[i];
	p->id.cred.ngroups = (int)n;
	return 0;
}

bool cred_in_group(const struct cred *c, uint32_t gid)
{
	if (gid == c->fsgid)
		return true;
	for (int i = 0; i < c->ngroups; i++)
		if (c->groups[i] == gid)
			return true;
	return false;
}
