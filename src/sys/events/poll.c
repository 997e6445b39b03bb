/* poll.c - poll, ppoll, select, pselect6 on the host.  Guest fds become host fds, the host's
 * ppoll waits with the guest's own timeout (so timeouts are the kernel's, exactly), and the
 * results are mapped back.  select is built on ppoll too: an fd_set of host fds would be
 * bound by the host's FD_SETSIZE, a pollfd array is not.
 *
 * As Linux: a guest fd that is not open gives POLLNVAL in poll (and then no waiting), and
 * EBADF in select; ppoll, select and pselect6 write the time left back to the guest's
 * timeout.  The signal masks of ppoll/pselect6 are validated here and applied by the
 * scheduler, which parks the thread with that mask whenever a signal could end the wait
 * (another thread, the interval timer, a pending signal the mask unblocks; see
 * blocking.h).  When the host waits in the call itself, only a host signal can come: it
 * ends the wait with EINTR (the dispatcher restarts the call if the guest ignores it).
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "sys/syscalls.h"
#include "sys/uaccess.h"
#include "sys/events/wait_args.h"

/* The raw ppoll: the kernel writes the time left back into *ts. */
static long host_ppoll(struct pollfd *fds, size_t n, struct timespec *ts)
{
	long r = syscall(SYS_ppoll, fds, n, ts, NULL, 0);
	return r < 0 ? -errno : r;
}

/* ---- poll, ppoll ------------------------------------------------------------------------- */

static long do_poll(struct proc *p, uint64_t ufds, uint64_t nfds, struct timespec *ts)
{
	if (nfds > (uint64_t)p->fdt.limit)
		return -EINVAL;
	size_t n = (size_t)nfds;
	struct pollfd *g = NULL, *h = NULL;
	if (n) {
		g = malloc(n * sizeof(*g));
		h = malloc(n * sizeof(*h));
		if (!g || !h) {
			free(g);
			free(h);
			return -ENOMEM;
		}
	}
	long r = n ? copy_from_guest(p, g, ufds, n * sizeof(*g)) : 0;
	if (r)
		goto out;
	size_t invalid = 0;
	for (size_t i = 0; i < n; i++) {
		h[i] = (struct pollfd){.fd = -1, .events = g[i].events};
		if (g[i].fd < 0)
			continue; /* ignored, revents 0 */
		struct fd_entry *e = fdtab_get(&p->fdt, g[i].fd);
		if (e)
			h[i].fd = e->host_fd;
		else
			invalid++;
	}
	/* An invalid fd is an event: Linux returns at once. */
	struct timespec zero = {0, 0};
	r = host_ppoll(h, n, invalid ? &zero : ts);
	if (r < 0)
		goto out;
	r = 0;
	for (size_t i = 0; i < n; i++) {
		if (g[i].fd >= 0 && h[i].fd < 0)
			g[i].revents = POLLNVAL;
		else
			g[i].revents = g[i].fd < 0 ? 0 : h[i].revents;
		if (g[i].revents)
			r++;
	}
	if (n) {
		int err = copy_to_guest(p, ufds, g, n * sizeof(*g));
		if (err)
			r = err;
	}
out:
	free(g);
	free(h);
	return r;
}

long sys_poll(struct proc *p, const struct sys_args *a)
{
	struct timespec ts;
	return do_poll(p, a->a[0], a->a[1], timeout_from_ms((int)a->a[2], &ts));
}

long sys_ppoll(struct proc *p, const struct sys_args *a)
{
	struct timespec ts;
	int err = timeout_from_guest(p, a->a[2], &ts) ?: check_sigmask(p, a->a[3], a->a[4]);
	if (err)
		return err;
	bool update = a->a[2] && (ts.tv_sec || ts.tv_nsec);
	long r = do_poll(p, a->a[0], a->a[1], a->a[2] ? &ts : NULL);
	/* The time left goes back to the guest (not for a zero timeout; a read-only timeout
	 * is no error), as Linux's poll_select_finish. */
	if (update && (r >= 0 || r == -EINTR))
		copy_to_guest(p, a->a[2], &ts, sizeof(ts));
	return r;
}

/* ---- select, pselect6 -------------------------------------------------------------------- */

#define POLLIN_SET (POLLRDNORM | POLLRDBAND | POLLIN | POLLHUP | POLLERR)
#define POLLOUT_SET (POLLWRBAND | POLLWRNORM | POLLOUT | POLLERR)
#define POLLEX_SET (POLLPRI)

