/* elf_test.c - unit tests for elf_parse(): hand-built ELF images in memory, plus real binaries. */
#include "vmm/elf.h"

#include <elf.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "test_util.h"

#define IMG_SIZE 0x3000
#define IMG_MAX_PH 24
#define INTERP_OFF 0x800
#define LDSO "/lib64/ld-linux-x86-64.so.2"

/* A file image whose header and program header table can be edited in place. */
union image {
	unsigned char bytes[IMG_SIZE];
	struct {
		Elf64_Ehdr eh;
		Elf64_Phdr ph[IMG_MAX_PH];
	} h;
};
_Static_assert(offsetof(union image, h.ph) == sizeof(Elf64_Ehdr), "phdrs follow the ELF header");

static Elf64_Phdr phdr(uint32_t type, uint32_t flags, uint64_t off, uint64_t vaddr, uint64_t filesz, uint64_t memsz)
{
	return (Elf64_Phdr){
	        .p_type = type,
	        .p_flags = flags,
	        .p_offset = off,
	        .p_vaddr = vaddr,
	        .p_paddr = vaddr,
	        .p_filesz = filesz,
	        .p_memsz = memsz,
	        .p_align = type == PT_LOAD ? 0x1000 : 8,
	};
}

static void init_ehdr(union image *im, uint16_t type, unsigned phnum, uint64_t entry)
{
	Elf64_Ehdr *eh = &im->h.eh;

	memset(im, 0, sizeof(*im));
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = type;
	eh->e_machine = EM_X86_64;
	eh->e_version = EV_CURRENT;
	eh->e_entry = entry;
	eh->e_phoff = sizeof(Elf64_Ehdr);
	eh->e_ehsize = sizeof(Elf64_Ehdr);
	eh->e_phentsize = sizeof(Elf64_Phdr);
	eh->e_phnum = phnum;
}

/* A static, non-PIE executable: headers+rodata, text, data+bss; no PT_GNU_STACK flags X. */
static void make_exec(union image *im)
{
	init_ehdr(im, ET_EXEC, 4, 0x401000);
	im->h.ph[0] = phdr(PT_LOAD, PF_R, 0, 0x400000, 0x1000, 0x1000);
	im->h.ph[1] = phdr(PT_LOAD, PF_R | PF_X, 0x1000, 0x401000, 0x500, 0x500);
	im->h.ph[2] = phdr(PT_LOAD, PF_R | PF_W, 0x1e00, 0x402e00, 0x100, 0x2000);
	im->h.ph[3] = phdr(PT_GNU_STACK, PF_R | PF_W, 0, 0, 0, 0);
}

/* A PIE: PT_PHDR, PT_INTERP, three loads (text aligned to 2 MiB), executable stack. */
static void make_dyn(union image *im)
{
	init_ehdr(im, ET_DYN, 6, 0x1100);
	im->h.ph[0] = phdr(PT_PHDR, PF_R, 64, 64, 6 * sizeof(Elf64_Phdr), 6 * sizeof(Elf64_Phdr));
	im->h.ph[1] = phdr(PT_INTERP, PF_R, INTERP_OFF, INTERP_OFF, sizeof(LDSO), sizeof(LDSO));
	im->h.ph[2] = phdr(PT_LOAD, PF_R, 0, 0, 0x1000, 0x1000);
	im->h.ph[3] = phdr(PT_LOAD, PF_R | PF_X, 0x1000, 0x1000, 0x800, 0x800);
	im->h.ph[3].p_align = 0x200000;
	im->h.ph[4] = phdr(PT_LOAD, PF_R | PF_W, 0x1800, 0x2800, 0x400, 0x1000);
	im->h.ph[5] = phdr(PT_GNU_STACK, PF_R | PF_W | PF_X, 0, 0, 0, 0);
	memcpy(im->bytes + INTERP_OFF, LDSO, sizeof(LDSO));
}

static int parse_img(const union image *im, struct elf_info *info, const char **why)
{
	*why = NULL;
	return elf_parse(im->bytes, IMG_SIZE, IMG_SIZE, info, why);
}

