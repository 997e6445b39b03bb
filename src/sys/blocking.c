/* blocking.c - the one decoder of what a blocking call waits on (see blocking.h). */
#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

#include "sys/blocking.h"
#include "sys/processes/process.h"
#include "sys/table.h"
#include "sys/uaccess.h"

_Static_assert(WAIT_IN == POLLIN && WAIT_OUT == POLLOUT, "wait events are poll's");

static const struct sys_wait no_wait = {.how = WH_NONE, .flags = -1, .rem_arg = -1, .mask_arg = -1};

const struct sys_wait *wait_row(uint64_t nr)
{
	return nr < SYS_TABLE_SIZE && sys_table[nr].fn ? &sys_table[nr].wait : &no_wait;
}

void wait_args_of(const struct thread *t, struct sys_args *a)
{
	const struct kvm_regs *r = &t->regs;
	*a = (struct sys_args){t->wait_nr, {r->rdi, r->rsi, r->rdx, r->r10, r->r8, r->r9}};
}

/* A valid (non-negative) timespec in ns, saturated far beyond any wait (~146 years) so
 * that a guest's huge tv_sec neither overflows here nor in the deadline built from it. */
#define TS_NS_MAX (INT64_MAX / 2)
static int64_t ts_ns(const struct timespec *ts)
{
	if (ts->tv_sec >= TS_NS_MAX / 1000000000LL)
		return TS_NS_MAX;
	return (int64_t)ts->tv_sec * 1000000000LL + ts->tv_nsec;
}

/* The relative timeout in ns (-1: forever); false for a bad one (the call reports it). */
static bool decode_timeout(struct proc *p, const struct sys_wait *w, const struct sys_args *a, int64_t *out)
{
	uint64_t arg = w->tmo_arg >= 0 ? a->a[w->tmo_arg] : 0;
	struct timespec ts;
	struct timeval tv;
	*out = -1;
	switch (w->tmo) {
	case TMO_NONE: return true;
	case TMO_MS: *out = (int)arg < 0 ? -1 : (int64_t)(int)arg * 1000000LL; return true;
	case TMO_TS:
	case TMO_TS_LEFT:
		if (!arg)
			return true;
		if (copy_from_guest(p, &ts, arg, sizeof(ts)) || ts.tv_sec < 0 || ts.tv_nsec < 0 ||
		    ts.tv_nsec >= 1000000000L)
			return false;
		*out = ts_ns(&ts);
		return true;
	case TMO_TV_LEFT:
		if (!arg)
			return true;
		if (copy_from_guest(p, &tv, arg, sizeof(tv)))
			return false;
		/* select folds whole seconds of tv_usec into tv_sec, then checks the sign. */
		if (__builtin_add_overflow(tv.tv_sec, tv.tv_usec / 1000000, &ts.tv_sec))
			ts.tv_sec = tv.tv_sec < 0 ? -1 : TS_NS_MAX / 1000000000LL;
		ts.tv_nsec = (tv.tv_usec % 1000000) * 1000;
		if (ts.tv_sec < 0 || ts.tv_nsec < 0)
			return false;
		*out = ts_ns(&ts);
		return true;
	case TMO_CLOCK: {
		clockid_t clock = (clockid_t)a->a[0];
		/* CPU-time clocks do not advance while the host waits: not parked. */
		if (clock != CLOCK_REALTIME && clock != CLOCK_TAI && !clock_restarts_in_fork(clock))
			return false;
		if (copy_from_guest(p, &ts, arg, sizeof(ts)) || ts.tv_sec < 0 || ts.tv_nsec < 0 ||
		    ts.tv_nsec >= 1000000000L)
			return false;
		if (!((int)a->a[1] & TIMER_ABSTIME)) {
			*out = ts_ns(&ts);
			return true;
		}
		/* An absolute time on the guest's clock: how far from now on the same clock. */
		struct timespec now;
		if (clock_gettime(clock, &now) < 0)
			return false;
		int64_t left = ts_ns(&ts) - (ts_ns(&now) - (clock_restarts_in_fork(clock) ? p->srv.mono_offset_ns : 0));
		*out = left > 0 ? left : 0;
		return true;
	}
	default: return false;
	}
}

static bool add_fd(struct wait_req *out, int gfd, int h, short events)
{
	if (out->n >= WAIT_MAX_FDS)
		return false;
	out->guest_fd[out->n] = gfd;
	out->host_fd[out->n] = h;
	out->events[out->n++] = events;
	return true;
}

