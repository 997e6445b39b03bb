/* elf.c - validation of ELF64 x86-64 executables held in memory (the contract is in elf.h). */
#include "vmm/elf.h"

#include <elf.h>
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

/* The loader maps 4 KiB pages: file offsets and addresses must agree modulo this. */
#define ELF_PAGE_SIZE 4096ULL
/* The lower half of the 48-bit canonical address space, all a user program may occupy. */
#define USER_VA_END (1ULL << 47)
/* Like Linux, refuse program header tables over 64 KiB; it also rules out PN_XNUM (0xffff). */
#define PHDRS_MAX_BYTES 65536ULL
/* max_align sets the ET_DYN load base alignment; real linkers use at most 2 MiB. */
#define ALIGN_MAX (1ULL << 30)

/* The one failure path: every rejection is a static reason and -ENOEXEC (the single
 * exception, too many loads, is -E2BIG in add_load). */
static int reject(const char **why, const char *reason)
{
	*why = reason;
	return -ENOEXEC;
}

static uint64_t page_down(uint64_t x)
{
	return x & ~(ELF_PAGE_SIZE - 1);
}

/* Callers guarantee x <= USER_VA_END, so this cannot wrap. */
static uint64_t page_up(uint64_t x)
{
	return page_down(x + ELF_PAGE_SIZE - 1);
}

static bool is_pow2(uint64_t x)
{
	return x != 0 && (x & (x - 1)) == 0;
}

/* Is [start, start+len) inside [outer, outer+outer_len)?  Written so that nothing can wrap. */
static bool range_within(uint64_t start, uint64_t len, uint64_t outer, uint64_t outer_len)
{
	return start >= outer && start - outer <= outer_len && len <= outer_len - (start - outer);
}

/* Everything in the ELF header itself, up to "the program header table is inside buf". */
static int check_ehdr(const unsigned char *img, size_t size, Elf64_Ehdr *eh, const char **why)
{
	uint64_t ph_bytes, ph_end;

	if (size < SELFMAG || memcmp(img, ELFMAG, SELFMAG) != 0)
		return reject(why, "not an ELF file");
	if (size < sizeof(*eh))
		return reject(why, "truncated ELF header");
	/* buf has no alignment guarantee: copy instead of casting. */
	memcpy(eh, img, sizeof(*eh));

	if (eh->e_ident[EI_CLASS] == ELFCLASS32)
		return reject(why, "32-bit ELF not supported");
	if (eh->e_ident[EI_CLASS] != ELFCLASS64)
		return reject(why, "unknown ELF class");
	if (eh->e_ident[EI_DATA] == ELFDATA2MSB)
		return reject(why, "big-endian ELF not supported");
	if (eh->e_ident[EI_DATA] != ELFDATA2LSB)
		return reject(why, "unknown ELF data encoding");
	if (eh->e_ident[EI_VERSION] != EV_CURRENT || eh->e_version != EV_CURRENT)
		return reject(why, "unknown ELF version");
	if (eh->e_machine != EM_X86_64)
		return reject(why, "not an x86-64 executable");
	if (eh->e_type == ET_REL)
		return reject(why, "relocatable object, not an executable");
	if (eh->e_type == ET_CORE)
		return reject(why, "core dump, not an executable");
	if (eh->e_type != ET_EXEC && eh->e_type != ET_DYN)
		return reject(why, "not an executable or shared object");

	if (eh->e_phentsize != sizeof(Elf64_Phdr))
		return reject(why, "unexpected program header size");
	if (eh->e_phnum == 0)
		return reject(why, "no program headers");
	ph_bytes = (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr);
	if (ph_bytes > PHDRS_MAX_BYTES)
		return reject(why, "too many program headers");
	if (__builtin_add_overflow(eh->e_phoff, ph_bytes, &ph_end) || ph_end > size)
		return reject(why, "truncated program headers");
	return 0;
}