#define CHECK_REJECTED(err, why, want_err, want_why)                                                                   \
	do {                                                                                                           \
		ASSERT_EQ(err, want_err);                                                                              \
		TEST_ASSERT((why) && strcmp((why), (want_why)) == 0, "why \"%s\", want \"%s\"",                        \
		            (why) ? (why) : "(null)", (want_why));                                                     \
	} while (0)

/* Parse the whole image as both header buffer and file, and expect a rejection. */
#define EXPECT_REJECT(im, want_err, want_why)                                                                          \
	do {                                                                                                           \
		struct elf_info info_;                                                                                 \
		const char *why_;                                                                                      \
		int err_ = parse_img((im), &info_, &why_);                                                             \
		CHECK_REJECTED(err_, why_, want_err, want_why);                                                        \
	} while (0)

#define EXPECT_ACCEPT(im, info)                                                                                        \
	do {                                                                                                           \
		const char *why_;                                                                                      \
		int err_ = parse_img((im), (info), &why_);                                                             \
		TEST_ASSERT(err_ == 0, "rejected (%d): %s", err_, why_ ? why_ : "(null)");                             \
	} while (0)

/* --- accepted images ------------------------------------------------------------------------ */

static void test_valid_exec(void)
{
	union image im;
	struct elf_info info;

	make_exec(&im);
	EXPECT_ACCEPT(&im, &info);
	ASSERT_EQ(info.is_dyn, false);
	ASSERT_EQ(info.entry, 0x401000);
	ASSERT_EQ(info.phoff, 64);
	ASSERT_EQ(info.phnum, 4);
	ASSERT_EQ(info.phentsize, sizeof(Elf64_Phdr));
	ASSERT_EQ(info.phdr_vaddr, 0x400040); /* derived: e_phoff inside the first load */
	ASSERT_EQ(info.nloads, 3);
	ASSERT_EQ(info.loads[0].vaddr, 0x400000);
	ASSERT_EQ(info.loads[0].prot, PROT_READ);
	ASSERT_EQ(info.loads[1].offset, 0x1000);
	ASSERT_EQ(info.loads[1].filesz, 0x500);
	ASSERT_EQ(info.loads[1].prot, PROT_READ | PROT_EXEC);
	ASSERT_EQ(info.loads[2].vaddr, 0x402e00);
	ASSERT_EQ(info.loads[2].memsz, 0x2000);
	ASSERT_EQ(info.loads[2].filesz, 0x100);
	ASSERT_EQ(info.loads[2].prot, PROT_READ | PROT_WRITE);
	ASSERT_EQ(info.min_vaddr, 0x400000);
	ASSERT_EQ(info.max_vaddr, 0x405000); /* 0x402e00 + 0x2000, rounded up */
	ASSERT_EQ(info.max_align, 0x1000);
	ASSERT_EQ(info.has_interp, false);
	ASSERT_EQ(info.interp[0], '\0');
	ASSERT_EQ(info.exec_stack, false);
}

static void test_valid_dyn(void)
{
	union image im;
	struct elf_info info;

	make_dyn(&im);
	EXPECT_ACCEPT(&im, &info);
	ASSERT_EQ(info.is_dyn, true);
	ASSERT_EQ(info.entry, 0x1100);
	ASSERT_EQ(info.phdr_vaddr, 64);
	ASSERT_EQ(info.nloads, 3);
	ASSERT_EQ(info.min_vaddr, 0);
	ASSERT_EQ(info.max_vaddr, 0x4000);
	ASSERT_EQ(info.max_align, 0x200000);
	ASSERT_EQ(info.has_interp, true);
	TEST_ASSERT(strcmp(info.interp, LDSO) == 0, "interp \"%s\"", info.interp);
	ASSERT_EQ(info.exec_stack, true);
}

/* PT_PHDR wins over the derived address (they differ here only to tell them apart). */
static void test_pt_phdr_preferred(void)
{
	union image im;
	struct elf_info info;

	make_dyn(&im);
	im.h.ph[0].p_vaddr = 0x2800;
	EXPECT_ACCEPT(&im, &info);
	ASSERT_EQ(info.phdr_vaddr, 0x2800);
}

