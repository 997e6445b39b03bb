/* uaccess.c - checked copies between host buffers and guest memory. */
#include <errno.h>
#include <string.h>

#include "sys/proc_impl.h"
#include "sys/uaccess.h"

#define UPAGE 4096ULL

void *guest_buf(struct proc *p, gva_t addr, size_t size, bool write)
{
	static char empty;
	if (size == 0)
		return &empty;
	if (addr + size < addr)
		return NULL;
	/* User memory is contiguous on the host (identity mapped), so checking each page
	 * is all it takes; the first page's host address covers the whole range. */
	void *first = NULL;
	for (gva_t page = addr & ~(UPAGE - 1); page < addr + size; page += UPAGE) {
		void *h = vm_user_page(p->vm, page, write);
		if (!h)
			return NULL;
		if (!first)
			first = (char *)h + (addr - page);
	}
	return first;
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