static int prot_of(uint32_t p_flags)
{
	return (p_flags & PF_R ? PROT_READ : 0) | (p_flags & PF_W ? PROT_WRITE : 0) | (p_flags & PF_X ? PROT_EXEC : 0);
}

/* Validate one PT_LOAD and append it; loads arrive in program header order. */
static int add_load(struct elf_info *out, const Elf64_Phdr *ph, uint64_t file_size, const char **why)
{
	uint64_t file_end, mem_end;
	struct elf_load *prev = out->nloads ? &out->loads[out->nloads - 1] : NULL;

	/* An empty load maps nothing (Linux skips it too); keeping it would only confuse the
	 * sorted/overlap rules, since its address is meaningless. */
	if (ph->p_memsz == 0)
		return 0;
	if (ph->p_filesz > ph->p_memsz)
		return reject(why, "segment file size larger than its memory size");
	if (__builtin_add_overflow(ph->p_offset, ph->p_filesz, &file_end) || file_end > file_size)
		return reject(why, "segment file range outside the file");
	if (__builtin_add_overflow(ph->p_vaddr, ph->p_memsz, &mem_end) || mem_end > USER_VA_END)
		return reject(why, "segment outside the user address range");
	/* Pages are mapped (or copied) whole, so the page offset in the file and in memory must
	 * agree.  Unsigned wrap-around is harmless: the page size divides 2^64. */
	if ((ph->p_vaddr - ph->p_offset) % ELF_PAGE_SIZE != 0)
		return reject(why, "segment offset and address not congruent modulo the page size");
	/* A huge p_align would make the loader look for an impossibly aligned base.  Like Linux,
	 * values that are not powers of two are simply not honoured. */
	if (is_pow2(ph->p_align) && ph->p_align > ALIGN_MAX)
		return reject(why, "segment alignment too large");

	/* The loader relies on ascending, disjoint loads (man 5 elf requires the order).
	 * Only the exact byte ranges must be disjoint: adjacent segments commonly share the
	 * page where one ends and the next begins (ld.so and libc do). */
	if (prev && ph->p_vaddr < prev->vaddr)
		return reject(why, "segments not sorted by address");
	if (prev && ph->p_vaddr < prev->vaddr + prev->memsz)
		return reject(why, "overlapping segments");
	if (out->nloads == ELF_MAX_LOADS) {
		*why = "too many loadable segments";
		return -E2BIG;
	}

	out->loads[out->nloads++] = (struct elf_load){
	        .vaddr = ph->p_vaddr,
	        .memsz = ph->p_memsz,
	        .offset = ph->p_offset,
	        .filesz = ph->p_filesz,
	        .prot = prot_of(ph->p_flags),
	};
	if (is_pow2(ph->p_align) && ph->p_align > out->max_align)
		out->max_align = ph->p_align;
	return 0;
}

/* Copy the PT_INTERP path.  It must lie in buf (the loader reads it from there), end in a
 * NUL like Linux demands, and fit interp[] with that NUL. */
static int read_interp(struct elf_info *out, const unsigned char *img, size_t size, uint64_t file_size,
                       const Elf64_Phdr *ph, const char **why)
{
	uint64_t end;
	size_t len;

	if (out->has_interp)
		return reject(why, "more than one PT_INTERP");
	if (ph->p_filesz > ELF_INTERP_MAX)
		return reject(why, "interpreter path too long");
	if (ph->p_filesz < 2)
		return reject(why, "empty interpreter path");
	if (__builtin_add_overflow(ph->p_offset, ph->p_filesz, &end) || end > file_size)
		return reject(why, "interpreter path outside the file");
	if (end > size)
		return reject(why, "interpreter path beyond the headers read");
	if (img[end - 1] != '\0')
		return reject(why, "interpreter path not NUL-terminated");
	len = strlen((const char *)img + ph->p_offset); /* stops at the NUL checked above */
	if (len == 0)
		return reject(why, "empty interpreter path");

	memcpy(out->interp, img + ph->p_offset, len);
	out->interp[len] = '\0';
	out->has_interp = true;
	return 0;
}

