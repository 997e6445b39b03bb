/* snapfile.h - the snapshot file format: a header, a metadata block, then guest memory.
 *
 * Everything the reader takes from a file is checked here, before anything is applied:
 * lengths against what is left, counts against the bytes they need, offsets and sizes
 * against the file and the address space, strings NUL-terminated.  The parsed image
 * points into its own copy of the metadata.  Pure (no KVM): tests/fuzz/snapshot_fuzz.c
 * feeds it arbitrary bytes.  Applying an image to a process is snapload.c's job.
 *
 * Layout (little-endian, x86-64 only):
 *   struct snap_header                       fixed, at 0
 *   metadata, meta_len bytes                 at sizeof(struct snap_header)
 *   memory extents, page aligned             at mem_off: each extent's bytes in turn
 * The metadata is a sequence of sections, each opened by its tag; see snapfile.c. */
#ifndef SYS_SNAPFILE_H
#define SYS_SNAPFILE_H

#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include "sys/proc_impl.h"
#include "sys/threads/sched.h"
#include "vmm/vmm.h"

#define SNAP_MAGIC "KVMSNAP\0"
#define SNAP_VERSION 1
#define SNAP_META_MAX (256u << 20)
#define SNAP_MEMFD_MAX (16u << 20) /* emulated files (/proc) saved with their content */
#define SNAP_SOCKOPTS 8

struct snap_header {
	char magic[8];
	uint32_t version;
	uint32_t header_size;
	uint64_t build_id; /* the kvmserver binary that wrote it (raw state structs inside) */
	uint64_t cpu_id; /* vm_cpu_fingerprint */
	uint64_t meta_len, meta_hash;
	uint64_t mem_off, mem_len, mem_hash;
};

/* How a guest fd is brought back. */
enum snap_fd_how {
	SFD_STDIO = 1, /* one of kvmserver's own 0/1/2 (the guest's are dups) */
	SFD_FILE, /* a file, directory or device: reopened by host path */
	SFD_MEMFD, /* emulated content (/proc files): saved with the bytes */
	SFD_LISTEN, /* a listening socket: bound and listening again at its address */
	SFD_SOCKET, /* a socket neither connected nor listening: made again (bound if it was) */
	SFD_SOCKPAIR, /* one end of a connected AF_UNIX pair, both in the table */
	SFD_PIPE,
	SFD_EPOLL,
	SFD_EVENTFD,
	SFD_TIMERFD,
	SFD_TWIN, /* a dup of an earlier fd */
	SFD_HOW_MAX,
};

struct snap_epoll_reg {
	int32_t fd;
	uint32_t events;
	uint64_t data;
};

struct snap_fd {
	int32_t fd;
	uint32_t how, kind, cloexec, ofd;
	uint32_t async, pair; /* fd_entry's: O_ASYNC as the guest set it; a socketpair's peer ofd */
	int32_t owner; /* F_SETOWN */
	const char *gpath; /* the guest path it was opened by, or NULL */
	int32_t other; /* SFD_TWIN: the earlier fd; SFD_PIPE/SFD_SOCKPAIR: the peer, or -1 */
	int32_t flags; /* F_GETFL flags (eventfd/timerfd: their create flags) */
	int32_t stdio; /* SFD_STDIO: 0, 1 or 2 */
	/* SFD_FILE */
	const char *hpath;
	uint64_t off, dev, ino, fsize, mode;
	int64_t mtime_sec, mtime_nsec;
	uint32_t check; /* refuse if the file changed (read-only regular files) */
	/* SFD_MEMFD: the content */
	const uint8_t *data;
	uint64_t data_len;
	uint32_t seals;
	/* sockets */
	int32_t family, type, protocol, end /* SFD_PIPE: 0 read, 1 write; SFD_SOCKPAIR: which */;
	uint32_t addrlen; /* 0: unbound */
	uint8_t addr[128];
	uint32_t nopts;
	int32_t opts[SNAP_SOCKOPTS][3]; /* level, name, value */
	uint32_t backlog;
	/* SFD_EVENTFD / SFD_TIMERFD */
	uint64_t count;
	int32_t clock;
	int64_t left[4]; /* it_interval sec, nsec, it_value sec, nsec */
	struct snap_epoll_reg *regs;
	uint32_t nregs;
};

struct snap_fmap {
	uint64_t gpa, size, off, dev, ino, fsize;
	int64_t mtime_sec, mtime_nsec;
	const char *path;
	uint32_t shared; /* MAP_SHARED of a file open for writing: the file's live pages */
};

