/* tests/fuzz/sysfuzz.c - a guest program that makes random system calls, to fuzz
 * kvmserver's emulation from inside (tests/vm/fuzz-tests runs it).  Static, no libc
 * state it relies on after the first random call.
 *
 *   sysfuzz SEED COUNT          COUNT random calls from SEED, then exit 0
 *   sysfuzz serve PORT COUNT    a server: each connection sends a decimal seed and a
 *                               newline, gets COUNT random calls from it made, then
 *                               `done SEED` back.  Under kvmserver --ephemeral every
 *                               connection starts from the same frozen state, so a
 *                               guest that dies or hangs is simply restarted by the
 *                               next connection.
 *   sysfuzz print SEED COUNT    list the calls SEED makes (number and arguments), to
 *                               find the one that did something (the sequence depends
 *                               on nothing but the seed)
 *
 * The arguments mix random values with structured ones: small integers and flags, fds
 * (open ones and random), valid pointers into a scratch area (random bytes or a
 * valid-looking structure: iovecs, sockaddrs, timespecs, pollfds, msghdrs, sigactions,
 * paths), bad pointers (NULL, low pages, unmapped, non-canonical, the kernel half, one
 * byte before the end of a mapping) and huge lengths.  Calls that would only end the
 * program (exit, exit_group) or only block it (pause, rt_sigsuspend) are left out; in
 * serve mode so are calls that would close or change the listener or the connection
 * (the reply must get out; the listener is shared by every request VM). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define NR_MAX 460
#define AREA_SIZE (64 * 1024)

static uint64_t state;
static unsigned char *area; /* scratch memory the structured arguments live in */
static unsigned char *edge; /* a page followed by an unmapped one */
static int keep_fds[2] = {-1, -1}; /* serve mode: the listener and the connection */

static uint64_t rnd(void)
{
	/* xorshift64* */
	state ^= state >> 12;
	state ^= state << 25;
	state ^= state >> 27;
	return state * 0x2545F4914F6CDD1DULL;
}

static uint64_t pick(const uint64_t *v, size_t n)
{
	return v[rnd() % n];
}

static const char *const paths[] = {
        "/",
        ".",
        "..",
        "/etc/passwd",
        "/proc/self/mem",
        "/proc/self/fd/0",
        "/proc/self/exe",
        "/dev/kvm",
        "/dev/null",
        "/tmp",
        "x",
        "x/../../y",
        "/proc/1/environ",
        "",
        "/sys/kernel",
        "/dev/mem",
        "./fuzzfile",
        "/proc/self/maps",
        "//..//..//proc",
        "a/b/c/d",
};

static void *scratch(size_t size)
{
	size_t off = rnd() % (AREA_SIZE - size);
	return area + (off & ~(size_t)7);
}

static uint64_t bad_pointer(void)
{
	static const uint64_t v[] = {
	        0,
	        1,
	        0xfff,
	        0x1000,
	        0x10000,
	        0x7ffffffff000ULL,
	        0x0000800000000000ULL, /* the first non-canonical address */
	        0xffff800000000000ULL, /* the kernel half */
	        0xffffffff80000000ULL,
	        0xffffffffff600000ULL, /* vsyscall */
	        0xfffffffffffff000ULL,
	        ~0ULL,
	};
	if (rnd() % 4 == 0)
		return (uint64_t)(edge + 4096 - 1 - rnd() % 16); /* runs into the unmapped page */
	if (rnd() % 4 == 0)
		return 0xffff800000000000ULL + (rnd() & 0x7fffffffffffULL);
	return pick(v, sizeof(v) / sizeof(v[0]));
}

static uint64_t huge(void)
{
	static const uint64_t v[] = {~0ULL,      1ULL << 63,     1ULL << 32, 0xffffffffULL, 0x7fffffffULL,  1ULL << 31,
	                             1ULL << 40, 4096 * 1024ULL, 65536,      65537,         (uint64_t)-4096};
	return pick(v, sizeof(v) / sizeof(v[0]));
}

static int any_fd(void)
{
	static const int v[] = {-1, -100 /* AT_FDCWD */, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 63, 64, 1023, 1024, 65535};
	if (rnd() % 2)
		return (int)(rnd() % 24);
	return v[rnd() % (sizeof(v) / sizeof(v[0]))];
}