/* select over ppoll.  `ts` (NULL: forever) is updated with the time left. */
static long do_select(struct proc *p, int64_t n_arg, const uint64_t uset[3], struct timespec *ts)
{
	int n = (int)n_arg;
	if (n < 0)
		return -EINVAL;
	/* Linux looks at no more bits than its fd table holds (at least BITS_PER_LONG). */
	int max_fds = p->fdt.cap > 64 ? p->fdt.cap : 64;
	if (n > max_fds)
		n = max_fds;
	size_t words = ((size_t)n + 63) / 64;
	uint64_t *sets = calloc(words ? 6 * words : 1, sizeof(uint64_t)); /* in[3], out[3] */
	struct pollfd *pfd = calloc(n ? (size_t)n : 1, sizeof(*pfd));
	int *gfd = calloc(n ? (size_t)n : 1, sizeof(int));
	long r = -ENOMEM;
	if (!sets || !pfd || !gfd)
		goto out;
	for (int k = 0; k < 3; k++) {
		if (uset[k] && words && (r = copy_from_guest(p, sets + k * words, uset[k], words * 8)))
			goto out;
	}
	size_t np = 0;
	for (int fd = 0; fd < n; fd++) {
		uint64_t bit = 1ULL << (fd % 64);
		size_t w = (size_t)fd / 64;
		bool in = sets[w] & bit, out = sets[words + w] & bit, ex = sets[2 * words + w] & bit;
		if (!in && !out && !ex)
			continue;
		struct fd_entry *e = fdtab_get(&p->fdt, fd);
		if (!e) {
			r = -EBADF;
			goto out;
		}
		short ev = (short)((in ? POLLIN | POLLRDNORM | POLLRDBAND : 0) |
		                   (out ? POLLOUT | POLLWRNORM | POLLWRBAND : 0) | (ex ? POLLPRI : 0));
		pfd[np] = (struct pollfd){.fd = e->host_fd, .events = ev};
		gfd[np++] = fd;
	}
	r = host_ppoll(pfd, np, ts);
	if (r < 0)
		goto out;
	uint64_t *res = sets + 3 * words;
	r = 0;
	for (size_t i = 0; i < np; i++) {
		int fd = gfd[i];
		uint64_t bit = 1ULL << (fd % 64);
		size_t w = (size_t)fd / 64;
		short rev = pfd[i].revents;
		if ((rev & POLLIN_SET) && (sets[w] & bit)) {
			res[w] |= bit;
			r++;
		}
		if ((rev & POLLOUT_SET) && (sets[words + w] & bit)) {
			res[words + w] |= bit;
			r++;
		}
		if ((rev & POLLEX_SET) && (sets[2 * words + w] & bit)) {
			res[2 * words + w] |= bit;
			r++;
		}
	}
	for (int k = 0; k < 3; k++) {
		int err;
		if (uset[k] && words && (err = copy_to_guest(p, uset[k], res + k * words, words * 8))) {
			r = err;
			break;
		}
	}
out:
	free(sets);
	free(pfd);
	free(gfd);
	return r;
}

long sys_select(struct proc *p, const struct sys_args *a)
{
	uint64_t uset[3] = {a->a[1], a->a[2], a->a[3]};
	struct timeval tv;
	struct timespec ts;
	if (a->a[4]) {
		int err = copy_from_guest(p, &tv, a->a[4], sizeof(tv));
		if (err)
			return err;
		/* Linux folds whole seconds of tv_usec into tv_sec, then checks the sign. */
		ts.tv_sec = tv.tv_sec + tv.tv_usec / 1000000;
		ts.tv_nsec = (tv.tv_usec % 1000000) * 1000;
		if (!timespec_valid(&ts))
			return -EINVAL;
	}
	bool update = a->a[4] && (ts.tv_sec || ts.tv_nsec);
	long r = do_select(p, (int64_t)a->a[0], uset, a->a[4] ? &ts : NULL);
	if (update && (r >= 0 || r == -EINTR)) {
		tv.tv_sec = ts.tv_sec;
		tv.tv_usec = ts.tv_nsec / 1000;
		copy_to_guest(p, a->a[4], &tv, sizeof(tv));
	}
	return r;
}

long sys_pselect6(struct proc *p, const struct sys_args *a)
{
	uint64_t uset[3] = {a->a[1], a->a[2], a->a[3]};
	struct timespec ts;
	int err = timeout_from_guest(p, a->a[4], &ts);
	if (err)
		return err;
	if (a->a[5]) {
		/* The sixth argument points at { const sigset_t *ss; size_t ss_len; }. */
		uint64_t sig[2];
		err = copy_from_guest(p, sig, a->a[5], sizeof(sig));
		if (err)
			return err;
		if ((err = check_sigmask(p, sig[0], sig[1])))
			return err;
	}
	bool update = a->a[4] && (ts.tv_sec || ts.tv_nsec);
	long r = do_select(p, (int64_t)a->a[0], uset, a->a[4] ? &ts : NULL);
	if (update && (r >= 0 || r == -EINTR))
		copy_to_guest(p, a->a[4], &ts, sizeof(ts));
	return r;
}