/* Without PT_PHDR, e_phoff maps through whichever load holds those file bytes. */
static void test_phdrs_in_later_load(void)
{
	union image im;
	struct elf_info info;

	make_exec(&im);
	im.h.ph[0] = phdr(PT_LOAD, PF_R, 0x1000, 0x400000, 0x800, 0x800); /* no longer covers 64 */
	im.h.ph[1] = phdr(PT_LOAD, PF_R | PF_X, 0x2000, 0x401000, 0x500, 0x500);
	im.h.ph[2] = phdr(PT_LOAD, PF_R | PF_W, 0, 0x500000, 0x1000, 0x1000);
	EXPECT_ACCEPT(&im, &info);
	ASSERT_EQ(info.phdr_vaddr, 0x500040);
}

/* `size` need only cover the headers, with segments checked against file_size. */
static void test_headers_only_buffer(void)
{
	union image im;
	struct elf_info info;
	const char *why = NULL;
	int err;

	make_dyn(&im);
	err = elf_parse(im.bytes, INTERP_OFF + sizeof(LDSO), IMG_SIZE, &info, &why);
	TEST_ASSERT(err == 0, "rejected: %s", why);
	ASSERT_EQ(info.nloads, 3);

	err = elf_parse(im.bytes, INTERP_OFF + sizeof(LDSO) - 1, IMG_SIZE, &info, &why);
	CHECK_REJECTED(err, why, -ENOEXEC, "interpreter path beyond the headers read");
}

/* Real binaries (ld.so, libc) have adjacent segments that share a page: fine, as long as
 * the exact byte ranges are disjoint. */
static void test_shared_page(void)
{
	union image im;
	struct elf_info info;

	init_ehdr(&im, ET_DYN, 2, 0x100);
	im.h.ph[0] = phdr(PT_LOAD, PF_R | PF_X, 0, 0, 0x1234, 0x1234);
	im.h.ph[1] = phdr(PT_LOAD, PF_R | PF_W, 0x1234, 0x1234, 0x100, 0x900);
	EXPECT_ACCEPT(&im, &info);
	ASSERT_EQ(info.nloads, 2);
	ASSERT_EQ(info.max_vaddr, 0x2000);

	im.h.ph[1].p_offset = im.h.ph[1].p_vaddr = 0x1233;
	EXPECT_REJECT(&im, -ENOEXEC, "overlapping segments");
}

static void test_empty_load_ignored(void)
{
	union image im;
	struct elf_info info;

	make_exec(&im);
	/* An empty load at a nonsense address, out of order: maps nothing, so ignored. */
	im.h.ph[3] = phdr(PT_LOAD, PF_R, 0, 0x10, 0, 0);
	EXPECT_ACCEPT(&im, &info);
	ASSERT_EQ(info.nloads, 3);
	ASSERT_EQ(info.exec_stack, false); /* no PT_GNU_STACK at all: not executable */
}

static void test_user_space_boundary(void)
{
	union image im;
	struct elf_info info;
	const uint64_t top = 1ULL << 47;

	init_ehdr(&im, ET_EXEC, 1, top - 0x1000);
	im.h.ph[0] = phdr(PT_LOAD, PF_R | PF_X, 0, top - 0x1000, 0x1000, 0x1000);
	EXPECT_ACCEPT(&im, &info);
	ASSERT_EQ(info.max_vaddr, top);

	im.h.ph[0].p_memsz = 0x1001;
	EXPECT_REJECT(&im, -ENOEXEC, "segment outside the user address range");
	im.h.ph[0].p_vaddr = UINT64_MAX & ~0xfffULL; /* vaddr + memsz wraps */
	EXPECT_REJECT(&im, -ENOEXEC, "segment outside the user address range");
}

static void test_max_loads(void)
{
	union image im;
	struct elf_info info;

	init_ehdr(&im, ET_EXEC, ELF_MAX_LOADS, 0x400000);
	for (unsigned i = 0; i < ELF_MAX_LOADS; i++)
		im.h.ph[i] = phdr(PT_LOAD, PF_R, 0, 0x400000 + i * 0x1000ULL, 0x1000, 0x1000);
	EXPECT_ACCEPT(&im, &info);
	ASSERT_EQ(info.nloads, ELF_MAX_LOADS);

	im.h.eh.e_phnum = ELF_MAX_LOADS + 1;
	im.h.ph[ELF_MAX_LOADS] = phdr(PT_LOAD, PF_R, 0, 0x400000 + ELF_MAX_LOADS * 0x1000ULL, 0x1000, 0x1000);
	EXPECT_REJECT(&im, -E2BIG, "too many loadable segments");
}