static uint64_t small_time(struct timespec *ts)
{
	ts->tv_sec = rnd() % 8 == 0 ? -1 : 0;
	ts->tv_nsec = rnd() % 4 == 0 ? (long)rnd() : (long)(rnd() % 2000000);
	return (uint64_t)ts;
}

/* A pointer to a valid-looking structure of some kind, in the scratch area. */
static uint64_t structure(void)
{
	switch (rnd() % 12) {
	case 0: { /* iovec array */
		struct iovec *iov = scratch(8 * sizeof(*iov));
		for (int i = 0; i < 8; i++) {
			iov[i].iov_base = rnd() % 4 ? scratch(512) : (void *)bad_pointer();
			iov[i].iov_len = rnd() % 8 ? rnd() % 512 : huge();
		}
		return (uint64_t)iov;
	}
	case 1: { /* sockaddr_in/in6 on loopback */
		struct sockaddr_in6 *a = scratch(sizeof(*a));
		memset(a, 0, sizeof(*a));
		if (rnd() % 2) {
			struct sockaddr_in *b = (struct sockaddr_in *)a;
			b->sin_family = AF_INET;
			b->sin_port = htons((uint16_t)(rnd() % 3 ? 0 : rnd()));
			b->sin_addr.s_addr = htonl(rnd() % 2 ? INADDR_LOOPBACK : (uint32_t)rnd());
		} else {
			a->sin6_family = AF_INET6;
			a->sin6_port = htons((uint16_t)rnd());
			a->sin6_addr = in6addr_loopback;
		}
		return (uint64_t)a;
	}
	case 2: { /* sockaddr_un: a path or an abstract name */
		struct sockaddr_un *u = scratch(sizeof(*u));
		u->sun_family = AF_UNIX;
		if (rnd() % 2)
			snprintf(u->sun_path, sizeof(u->sun_path), "%s",
			         paths[rnd() % (sizeof(paths) / sizeof(paths[0]))]);
		else
			memset(u->sun_path, (int)rnd(), sizeof(u->sun_path));
		return (uint64_t)u;
	}
	case 3: return small_time(scratch(sizeof(struct timespec)));
	case 4: { /* pollfd array */
		struct pollfd *p = scratch(8 * sizeof(*p));
		for (int i = 0; i < 8; i++)
			p[i] = (struct pollfd){.fd = any_fd(), .events = (short)rnd()};
		return (uint64_t)p;
	}
	case 5: { /* msghdr with an iovec and maybe a control message */
		struct msghdr *m = scratch(sizeof(*m) + 2 * sizeof(struct iovec) + 64);
		struct iovec *iov = (struct iovec *)(m + 1);
		iov[0] = (struct iovec){scratch(256), rnd() % 256};
		iov[1] = (struct iovec){(void *)bad_pointer(), rnd() % 64};
		*m = (struct msghdr){.msg_name = rnd() % 2 ? (void *)structure() : NULL,
		                     .msg_namelen = (socklen_t)(rnd() % 130),
		                     .msg_iov = iov,
		                     .msg_iovlen = rnd() % 4 ? 1 + rnd() % 2 : huge(),
		                     .msg_control = rnd() % 2 ? (void *)(iov + 2) : NULL,
		                     .msg_controllen = rnd() % 80};
		if (m->msg_control) {
			struct cmsghdr *c = m->msg_control;
			c->cmsg_len = rnd() % 4 ? CMSG_LEN(sizeof(int) * (1 + rnd() % 3)) : rnd();
			c->cmsg_level = rnd() % 2 ? SOL_SOCKET : (int)rnd();
			c->cmsg_type = rnd() % 2 ? SCM_RIGHTS : (int)(rnd() % 4);
			for (int i = 0; i < 3; i++)
				((int *)CMSG_DATA(c))[i] = any_fd();
		}
		return (uint64_t)m;
	}
	case 6: { /* struct sigaction (the kernel's: handler, flags, restorer, mask) */
		uint64_t *k = scratch(4 * sizeof(uint64_t));
		static const uint64_t handlers[] = {0, 1 /* SIG_IGN */, 0x401000, ~0ULL};
		k[0] = pick(handlers, 4);
		k[1] = rnd();
		k[2] = rnd() % 2 ? bad_pointer() : 0x401000;
		k[3] = rnd();
		return (uint64_t)k;
	}
	case 7: { /* itimerspec / itimerval: small intervals */
		struct timespec *t = scratch(2 * sizeof(*t));
		small_time(&t[0]);
		small_time(&t[1]);
		return (uint64_t)t;
	}
	case 8: /* a path */ return (uint64_t)paths[rnd() % (sizeof(paths) / sizeof(paths[0]))];
	case 9: { /* a path with no end in sight, or a very long one */
		char *s = scratch(4200);
		memset(s, rnd() % 2 ? 'a' : '/', 4200);
		s[rnd() % 2 ? 4199 : 4097] = 0;
		return (uint64_t)s;
	}
	case 10: { /* an int array of fds (epoll_event, pipe results, fd_set) */
		int *v = scratch(16 * sizeof(int));
		for (int i = 0; i < 16; i++)
			v[i] = rnd() % 2 ? any_fd() : (int)rnd();
		return (uint64_t)v;
	}
	default: { /* random bytes */
		unsigned char *b = scratch(256);
		for (int i = 0; i < 256; i += 8) {
			uint64_t r = rnd();
			memcpy(b + i, &r, 8);
		}
		return (uint64_t)b;
	}
	}
}

