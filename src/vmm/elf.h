/* elf.h - validation of ELF64 x86-64 executables, independent of KVM and of guest memory.
 *
 * elf_parse() checks everything the loader relies on and fills a plain description;
 * the loader (src/sys/processes/exec.c) then maps the segments.  Pure: no I/O, no allocation,
 * safe on hostile input (it has a libFuzzer target, tests/fuzz/elf_fuzz.c).
 */
#ifndef VMM_ELF_H
#define VMM_ELF_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#define ELF_MAX_LOADS 16
#define ELF_INTERP_MAX 256

/* Segment permissions, as mmap's PROT_* bits. */
struct elf_load {
	uint64_t vaddr; /* p_vaddr (unrelocated for ET_DYN) */
	uint64_t memsz;
	uint64_t offset; /* p_offset */
	uint64_t filesz;
	int prot; /* PROT_READ | PROT_WRITE | PROT_EXEC from p_flags */
};

struct elf_info {
	bool is_dyn; /* ET_DYN: position independent, loaded at a chosen base */
	uint64_t entry; /* e_entry (unrelocated) */
	uint64_t phoff; /* e_phoff */
	uint64_t phdr_vaddr; /* vaddr of the program headers in memory (PT_PHDR, or derived) */
	uint16_t phnum;
	uint16_t phentsize;
	uint64_t min_vaddr; /* lowest load vaddr, page aligned down */
	uint64_t max_vaddr; /* end of the highest load, page aligned up */
	uint64_t max_align; /* largest p_align of the loads (at least the page size) */
	unsigned nloads;
	struct elf_load loads[ELF_MAX_LOADS];
	bool has_interp;
	char interp[ELF_INTERP_MAX]; /* PT_INTERP path, NUL terminated */
	bool exec_stack; /* PT_GNU_STACK has PF_X */
};

/*
 * Validate the ELF image buf[0..size) and describe it in *out.
 * Returns 0, or a negative errno with *why set to a static one-line reason:
 *   -ENOEXEC not an ELF / not ELF64 / not little-endian / not x86-64 / not ET_EXEC or ET_DYN,
 *            truncated or inconsistent headers, overlapping or unsorted PT_LOADs,
 *            a segment with filesz > memsz or a range that overflows,
 *            a W+X segment is allowed (glibc static binaries never have one, but JITs' may) - not rejected,
 *   -E2BIG   more than ELF_MAX_LOADS loads.
 * `size` need only cover the headers the loader reads (first page(s)); segment file
 * ranges are checked against `file_size`, the full size of the file.
 */
int elf_parse(const void *buf, size_t size, uint64_t file_size, struct elf_info *out, const char **why);

#endif