static void test_alignment(void)
{
	union image im;
	struct elf_info info;

	make_exec(&im);
	im.h.ph[1].p_align = 3; /* not a power of two: not honoured, like Linux */
	EXPECT_ACCEPT(&im, &info);
	ASSERT_EQ(info.max_align, 0x1000);

	im.h.ph[1].p_align = 1ULL << 31;
	EXPECT_REJECT(&im, -ENOEXEC, "segment alignment too large");
}

static void test_interp_max_length(void)
{
	union image im;
	struct elf_info info;

	make_dyn(&im);
	memset(im.bytes + INTERP_OFF, 'a', ELF_INTERP_MAX - 1);
	im.bytes[INTERP_OFF + ELF_INTERP_MAX - 1] = '\0';
	im.h.ph[1].p_filesz = ELF_INTERP_MAX;
	EXPECT_ACCEPT(&im, &info);
	ASSERT_EQ(strlen(info.interp), ELF_INTERP_MAX - 1);

	im.h.ph[1].p_filesz = ELF_INTERP_MAX + 1;
	im.bytes[INTERP_OFF + ELF_INTERP_MAX] = '\0';
	EXPECT_REJECT(&im, -ENOEXEC, "interpreter path too long");
}

/* --- rejected ELF headers ------------------------------------------------------------------- */

static void test_bad_magic(void)
{
	union image im;
	struct elf_info info;
	const char *why = NULL;

	make_exec(&im);
	im.bytes[EI_MAG1] = 'e';
	EXPECT_REJECT(&im, -ENOEXEC, "not an ELF file");

	memcpy(im.bytes, "#!/bin/sh\n", 10);
	EXPECT_REJECT(&im, -ENOEXEC, "not an ELF file");

	CHECK_REJECTED(elf_parse(NULL, 0, 0, &info, &why), why, -ENOEXEC, "not an ELF file");
	make_exec(&im);
	CHECK_REJECTED(elf_parse(im.bytes, 3, 3, &info, &why), why, -ENOEXEC, "not an ELF file");
	CHECK_REJECTED(elf_parse(im.bytes, 63, 63, &info, &why), why, -ENOEXEC, "truncated ELF header");
}

static void test_class_and_encoding(void)
{
	union image im;

	make_exec(&im);
	im.bytes[EI_CLASS] = ELFCLASS32;
	EXPECT_REJECT(&im, -ENOEXEC, "32-bit ELF not supported");
	im.bytes[EI_CLASS] = ELFCLASSNONE;
	EXPECT_REJECT(&im, -ENOEXEC, "unknown ELF class");

	make_exec(&im);
	im.bytes[EI_DATA] = ELFDATA2MSB;
	EXPECT_REJECT(&im, -ENOEXEC, "big-endian ELF not supported");
	im.bytes[EI_DATA] = 7;
	EXPECT_REJECT(&im, -ENOEXEC, "unknown ELF data encoding");

	make_exec(&im);
	im.bytes[EI_VERSION] = 2;
	EXPECT_REJECT(&im, -ENOEXEC, "unknown ELF version");
	make_exec(&im);
	im.h.eh.e_version = 0;
	EXPECT_REJECT(&im, -ENOEXEC, "unknown ELF version");
}

static void test_machine_and_type(void)
{
	union image im;

	make_exec(&im);
	im.h.eh.e_machine = EM_AARCH64;
	EXPECT_REJECT(&im, -ENOEXEC, "not an x86-64 executable");
	im.h.eh.e_machine = EM_386;
	EXPECT_REJECT(&im, -ENOEXEC, "not an x86-64 executable");

	make_exec(&im);
	im.h.eh.e_type = ET_REL;
	EXPECT_REJECT(&im, -ENOEXEC, "relocatable object, not an executable");
	im.h.eh.e_type = ET_CORE;
	EXPECT_REJECT(&im, -ENOEXEC, "core dump, not an executable");
	im.h.eh.e_type = ET_NONE;
	EXPECT_REJECT(&im, -ENOEXEC, "not an executable or shared object");
}