struct snap_vma {
	uint64_t start, end, offset, dev, ino;
	int32_t prot, flags, kind, name; /* name: index into names, -1 for none */
	uint32_t may_write;
};

struct snap_extent {
	uint64_t gpa, size, file_off; /* file_off: absolute */
};

struct snap_strlist {
	const char **v;
	size_t n;
};

struct snap_image {
	uint8_t *meta; /* owned: strings and blobs point into it */
	size_t meta_len;
	struct snap_header hdr;
	/* the process */
	uint64_t user_size;
	const char *program, *exe_path, *cwd;
	char comm[16];
	int32_t pid, nice, next_tid, wait_kind;
	uint64_t vdso_addr;
	uint64_t frozen_ns; /* the guest's monotonic clock at the freeze */
	uint64_t itimer_ns, itimer_interval_ns; /* guest monotonic time */
	uint64_t sigactions[65][4];
	uint32_t umask;
	struct cred cred;
	const uint8_t *uts; /* struct proc's uts, uts_size bytes */
	uint32_t uts_size;
	/* the policy, as the command line gave it */
	uint32_t read_all, write_all, connect_all, listen_all;
	struct snap_strlist read, write, volumes, connect, listen;
	/* the VM */
	struct vm_cpu_image cpu;
	const uint8_t *xsave;
	uint64_t xsave_size;
	uint8_t *slots; /* nslots bytes, 0/1 */
	uint32_t nslots;
	struct snap_extent *extents;
	size_t nextents;
	struct snap_fmap *fmaps;
	size_t nfmaps;
	/* the address space */
	uint64_t mmap_top, brk_start, brk, stack_start, stack_end;
	const char **names;
	size_t nnames;
	struct snap_vma *vmas;
	size_t nvmas;
	/* threads: raw struct thread images (same build), their XSAVE images */
	struct thread *threads;
	const uint8_t **thread_xsave;
	size_t nthreads, cur;
	/* fds */
	int32_t fd_cap, fd_limit;
	uint32_t next_ofd;
	struct snap_fd *fds;
	size_t nfds;
};

/* Parses header and metadata in buf[0, len) of a file of file_size bytes (buf may be the
 * whole file).  expect_build 0 accepts any build.  0, or -1 with a one-line reason. */
int snap_parse(const uint8_t *buf, size_t len, uint64_t file_size, uint64_t expect_build, struct snap_image *img,
               char *why, size_t whylen);
void snap_image_free(struct snap_image *img);

/* The hash kept for the metadata and the memory: 64-bit, fast, not cryptographic. */
struct snap_hash {
	uint64_t h[4];
	uint8_t tail[32];
	size_t ntail;
	uint64_t total;
};
void snap_hash_init(struct snap_hash *s);
void snap_hash_add(struct snap_hash *s, const void *data, size_t len);
uint64_t snap_hash_end(struct snap_hash *s);
uint64_t snap_hash(const void *data, size_t len);

/* The metadata writer: a growing buffer; sticky failure. */
struct snap_wbuf {
	uint8_t *p;
	size_t len, cap;
	bool failed;
};
void snap_put(struct snap_wbuf *w, const void *data, size_t len);
void snap_put_u32(struct snap_wbuf *w, uint32_t v);
void snap_put_u64(struct snap_wbuf *w, uint64_t v);
void snap_put_str(struct snap_wbuf *w, const char *s); /* NULL is written as absent */
void snap_put_tag(struct snap_wbuf *w, uint32_t tag);

/* Section tags, in file order. */
enum {
	SNAP_TAG_PROC = 0x50524f43,
	SNAP_TAG_POLICY = 0x504f4c49,
	SNAP_TAG_VM = 0x564d4350,
	SNAP_TAG_MEM = 0x4d454d58,
	SNAP_TAG_FMAPS = 0x464d4150,
	SNAP_TAG_MM = 0x4d4d4d4d,
	SNAP_TAG_THREADS = 0x54485244,
	SNAP_TAG_FDS = 0x46445346,
	SNAP_TAG_END = 0x454e4421,
};

/* For the writer and the loader: a one-line reason into why[whylen]; -1 to return. */
__attribute__((format(printf, 3, 4))) static inline int why_fmt(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	return -1;
}
#define WHY(...) why_fmt(why, whylen, __VA_ARGS__)

#endif
