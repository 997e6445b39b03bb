/* uaccess.c - checked copies between host buffers and guest memory. */
#include <errno.h>
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

int copy_from_guest(struct proc *p, void *dst, gva_t src, size_t size)
{
	const void *h = guest_buf(p, src, size, false);
	if (!h)
		return -EFAULT;
	memcpy(dst, h, size);
	return 0;
}

int copy_to_guest(struct proc *p, gva_t dst, const void *src, size_t size)
{
	void *h = guest_buf(p, dst, size, true);
	if (!h)
		return -EFAULT;
	memcpy(h, src, size);
	return 0;
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
		const char *nul = memchr(h, 0, chunk);
		size_t take = nul ? (size_t)(nul - h) + 1 : chunk;
		memcpy(dst + n, h, take);
		if (nul)
			return (long)(n + take - 1);
		n += take;
	}
	return -ENAMETOOLONG;
}