static void test_program_header_table(void)
{
	union image im;
	struct elf_info info;
	const char *why = NULL;
	const size_t table_end = 64 + 4 * sizeof(Elf64_Phdr);

	make_exec(&im);
	im.h.eh.e_phentsize = 32;
	EXPECT_REJECT(&im, -ENOEXEC, "unexpected program header size");

	make_exec(&im);
	im.h.eh.e_phnum = 0;
	EXPECT_REJECT(&im, -ENOEXEC, "no program headers");
	im.h.eh.e_phnum = PN_XNUM;
	EXPECT_REJECT(&im, -ENOEXEC, "too many program headers");

	/* The table must be inside the buffer, even if the file is longer. */
	make_exec(&im);
	CHECK_REJECTED(elf_parse(im.bytes, table_end - 1, IMG_SIZE, &info, &why), why, -ENOEXEC,
	               "truncated program headers");
	TEST_ASSERT(elf_parse(im.bytes, table_end, IMG_SIZE, &info, &why) == 0, "%s", why);

	im.h.eh.e_phoff = IMG_SIZE - 100;
	EXPECT_REJECT(&im, -ENOEXEC, "truncated program headers");
	im.h.eh.e_phoff = UINT64_MAX - 8; /* e_phoff + table size wraps */
	EXPECT_REJECT(&im, -ENOEXEC, "truncated program headers");
}

static void test_sizes_mixed_up(void)
{
	union image im;
	struct elf_info info;
	const char *why = NULL;

	make_exec(&im);
	CHECK_REJECTED(elf_parse(im.bytes, IMG_SIZE, IMG_SIZE - 1, &info, &why), why, -ENOEXEC,
	               "header buffer larger than the file");
	/* A NULL why is allowed: the caller only wants the error. */
	ASSERT_EQ(elf_parse(im.bytes, 10, 10, &info, NULL), -ENOEXEC);
}

/* --- rejected segments ---------------------------------------------------------------------- */

static void test_filesz_over_memsz(void)
{
	union image im;

	make_exec(&im);
	im.h.ph[2].p_filesz = 0x2001;
	EXPECT_REJECT(&im, -ENOEXEC, "segment file size larger than its memory size");
}

static void test_file_range(void)
{
	union image im;

	make_exec(&im);
	im.h.ph[1].p_filesz = im.h.ph[1].p_memsz = IMG_SIZE - 0x1000 + 1;
	EXPECT_REJECT(&im, -ENOEXEC, "segment file range outside the file");

	make_exec(&im);
	im.h.ph[1].p_offset = UINT64_MAX & ~0xfffULL; /* offset + filesz wraps */
	im.h.ph[1].p_vaddr = 0x401000;
	EXPECT_REJECT(&im, -ENOEXEC, "segment file range outside the file");
}

static void test_misaligned(void)
{
	union image im;

	make_exec(&im);
	im.h.ph[1].p_vaddr = 0x401010; /* offset stays 0x1000 */
	EXPECT_REJECT(&im, -ENOEXEC, "segment offset and address not congruent modulo the page size");

	make_exec(&im);
	im.h.ph[2].p_offset = 0x1e08;
	EXPECT_REJECT(&im, -ENOEXEC, "segment offset and address not congruent modulo the page size");
}

static void test_overlap_and_order(void)
{
	union image im;

	make_exec(&im);
	im.h.ph[1].p_memsz = 0x1e01; /* text now reaches one byte into data */
	EXPECT_REJECT(&im, -ENOEXEC, "overlapping segments");

	make_exec(&im);
	im.h.ph[2].p_offset = 0x1000;
	im.h.ph[2].p_vaddr = 0x401000; /* same start as text */
	EXPECT_REJECT(&im, -ENOEXEC, "overlapping segments");

	make_exec(&im);
	Elf64_Phdr tmp = im.h.ph[1];
	im.h.ph[1] = im.h.ph[2];
	im.h.ph[2] = tmp;
	EXPECT_REJECT(&im, -ENOEXEC, "segments not sorted by address");
}

