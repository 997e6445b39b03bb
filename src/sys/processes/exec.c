/* exec.c - load an ELF executable into a fresh process: segments, brk, stack, auxv.
 * The initial stack follows the x86-64 SysV ABI (3.4.1 "Initial Stack and Register State"). */
#include <cpuid.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sys/memory/mm_apply.h"
#include "sys/ring.h"
#include "sys/proc_impl.h"
#include "vmm/elf.h"
#include "vmm/layout.h"

#define EXEC_PAGE 4096ULL
#define PAGE_DOWN(x) ((x) & ~(EXEC_PAGE - 1))
#define PAGE_UP(x) (((x) + EXEC_PAGE - 1) & ~(EXEC_PAGE - 1))

#define PIE_BASE 0x40000000ULL /* where ET_DYN executables go (1 GiB), in a big enough range */
#define STACK_SIZE (8ULL << 20) /* RLIMIT_STACK's usual 8 MiB */
#define STACK_GAP (16ULL << 20) /* between the stack and the mmap area */
#define MAX_EXEC_SIZE (1ULL << 32)

struct image {
	int fd;
	const uint8_t *data;
	uint64_t size;
	struct elf_info info;
	uint64_t base;
};

static int open_image(const char *path, struct image *img, const char **why)
{
	img->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (img->fd < 0) {
		*why = strerror(errno);
		return -errno;
	}
	struct stat st;
	if (fstat(img->fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		*why = "not a regular file";
		close(img->fd);
		return -EACCES;
	}
	if ((uint64_t)st.st_size > MAX_EXEC_SIZE || st.st_size < (off_t)sizeof(Elf64_Ehdr)) {
		*why = (uint64_t)st.st_size > MAX_EXEC_SIZE ? "file too large to be an executable"
		       : st.st_size                         ? "not an ELF file (too short)"
		                                            : "not an ELF file (empty)";
		close(img->fd);
		return -ENOEXEC;
	}
	img->size = (uint64_t)st.st_size;
	img->data = mmap(NULL, img->size, PROT_READ, MAP_PRIVATE, img->fd, 0);
	if (img->data == MAP_FAILED) {
		*why = strerror(errno);
		close(img->fd);
		return -errno;
	}
	int err = elf_parse(img->data, img->size, img->size, &img->info, why);
	if (err) {
		munmap((void *)img->data, img->size);
		close(img->fd);
	}
	return err;
}

static void close_image(struct image *img)
{
	munmap((void *)img->data, img->size);
	close(img->fd);
}

/* Does page range [lo, hi) hold bytes of a writable segment (which must be copied)? */
static bool touches_writable(const struct image *img, uint64_t lo, uint64_t hi)
{
	for (unsigned i = 0; i < img->info.nloads; i++) {
		const struct elf_load *l = &img->info.loads[i];
		uint64_t s = PAGE_DOWN(img->base + l->vaddr), e = PAGE_UP(img->base + l->vaddr + l->memsz);
		if ((l->prot & PROT_WRITE) && s < hi && lo < e)
			return true;
	}
	return false;
}

/* A read-only segment whose pages hold nothing else: show it straight from the file
 * (copy-on-write), so a large binary's text costs no memory.  False: copy it instead. */
static bool map_segment_file(struct proc *p, struct image *img, const struct elf_load *l)
{
	if ((l->prot & PROT_WRITE) || l->memsz != l->filesz || l->filesz == 0)
		return false;
	uint64_t lo = PAGE_DOWN(img->base + l->vaddr), hi = PAGE_UP(img->base + l->vaddr + l->filesz);
	if (touches_writable(img, lo, hi) || PAGE_UP(l->offset + l->filesz) > PAGE_UP(img->size))
		return false;
	return vm_map_file(p->vm, lo, hi - lo, img->fd, PAGE_DOWN(l->offset)) == 0;
}

/* Map every PT_LOAD: fresh zeroed pages over the whole span, the file bytes copied in,
 * then each segment's own rights (later segments win on a shared page, as in Linux). */
static int load_segments(struct proc *p, struct image *img, const char *name)
{
	const struct elf_info *e = &img->info;
	uint64_t lo = img->base + e->min_vaddr, hi = img->base + e->max_vaddr;
	if (lo < USER_MIN_ADDR || hi > p->mm.user_size || hi < lo)
		return -ENOMEM;
	struct vma span = {.start = lo,
	                   .end = hi,
	                   .prot = PROT_READ,
	                   .flags = MAP_PRIVATE,
	                   .kind = VMA_FILE,
	                   .name = vma_intern(&p->mm, name)};
	int err = mm_map_fresh(p, &span);
	for (unsigned i = 0; !err && i < e->nloads; i++) {
		const struct elf_load *l = &e->loads[i];
		if (!map_segment_file(p, img, l)) {
			void *dst = vm_user_ptr_unchecked(p->vm, img->base + l->vaddr, l->filesz);
			if (!dst)
				err = -ENOMEM; /* past the user range: elf_check let it through */
			else
				memcpy(dst, img->data + l->offset, l->filesz);
		}
	}
	for (unsigned i = 0; !err && i < e->nloads; i++) {
		const struct elf_load *l = &e->loads[i];
		uint64_t start = PAGE_DOWN(img->base + l->vaddr), end = PAGE_UP(img->base + l->vaddr + l->memsz);
		struct vma seg = span;
		seg.start = start;
		seg.end = end;
		seg.prot = l->prot;
		seg.offset = PAGE_DOWN(l->offset);
		err = vma_insert(&p->mm, &seg);
		if (!err)
			err = vm_map_range(p->vm, start, end - start, l->prot);
	}
	return err;
}

struct stack_builder {
	struct proc *p;
	uint64_t sp; /* grows down */
	uint64_t floor;
};

static uint64_t push_bytes(struct stack_builder *sb, const void *data, size_t size)
{
	if (sb->sp - sb->floor < size)
		return 0;
	void *dst = vm_user_ptr_unchecked(sb->p->vm, sb->sp - size, size);
	if (!dst)
		return 0;
	sb->sp -= size;
	memcpy(dst, data, size);
	return sb->sp;
}

static uint64_t push_string(struct stack_builder *sb, const char *s)
{
	return push_bytes(sb, s, strlen(s) + 1);
}

/* The vDSO, where mmap would put it; 0 (no AT_SYSINFO_EHDR) if it cannot be placed. */
static uint64_t map_vdso(struct proc *p)
{
	uint64_t size = vm_vdso_size(), at;
	if (vma_find_free(&p->mm, 0, size, EXEC_PAGE, USER_MIN_ADDR, &at))
		return 0;
	struct vma v = {.start = at,
	                .end = at + size,
	                .prot = PROT_READ | PROT_EXEC,
	                .flags = MAP_PRIVATE,
	                .kind = VMA_ANON,
	                .name = vma_intern(&p->mm, "[vdso]")};
	if (mm_map_fresh(p, &v) || vm_install_vdso(p->vm, at))
		return 0;
	p->vdso_addr = at;
	return at;
}

static int count(char *const v[])
{
	int n = 0;
	while (v && v[n])
		n++;
	return n;
}

static uint64_t host_hwcap(void)
{
	unsigned eax, ebx, ecx, edx;
	return __get_cpuid(1, &eax, &ebx, &ecx, &edx) ? edx : 0;
}

static int build_stack(struct proc *p, struct image *img, uint64_t interp_base, const char *execfn, char *const argv[],
                       char *const envp[], uint64_t *sp_out)
{
	uint64_t end = p->mm.stack_end;
	/* Strings and AT_RANDOM bytes at the top; the vectors below them. */
	struct stack_builder sb = {.p = p, .sp = end, .floor = p->mm.stack_start + STACK_SIZE / 2};
	int argc = count(argv), envc = count(envp);
	uint64_t *argp = calloc(argc + envc + 2, sizeof(uint64_t));
	if (!argp)
		return -ENOMEM;
	uint64_t execfn_at = push_string(&sb, execfn);
	uint64_t platform_at = push_string(&sb, "x86_64");
	uint8_t rnd[16];
	if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
		memset(rnd, 0x5a, sizeof(rnd));
	uint64_t random_at = push_bytes(&sb, rnd, sizeof(rnd));
	for (int i = 0; i < envc; i++)
		argp[argc + 1 + i] = push_string(&sb, envp[i]);
	for (int i = 0; i < argc; i++)
		argp[i] = push_string(&sb, argv[i]);

	const struct elf_info *e = &img->info;
	uint64_t vdso = map_vdso(p);
	uint64_t auxv[][2] = {
	        {AT_SYSINFO_EHDR, vdso},
	        {AT_PHDR, img->base + e->phdr_vaddr},
	        {AT_PHENT, e->phentsize},
	        {AT_PHNUM, e->phnum},
	        {AT_PAGESZ, EXEC_PAGE},
	        {AT_BASE, interp_base},
	        {AT_FLAGS, 0},
	        {AT_ENTRY, img->base + e->entry},
	        {AT_UID, getuid()},
	        {AT_EUID, geteuid()},
	        {AT_GID, getgid()},
	        {AT_EGID, getegid()},
	        {AT_SECURE, 0},
	        {AT_RANDOM, random_at},
	        {AT_HWCAP, host_hwcap()},
	        {AT_HWCAP2, 0},
	        {AT_CLKTCK, 100},
	        {AT_EXECFN, execfn_at},
	        {AT_PLATFORM, platform_at},
	        {AT_NULL, 0},
	};
	/* argc, argv[], NULL, envp[], NULL, auxv pairs: rsp must be 16-byte aligned at argc. */
	size_t words = 1 + (size_t)argc + 1 + (size_t)envc + 1 + sizeof(auxv) / 8;
	uint64_t sp = (sb.sp - words * 8) & ~15ULL;
	if (!execfn_at || !random_at || sp < sb.floor) {
		free(argp);
		return -E2BIG;
	}
	uint64_t *w = vm_user_ptr_unchecked(p->vm, sp, words * 8);
	if (!w) {
		free(argp);
		return -E2BIG;
	}
	*w++ = (uint64_t)argc;
	for (int i = 0; i < argc; i++)
		*w++ = argp[i];
	*w++ = 0;
	for (int i = 0; i < envc; i++)
		*w++ = argp[argc + 1 + i];
	*w++ = 0;
	memcpy(w, auxv, sizeof(auxv));
	free(argp);
	*sp_out = sp;
	return 0;
}

/* The stack at the top of the user range; new mappings go below it with a gap. */
static int map_stack(struct proc *p)
{
	uint64_t end = p->mm.user_size - EXEC_PAGE, start = end - STACK_SIZE;
	struct vma stack = {.start = start,
	                    .end = end,
	                    .prot = PROT_READ | PROT_WRITE,
	                    .flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_GROWSDOWN,
	                    .kind = VMA_STACK};
	int err = mm_map_fresh(p, &stack);
	if (err)
		return err;
	p->mm.stack_start = start;
	p->mm.stack_end = end;
	p->mm.mmap_top = start - STACK_GAP;
	return 0;
}

/* The program interpreter (ld.so) goes where mmap would put it, as Linux does. */
static int load_interp(struct proc *p, const char *path, struct image *interp, const char **why)
{
	int err = open_image(path, interp, why);
	if (err)
		return err;
	if (!interp->info.is_dyn || interp->info.has_interp) {
		*why = "the program interpreter is not a plain shared object";
		close_image(interp);
		return -ENOEXEC;
	}
	uint64_t span = interp->info.max_vaddr - interp->info.min_vaddr;
	uint64_t align = interp->info.max_align > EXEC_PAGE ? interp->info.max_align : EXEC_PAGE;
	uint64_t at;
	err = vma_find_free(&p->mm, 0, span, align, USER_MIN_ADDR, &at);
	if (!err) {
		interp->base = at - interp->info.min_vaddr;
		err = load_segments(p, interp, path);
	}
	if (err) {
		*why = "the program interpreter does not fit in guest memory";
		close_image(interp);
	}
	return err;
}

int proc_exec(struct proc *p, const char *path, char *const argv[], char *const envp[], const char **why)
{
	struct image img;
	int err = open_image(path, &img, why);
	if (err)
		return err;
	img.base = 0;
	if (img.info.is_dyn) {
		uint64_t align = img.info.max_align > EXEC_PAGE ? img.info.max_align : EXEC_PAGE;
		/* 1 GiB up, or a quarter of a smaller range: room below for fixed low mappings,
		 * above for the heap, and the mmap area and stack at the top. */
		uint64_t base = p->mm.user_size / 4 < PIE_BASE ? p->mm.user_size / 4 : PIE_BASE;
		img.base = (base + align - 1) & ~(align - 1);
	}
	if (!realpath(path, p->id.exe_path))
		snprintf(p->id.exe_path, sizeof(p->id.exe_path), "%s", path);
	/* The name PR_GET_NAME and /proc/self/comm show: the file name exec was given, as
	 * Linux (TASK_COMM_LEN: 15 bytes and a NUL). */
	const char *slash = strrchr(path, '/');
	snprintf(p->id.comm, sizeof(p->id.comm), "%.15s", slash ? slash + 1 : path);

	uint64_t sp = 0, entry = img.base + img.info.entry, interp_base = 0;
	err = load_segments(p, &img, p->id.exe_path);
	if (err)
		*why = "program does not fit in guest memory (see --max-main-memory)";
	if (!err) {
		p->mm.brk_start = p->mm.brk = PAGE_UP(img.base + img.info.max_vaddr);
		err = map_stack(p);
		if (err)
			*why = "no room for the stack (see --max-main-memory)";
	}
	if (!err && img.info.has_interp) {
		struct image interp;
		err = load_interp(p, img.info.interp, &interp, why);
		if (!err) {
			interp_base = interp.base;
			entry = interp.base + interp.info.entry;
			close_image(&interp);
		}
	}
	if (!err) {
		err = build_stack(p, &img, interp_base, path, argv, envp, &sp);
		if (err)
			*why = "arguments and environment do not fit on the stack";
	}
	if (!err) {
		struct kvm_regs regs = {0};
		regs.rip = entry;
		regs.rsp = sp;
		regs.rflags = 0x202;
		vm_load_user_state(p->vm, &regs);
		err = ring_setup_image(p, img.fd, p->id.exe_path);
		if (err)
			*why = "cannot set up the ring syscall path";
	}
	close_image(&img);
	return err;
}