static bool decode_poll(struct proc *p, const struct sys_wait *w, const struct sys_args *a, struct wait_req *out)
{
	uint64_t n = a->a[w->n];
	if (n > WAIT_MAX_FDS)
		return false;
	struct pollfd g[WAIT_MAX_FDS];
	if (n && copy_from_guest(p, g, a->a[w->fd], n * sizeof(g[0])))
		return false;
	for (uint64_t i = 0; i < n; i++) {
		if (g[i].fd < 0)
			continue;
		int h = host_fd_of(p, g[i].fd);
		if (h < 0)
			return false; /* POLLNVAL: returns at once */
		add_fd(out, g[i].fd, h, g[i].events);
	}
	return true;
}

static bool decode_select(struct proc *p, const struct sys_wait *w, const struct sys_args *a, struct wait_req *out)
{
	int nfds = (int)a->a[w->fd];
	if (nfds < 0 || nfds > 1024)
		return false;
	uint64_t sets[3][1024 / 64] = {{0}};
	size_t bytes = ((size_t)nfds + 63) / 64 * 8;
	for (int k = 0; k < 3; k++)
		if (a->a[w->fd + 1 + k] && bytes && copy_from_guest(p, sets[k], a->a[w->fd + 1 + k], bytes))
			return false;
	for (int fd = 0; fd < nfds; fd++) {
		uint64_t bit = 1ULL << (fd % 64);
		bool in = sets[0][fd / 64] & bit, wr = sets[1][fd / 64] & bit, ex = sets[2][fd / 64] & bit;
		if (!in && !wr && !ex)
			continue;
		int h = host_fd_of(p, fd);
		if (h < 0)
			return false; /* EBADF at once */
		if (!add_fd(out, fd, h, (short)((in ? POLLIN : 0) | (wr ? POLLOUT : 0) | (ex ? POLLPRI : 0))))
			return false;
	}
	return true;
}

/* The signal mask to wait with, if the call has one; false for a bad one. */
static bool decode_mask(struct proc *p, const struct sys_wait *w, const struct sys_args *a, struct wait_req *out)
{
	out->has_mask = false;
	if (w->mask == MASK_NONE || !a->a[w->mask_arg])
		return true;
	uint64_t ptr = a->a[w->mask_arg], size = w->mask == MASK_ARG ? a->a[w->mask_arg + 1] : 0;
	if (w->mask == MASK_PSELECT) {
		uint64_t pair[2]; /* { const sigset_t *ss; size_t ss_len; } */
		if (copy_from_guest(p, pair, ptr, sizeof(pair)))
			return false;
		if (!pair[0])
			return true;
		ptr = pair[0];
		size = pair[1];
	}
	if (size != sizeof(uint64_t) || copy_from_guest(p, &out->mask, ptr, sizeof(out->mask)))
		return false;
	out->has_mask = true;
	return true;
}

bool wait_decode(struct proc *p, const struct sys_args *a, struct wait_req *out)
{
	const struct sys_wait *w = wait_row(a->nr);
	out->w = w;
	out->n = 0;
	out->timeout_ns = -1;
	if (!decode_mask(p, w, a, out))
		return false;
	switch (w->how) {
	case WH_FD:
	case WH_ACCEPT: {
		if (w->flags >= 0 && (a->a[w->flags] & MSG_DONTWAIT))
			return false;
		int h = host_fd_of(p, (int)a->a[w->fd]);
		/* A non-blocking fd never blocks: the call returns EAGAIN itself.  (The guest's
		 * view: a shared listener's host fd is non-blocking whatever the guest set.) */
		if (h < 0 || fdtab_nonblock(fdtab_get(&p->fdt, (int)a->a[w->fd])))
			return false;
		/* Writing to an fd open for reading only (a pipe's read end) or the reverse is
		 * EBADF at once; poll would never find it ready. */
		bool sock = fdtab_get(&p->fdt, (int)a->a[w->fd])->kind == FD_SOCKET;
		int fl = sock ? O_RDWR : fcntl(h, F_GETFL);
		if (fl >= 0 && (fl & O_ACCMODE) == (w->events == WAIT_OUT ? O_RDONLY : O_WRONLY))
			return false;
		/* A socket's SO_RCVTIMEO / SO_SNDTIMEO bounds the wait (then EAGAIN). */
		struct timeval tv = {0, 0};
		socklen_t len = sizeof(tv);
		if (sock &&
		    getsockopt(h, SOL_SOCKET, w->events == WAIT_OUT ? SO_SNDTIMEO : SO_RCVTIMEO, &tv, &len) == 0 &&
		    (tv.tv_sec || tv.tv_usec))
			out->timeout_ns = (int64_t)tv.tv_sec * 1000000000LL + (int64_t)tv.tv_usec * 1000;
		return add_fd(out, (int)a->a[w->fd], h, w->events);
	}
	case WH_POLL: return decode_timeout(p, w, a, &out->timeout_ns) && decode_poll(p, w, a, out);
	case WH_SELECT: return decode_timeout(p, w, a, &out->timeout_ns) && decode_select(p, w, a, out);
	case WH_EPOLL: {
		int h = host_fd_of(p, (int)a->a[w->fd]);
		return h >= 0 && decode_timeout(p, w, a, &out->timeout_ns) && add_fd(out, (int)a->a[w->fd], h, POLLIN);
	}
	case WH_SLEEP: return decode_timeout(p, w, a, &out->timeout_ns);
	case WH_CHILD: {
		struct pollfd pfd;
		return process_wait_would_block(p, a, &pfd) && add_fd(out, -1, pfd.fd, POLLIN);
	}
	default: return false;
	}
}