static void test_no_loads(void)
{
	union image im;

	make_exec(&im);
	im.h.eh.e_phnum = 1;
	im.h.ph[0] = phdr(PT_GNU_STACK, PF_R | PF_W, 0, 0, 0, 0);
	EXPECT_REJECT(&im, -ENOEXEC, "no loadable segments");

	make_exec(&im);
	for (unsigned i = 0; i < 3; i++)
		im.h.ph[i].p_memsz = im.h.ph[i].p_filesz = 0; /* only empty loads */
	EXPECT_REJECT(&im, -ENOEXEC, "no loadable segments");
}

static void test_entry_outside(void)
{
	union image im;

	make_exec(&im);
	im.h.eh.e_entry = 0x405000;
	EXPECT_REJECT(&im, -ENOEXEC, "entry point outside the loadable segments");
	im.h.eh.e_entry = 0x3fffff;
	EXPECT_REJECT(&im, -ENOEXEC, "entry point outside the loadable segments");
}

/* --- rejected PT_INTERP / PT_PHDR ----------------------------------------------------------- */

static void test_interp_rejections(void)
{
	union image im;

	make_dyn(&im);
	im.bytes[INTERP_OFF + sizeof(LDSO) - 1] = 'x';
	EXPECT_REJECT(&im, -ENOEXEC, "interpreter path not NUL-terminated");

	make_dyn(&im);
	im.h.ph[1].p_filesz = 1;
	EXPECT_REJECT(&im, -ENOEXEC, "empty interpreter path");
	im.h.ph[1].p_filesz = 4;
	im.bytes[INTERP_OFF] = '\0';
	im.bytes[INTERP_OFF + 3] = '\0';
	EXPECT_REJECT(&im, -ENOEXEC, "empty interpreter path");

	make_dyn(&im);
	im.h.ph[1].p_offset = IMG_SIZE - 4;
	EXPECT_REJECT(&im, -ENOEXEC, "interpreter path outside the file");
	im.h.ph[1].p_offset = UINT64_MAX - 2;
	EXPECT_REJECT(&im, -ENOEXEC, "interpreter path outside the file");

	make_dyn(&im);
	im.h.ph[5] = im.h.ph[1];
	EXPECT_REJECT(&im, -ENOEXEC, "more than one PT_INTERP");
}

static void test_phdr_rejections(void)
{
	union image im;

	make_dyn(&im);
	im.h.ph[0].p_vaddr = 0x3700; /* the table would run past the last load's end, 0x3800 */
	EXPECT_REJECT(&im, -ENOEXEC, "PT_PHDR outside the loadable segments");

	make_dyn(&im);
	im.h.ph[5] = im.h.ph[0];
	EXPECT_REJECT(&im, -ENOEXEC, "more than one PT_PHDR");
}

/* No PT_PHDR and no load maps the table (as `ld -n` makes): Linux runs these, and so do we,
 * with phdr_vaddr 0 as Linux's AT_PHDR then is the load bias plus 0. */
static void test_phdrs_unmapped(void)
{
	union image im;
	struct elf_info info;

	make_exec(&im);
	im.h.ph[0] = phdr(PT_LOAD, PF_R, 0x1000, 0x400000, 0x800, 0x800);
	im.h.ph[1] = phdr(PT_LOAD, PF_R | PF_X, 0x2000, 0x401000, 0x500, 0x500);
	EXPECT_ACCEPT(&im, &info);
	ASSERT_EQ(info.phdr_vaddr, 0);

	/* Only part of the table in a load's file bytes counts as unmapped too. */
	make_exec(&im);
	im.h.ph[0].p_filesz = 64 + 4 * sizeof(Elf64_Phdr) - 1;
	EXPECT_ACCEPT(&im, &info);
	ASSERT_EQ(info.phdr_vaddr, 0);
}

/* --- real binaries -------------------------------------------------------------------------- */

