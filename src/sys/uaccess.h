/* uaccess.h - how src/sys touches guest memory on the guest's behalf.  Every access is
 * checked against the guest's page tables as user mode would be: a bad pointer is -EFAULT,
 * never a host crash (Blink's CopyFromUserRead / CopyToUserWrite).
 *
 * The one exception: code that fills memory it has just mapped itself, before any guest
 * code can run or change the mapping, writes through vm_user_ptr_unchecked (vmm.h), which
 * checks the range is inside the user range but not the page permissions (the loader
 * writes read-only segments): exec.c (segments, the initial stack), mm.c (a file's bytes
 * into a fresh private mapping, mremap's move), ring.c (the code of --syscall-path=auto's
 * measuring VM), and in src/vmm the vDSO's pages.  Each caller checks its NULL result. */
#ifndef SYS_UACCESS_H
#define SYS_UACCESS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "vmm/vmm.h"

struct proc;

/* Once per process, before guest code runs: the SIGBUS guard of the copies below. */
void uaccess_init(void);
int copy_from_guest(struct proc *p, void *dst, gva_t src, size_t size);
int copy_to_guest(struct proc *p, gva_t dst, const void *src, size_t size);
/* Copies a NUL-terminated string of at most max-1 chars.  Returns its length, -EFAULT, or
 * -ENAMETOOLONG when no NUL came within max bytes. */
long strncpy_from_guest(struct proc *p, char *dst, gva_t src, size_t max);
/* The host address of the guest buffer [addr, addr+size) after checking every page is
 * accessible (write: writable).  Lets read()/write() go straight between a host fd and
 * guest memory.  NULL if any page is not; a zero size gives a non-NULL dummy. */
void *guest_buf(struct proc *p, gva_t addr, size_t size, bool write);
/* guest_buf(p, addr, size, true) for a buffer the host fills only in part (read(),
 * recv()): the caller then reports the bytes it wrote with guest_wrote, so reset restores
 * just those pages (a 256 KiB recv buffer holding 79 bytes is one page, not 64). */
void *guest_buf_out(struct proc *p, gva_t addr, size_t size);
void guest_wrote(struct proc *p, const void *host, size_t n);
/* The first n bytes a readv()/recvmsg() spread over iov[0..cnt) (host addresses from
 * guest_buf_out). */
void guest_wrote_iov(struct proc *p, const struct iovec *iov, size_t cnt, size_t n);

#endif