static uint64_t arg(void)
{
	switch (rnd() % 14) {
	case 0: return 0;
	case 1: return rnd() % 16;
	case 2:
	case 3: return (uint64_t)(int64_t)any_fd();
	case 4:
	case 5: return structure();
	case 6: return (uint64_t)scratch(4096);
	case 7: return bad_pointer();
	case 8: return huge();
	case 9: return rnd();
	case 10: return 1ULL << (rnd() % 64);
	case 11: return rnd() & 0xffffffffULL; /* flags */
	case 12: return (uint64_t) - (int64_t)(rnd() % 4097);
	default: return rnd() % 4096;
	}
}

static int touches_kept(long nr, const uint64_t *a)
{
	if (keep_fds[0] < 0)
		return 0;
	for (int k = 0; k < 2; k++) {
		uint64_t fd = (uint64_t)keep_fds[k];
		switch (nr) {
		case SYS_close_range:
			if (a[0] <= fd || (uint32_t)a[0] <= fd)
				return 1;
			break;
		case SYS_dup2:
		case SYS_dup3:
			if ((uint32_t)a[1] == fd)
				return 1;
			/* fallthrough */
		case SYS_close:
		case SYS_shutdown:
		case SYS_fcntl:
		case SYS_ioctl:
		case SYS_setsockopt:
		case SYS_listen:
		case SYS_bind:
		case SYS_connect:
		case SYS_accept:
		case SYS_accept4:
		case SYS_recvfrom:
		case SYS_recvmsg:
		case SYS_recvmmsg:
		case SYS_read:
		case SYS_readv:
		case SYS_epoll_ctl:
			if ((uint32_t)a[0] == fd || (nr == SYS_epoll_ctl && (uint32_t)a[2] == fd))
				return 1;
			break;
		}
	}
	return 0;
}

static int is_deadly(long nr)
{
	switch (nr) {
	case SYS_rt_sigreturn:
	case SYS_kill:
	case SYS_tkill:
	case SYS_tgkill:
	case SYS_munmap:
	case SYS_mremap:
	case SYS_mmap:
	case SYS_mprotect:
	case SYS_madvise:
	case SYS_brk:
	case SYS_arch_prctl:
	case SYS_execve:
	case SYS_execveat:
	case SYS_clone:
	case SYS_clone3:
	case SYS_fork:
	case SYS_vfork:
	case SYS_rt_sigaction:
	case SYS_setitimer:
	case SYS_alarm:
	case SYS_timer_create:
	case SYS_prctl: return 1;
	default: return 0;
	}
}

/* Calls that wait get short timeouts and new fds are mostly non-blocking, so that most
 * runs get through their count instead of sleeping for days; now and then one is left
 * alone (the run is then cut by kvmserver's time limit). */
