/* uaccess.c - checked copies between host buffers and guest memory.
 *
 * Guest memory can hold file pages (filemap.c): a guest that shrinks a file it has mapped
 * leaves pages past the new end, and touching those from the host raises SIGBUS.  The
 * copies here run under a guard: SIGBUS during one of them makes the copy fail with
 * EFAULT, as the kernel's own copy_from_user would, instead of killing kvmserver.  (Host
 * syscalls given guest buffers get EFAULT from the kernel by themselves.) */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <string.h>

#include "sys/proc_impl.h"
#include "sys/uaccess.h"

#define UPAGE 4096ULL

static char empty;

/* mark: note written pages now (guest_buf) or leave it to guest_wrote (guest_buf_out). */
static void *buf_of(struct proc *p, gva_t addr, size_t size, bool write, bool mark)
{
	if (size == 0)
		return &empty;
	if (addr + size < addr)
		return NULL;
	/* User memory is contiguous on the host (identity mapped), so checking each page
	 * is all it takes; the first page's host address covers the whole range. */
	void *first = NULL;
	for (gva_t page = addr & ~(UPAGE - 1); page < addr + size; page += UPAGE) {
		void *h = write && !mark ? vm_user_page_writable(p->vm, page) : vm_user_page(p->vm, page, write);
		if (!h)
			return NULL;
		if (!first)
			first = (char *)h + (addr - page);
	}
	return first;
}

void *guest_buf(struct proc *p, gva_t addr, size_t size, bool write)
{
	return buf_of(p, addr, size, write, true);
}

void *guest_buf_out(struct proc *p, gva_t addr, size_t size)
{
	return buf_of(p, addr, size, true, false);
}

void guest_wrote(struct proc *p, const void *host, size_t n)
{
	if (n && host != &empty)
		vm_wrote(p->vm, host, n);
}

void guest_wrote_iov(struct proc *p, const struct iovec *iov, size_t cnt, size_t n)
{
	for (size_t i = 0; i < cnt && n; i++) {
		size_t k = iov[i].iov_len < n ? iov[i].iov_len : n;
		guest_wrote(p, iov[i].iov_base, k);
		n -= k;
	}
}

/* volatile: the compiler knows memcpy does not read it and would drop the store */
static __thread sigjmp_buf *volatile bus_guard; /* set while this thread copies guest memory */

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	if (bus_guard)
		siglongjmp(*bus_guard, 1);
	/* Not ours: die of it as the default action would. */
	signal(SIGBUS, SIG_DFL);
	raise(SIGBUS);
}

static void install_sigbus(void)
{
	/* SA_NODEFER: the handler leaves by siglongjmp, so SIGBUS must not stay blocked. */
	struct sigaction sa = {.sa_sigaction = on_sigbus, .sa_flags = SA_SIGINFO | SA_NODEFER};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, NULL);
}

void uaccess_init(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, install_sigbus);
}

/* memcpy that fails with -EFAULT instead of dying when a file page has gone. */
static int guarded_copy(void *dst, const void *src, size_t size)
{
	sigjmp_buf jb;
	if (sigsetjmp(jb, 0)) {
		bus_guard = NULL;
		return -EFAULT;
	}
	bus_guard = &jb;
	memcpy(dst, src, size);
	bus_guard = NULL;
	return 0;
}

int copy_from_guest(struct proc *p, void *dst, gva_t src, size_t size)
{
	const void *h = guest_buf(p, src, size, false);
	return h ? guarded_copy(dst, h, size) : -EFAULT;
}

int copy_to_guest(struct proc *p, gva_t dst, const void *src, size_t size)
{
	void *h = guest_buf(p, dst, size, true);
	return h ? guarded_copy(h, src, size) : -EFAULT;
}

long strncpy_from_guest(struct proc *p, char *dst, gva_t src, size_t max)
{
	size_t n = 0;
	while (n < max) {
		/* Copy up to the end of the current page, then look for the NUL. */
		gva_t at = src + n;
		size_t chunk = UPAGE - (at & (UPAGE - 1));
		if (chunk > max - n)
			chunk = max - n;
		const char *h = vm_user_page(p->vm, at, false);
		if (!h)
			return -EFAULT;
		if (guarded_copy(dst + n, h, chunk))
			return -EFAULT;
		const char *nul = memchr(dst + n, 0, chunk);
		size_t take = nul ? (size_t)(nul - (dst + n)) + 1 : chunk;
		if (nul)
			return (long)(n + take - 1);
		n += take;
	}
	return -ENAMETOOLONG;
}