static void put_left(struct proc *p, const struct sys_wait *w, uint64_t uts, uint64_t left_ns)
{
	if (!uts)
		return;
	if (w->tmo == TMO_TV_LEFT) {
		struct timeval tv = {(time_t)(left_ns / 1000000000ULL), (suseconds_t)(left_ns % 1000000000ULL / 1000)};
		copy_to_guest(p, uts, &tv, sizeof(tv));
	} else {
		struct timespec ts = {(time_t)(left_ns / 1000000000ULL), (long)(left_ns % 1000000000ULL)};
		copy_to_guest(p, uts, &ts, sizeof(ts));
	}
}

long wait_timed_out(struct proc *p, const struct thread *t)
{
	struct sys_args a;
	wait_args_of(t, &a);
	a.nr = t->wait_nr;
	return wait_timed_out_args(p, &a);
}

long wait_timed_out_args(struct proc *p, const struct sys_args *call)
{
	const struct sys_wait *w = wait_row(call->nr);
	struct sys_args a = *call;
	if (w->how == WH_POLL) {
		/* Every revents is written, 0 on a timeout. */
		uint64_t n = a.a[w->n];
		for (uint64_t i = 0; i < n && i < WAIT_MAX_FDS; i++) {
			short zero = 0;
			copy_to_guest(p, a.a[w->fd] + i * sizeof(struct pollfd) + offsetof(struct pollfd, revents),
			              &zero, sizeof(zero));
		}
	} else if (w->how == WH_SELECT) {
		size_t bytes = ((size_t)(int)a.a[w->fd] + 63) / 64 * 8;
		static const uint64_t zeros[1024 / 64];
		for (int k = 0; k < 3; k++)
			if (a.a[w->fd + 1 + k] && bytes <= sizeof(zeros))
				copy_to_guest(p, a.a[w->fd + 1 + k], zeros, bytes);
	}
	if (w->tmo == TMO_TS_LEFT || w->tmo == TMO_TV_LEFT)
		put_left(p, w, a.a[w->tmo_arg], 0);
	/* An fd call with a socket timeout (SO_RCVTIMEO, SO_SNDTIMEO) gives EAGAIN. */
	return w->how == WH_FD || w->how == WH_ACCEPT ? -EAGAIN : 0;
}

void wait_interrupted(struct proc *p, const struct thread *t, uint64_t now)
{
	const struct sys_wait *w = wait_row(t->wait_nr);
	struct sys_args a;
	wait_args_of(t, &a);
	uint64_t left = t->deadline_ns > now ? t->deadline_ns - now : 0;
	if (!t->deadline_ns)
		return;
	if (w->tmo == TMO_TS_LEFT || w->tmo == TMO_TV_LEFT)
		put_left(p, w, a.a[w->tmo_arg], left);
	else if (w->how == WH_SLEEP && w->rem_arg >= 0 && !(w->tmo == TMO_CLOCK && ((int)a.a[1] & TIMER_ABSTIME)))
		put_left(p, w, a.a[w->rem_arg], left);
}