/* Reads a whole file; NULL if it is not there. */
static unsigned char *read_file(const char *path, size_t *size)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	unsigned char *buf = NULL;

	if (!f)
		return NULL;
	if (fstat(fileno(f), &st) == 0 && st.st_size > 0 && (buf = malloc(st.st_size)) != NULL &&
	    fread(buf, 1, st.st_size, f) != (size_t)st.st_size) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	*size = buf ? (size_t)st.st_size : 0;
	return buf;
}

/* Parses path whole and from its first page only (what the loader reads); both must agree. */
static void check_real(const char *path, bool must_exist, struct elf_info *info)
{
	size_t size;
	unsigned char *buf = read_file(path, &size);
	struct elf_info head;
	const char *why = NULL;
	int err;

	memset(info, 0, sizeof(*info));
	if (!buf) {
		TEST_ASSERT(!must_exist, "cannot read %s", path);
		return;
	}
	err = elf_parse(buf, size, size, info, &why);
	TEST_ASSERT(err == 0, "%s rejected (%d): %s", path, err, why ? why : "(null)");
	err = elf_parse(buf, size < 4096 ? size : 4096, size, &head, &why);
	/* The one thing a short buffer may miss: a PT_INTERP placed late in the file, as in
	 * libc.so.6 (which is runnable); the loader must then pass more of the file. */
	TEST_ASSERT(err == 0 || (info->has_interp && why && !strcmp(why, "interpreter path beyond the headers read")),
	            "%s first page rejected (%d): %s", path, err, why ? why : "(null)");
	if (err == 0) {
		ASSERT_EQ(head.nloads, info->nloads);
		ASSERT_EQ(head.phdr_vaddr, info->phdr_vaddr);
		ASSERT_EQ(head.max_vaddr, info->max_vaddr);
	}
	TEST_ASSERT(info->nloads >= 1, "%s has no loads", path);
	free(buf);
}

static void test_real_binaries(void)
{
	struct elf_info info;

	/* This test binary: built by gcc, dynamically linked (a PIE on most distributions). */
	check_real("/proc/self/exe", true, &info);
	TEST_ASSERT(info.has_interp && info.interp[0] == '/', "interp \"%s\"", info.interp);
	TEST_ASSERT(info.phdr_vaddr >= info.min_vaddr && info.phdr_vaddr < info.max_vaddr, "phdr %#llx",
	            (unsigned long long)info.phdr_vaddr);

	/* Its interpreter, and libc: ET_DYN with segments sharing pages. */
	if (info.has_interp) {
		char ldso[ELF_INTERP_MAX];

		memcpy(ldso, info.interp, sizeof(ldso));
		check_real(ldso, true, &info);
		ASSERT_EQ(info.is_dyn, true);
		ASSERT_EQ(info.has_interp, false);
	}
	check_real("/lib/x86_64-linux-gnu/libc.so.6", false, &info);
	check_real("/bin/ls", false, &info);
	check_real("/bin/true", false, &info);
}

int main(void)
{
	RUN_TEST(test_valid_exec);
	RUN_TEST(test_valid_dyn);
	RUN_TEST(test_pt_phdr_preferred);
	RUN_TEST(test_phdrs_in_later_load);
	RUN_TEST(test_headers_only_buffer);
	RUN_TEST(test_shared_page);
	RUN_TEST(test_empty_load_ignored);
	RUN_TEST(test_user_space_boundary);
	RUN_TEST(test_max_loads);
	RUN_TEST(test_alignment);
	RUN_TEST(test_interp_max_length);
	RUN_TEST(test_bad_magic);
	RUN_TEST(test_class_and_encoding);
	RUN_TEST(test_machine_and_type);
	RUN_TEST(test_program_header_table);
	RUN_TEST(test_sizes_mixed_up);
	RUN_TEST(test_filesz_over_memsz);
	RUN_TEST(test_file_range);
	RUN_TEST(test_misaligned);
	RUN_TEST(test_overlap_and_order);
	RUN_TEST(test_no_loads);
	RUN_TEST(test_entry_outside);
	RUN_TEST(test_interp_rejections);
	RUN_TEST(test_phdr_rejections);
	RUN_TEST(test_phdrs_unmapped);
	RUN_TEST(test_real_binaries);
	return test_summary();
}