/* Where the program headers are in memory (AT_PHDR before relocation).  PT_PHDR says so
 * directly, and must then lie inside a load, as ld.so takes it on trust to find its base.
 * Otherwise map e_phoff through the load whose file bytes hold the table, like Linux.
 * Tiny hand-made executables (ld -n, assembler tricks) map no headers at all; Linux runs
 * them and reports AT_PHDR as the load bias plus 0, so phdr_vaddr is 0 for them too. */
static int locate_phdrs(struct elf_info *out, const Elf64_Phdr *pt_phdr, const char **why)
{
	uint64_t bytes = (uint64_t)out->phnum * sizeof(Elf64_Phdr);

	for (unsigned i = 0; i < out->nloads; i++) {
		const struct elf_load *l = &out->loads[i];

		if (pt_phdr && range_within(pt_phdr->p_vaddr, bytes, l->vaddr, l->memsz)) {
			out->phdr_vaddr = pt_phdr->p_vaddr;
			return 0;
		}
		if (!pt_phdr && range_within(out->phoff, bytes, l->offset, l->filesz)) {
			out->phdr_vaddr = l->vaddr + (out->phoff - l->offset);
			return 0;
		}
	}
	if (pt_phdr)
		return reject(why, "PT_PHDR outside the loadable segments");
	out->phdr_vaddr = 0;
	return 0;
}

int elf_parse(const void *buf, size_t size, uint64_t file_size, struct elf_info *out, const char **why)
{
	const unsigned char *img = buf;
	const char *ignored;
	Elf64_Ehdr eh;
	Elf64_Phdr pt_phdr = {0};
	bool has_pt_phdr = false;
	int err;

	if (!why)
		why = &ignored;
	memset(out, 0, sizeof(*out));
	/* buf holds the start of the file; a longer buf means the caller mixed up the sizes. */
	if (size > file_size)
		return reject(why, "header buffer larger than the file");
	err = check_ehdr(img, size, &eh, why);
	if (err)
		return err;

	out->is_dyn = eh.e_type == ET_DYN;
	out->entry = eh.e_entry;
	out->phoff = eh.e_phoff;
	out->phnum = eh.e_phnum;
	out->phentsize = eh.e_phentsize;
	out->max_align = ELF_PAGE_SIZE;

	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;

		err = 0;
		memcpy(&ph, img + eh.e_phoff + (uint64_t)i * sizeof(ph), sizeof(ph));
		switch (ph.p_type) {
		case PT_LOAD: err = add_load(out, &ph, file_size, why); break;
		case PT_INTERP: err = read_interp(out, img, size, file_size, &ph, why); break;
		case PT_PHDR:
			if (has_pt_phdr)
				err = reject(why, "more than one PT_PHDR");
			pt_phdr = ph;
			has_pt_phdr = true;
			break;
		case PT_GNU_STACK:
			/* Without PT_GNU_STACK an x86-64 stack is not executable (Linux agrees). */
			out->exec_stack = (ph.p_flags & PF_X) != 0;
			break;
		default: break; /* PT_DYNAMIC, PT_TLS, notes...: the program's own business */
		}
		if (err)
			return err;
	}

	if (out->nloads == 0)
		return reject(why, "no loadable segments");
	/* Sorted and disjoint, so the first load starts lowest and the last ends highest. */
	out->min_vaddr = page_down(out->loads[0].vaddr);
	out->max_vaddr = page_up(out->loads[out->nloads - 1].vaddr + out->loads[out->nloads - 1].memsz);
	/* A start address outside the loaded range can only fault, or turn non-canonical once
	 * an ET_DYN base is added; refuse it here rather than at the first instruction. */
	if (out->entry < out->min_vaddr || out->entry >= out->max_vaddr)
		return reject(why, "entry point outside the loadable segments");
	return locate_phdrs(out, has_pt_phdr ? &pt_phdr : NULL, why);
}