static void tame(long nr, uint64_t *a)
{
	if (rnd() % 32 == 0)
		return;
	switch (nr) {
	case SYS_nanosleep: a[0] = small_time(scratch(sizeof(struct timespec))); break;
	case SYS_clock_nanosleep:
	case SYS_ppoll:
	case SYS_rt_sigtimedwait: a[2] = small_time(scratch(sizeof(struct timespec))); break;
	case SYS_select:
	case SYS_pselect6: a[4] = small_time(scratch(sizeof(struct timespec))); break;
	case SYS_futex:
	case SYS_epoll_pwait2: a[3] = small_time(scratch(sizeof(struct timespec))); break;
	case SYS_poll:
	case SYS_epoll_wait:
	case SYS_epoll_pwait: a[nr == SYS_poll ? 2 : 3] = rnd() % 20; break;
	case SYS_socket:
	case SYS_socketpair:
		a[1] |= 04000; /* SOCK_NONBLOCK */
		break;
	case SYS_pipe2:
	case SYS_eventfd2:
	case SYS_timerfd_create:
	case SYS_signalfd4:
	case SYS_inotify_init1:
		a[1] |= 04000; /* O_NONBLOCK, EFD_, TFD_, SFD_, IN_NONBLOCK */
		break;
	case SYS_accept4:
	case SYS_accept: a[0] = (uint64_t)-1; break; /* a listener of ours would wait for ever */
	}
	if (nr == SYS_pipe2 || nr == SYS_eventfd2 || nr == SYS_timerfd_create)
		a[1] = (a[1] & 0xffffffffULL) | 04000;
}

static int dry_run; /* `sysfuzz print`: list the calls instead of making them */

static void fuzz(uint64_t seed, long count)
{
	state = seed * 0x9E3779B97F4A7C15ULL + 1;
	for (long i = 0; i < count; i++) {
		long nr = (long)(rnd() % NR_MAX);
		/* a few numbers past the table, and the x32 bit */
		if (rnd() % 64 == 0)
			nr = rnd() % 8 ? (long)(NR_MAX + rnd() % 64) : (long)(0x40000000 | (rnd() % NR_MAX));
		if (nr == SYS_exit || nr == SYS_exit_group || nr == SYS_pause || nr == SYS_rt_sigsuspend)
			continue;
		/* calls that mostly end the run early: rarely, so that the others get their turn */
		if (is_deadly(nr) && rnd() % 16)
			continue;
		uint64_t a[6];
		for (int k = 0; k < 6; k++)
			a[k] = arg();
		tame(nr, a);
		if (touches_kept(nr, a))
			continue;
		if (dry_run)
			printf("%ld: %ld(%#llx, %#llx, %#llx, %#llx, %#llx, %#llx)\n", i, nr, (unsigned long long)a[0],
			       (unsigned long long)a[1], (unsigned long long)a[2], (unsigned long long)a[3],
			       (unsigned long long)a[4], (unsigned long long)a[5]);
		else
			syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
	}
}

static void setup(void)
{
	area = mmap(NULL, AREA_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	edge = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (area == MAP_FAILED || edge == MAP_FAILED)
		_exit(3);
	munmap(edge + 4096, 4096);
	/* stdio goes away: random writes to it would only fill kvmserver's logs */
	close(0);
	close(1);
	close(2);
}

static int serve(int port, long count)
{
	int l = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(l, 64) < 0)
		return 1;
	keep_fds[0] = l;
	for (;;) {
		int c = accept(l, NULL, NULL);
		if (c < 0)
			continue;
		keep_fds[1] = c;
		char buf[32];
		ssize_t n = read(c, buf, sizeof(buf) - 1);
		if (n > 0) {
			buf[n] = 0;
			uint64_t seed = strtoull(buf, NULL, 10);
			fuzz(seed, count);
			char out[48];
			int m = snprintf(out, sizeof(out), "done %llu\n", (unsigned long long)seed);
			if (write(c, out, (size_t)m) < 0) {
				/* the connection broke: nothing to tell */
			}
		}
		close(c);
	}
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "serve") == 0) {
		setup();
		return serve(atoi(argv[2]), atol(argv[3]));
	}
	if (argc == 4 && strcmp(argv[1], "print") == 0) {
		dry_run = 1;
		area = malloc(AREA_SIZE);
		edge = malloc(2 * 4096);
		fuzz(strtoull(argv[2], NULL, 10), atol(argv[3]));
		return 0;
	}
	if (argc != 3) {
		fprintf(stderr, "usage: sysfuzz SEED COUNT | sysfuzz serve PORT COUNT | sysfuzz print SEED COUNT\n");
		return 2;
	}
	uint64_t seed = strtoull(argv[1], NULL, 10);
	long count = atol(argv[2]);
	setup();
	fuzz(seed, count);
	return 0;
}
