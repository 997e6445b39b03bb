/* elf_fuzz.c - libFuzzer target for elf_parse(): no crash on any input, and every accepted
 * image satisfies what the loader relies on.  Build with `make fuzz`; run e.g.
 * build/fuzz/elf_fuzz -max_total_time=60 tests/fuzz/corpus
 */
#include "vmm/elf.h"
#include "fuzz.h"

#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define PAGE 4096ULL
#define USER_VA_END (1ULL << 47)

static void check_accepted(const struct elf_info *info, const uint8_t *data, uint64_t file_size)
{
	const struct elf_load *last;
	uint64_t ph_bytes = (uint64_t)info->phnum * sizeof(Elf64_Phdr);
	bool phdr_mapped = false;

	CHECK(info->phentsize == sizeof(Elf64_Phdr));
	CHECK(info->phnum >= 1);
	CHECK(info->is_dyn == (data[16] == ET_DYN && data[17] == 0));
	CHECK(info->nloads >= 1 && info->nloads <= ELF_MAX_LOADS);

	for (unsigned i = 0; i < info->nloads; i++) {
		const struct elf_load *l = &info->loads[i];

		CHECK(l->memsz > 0);
		CHECK(l->filesz <= l->memsz);
		CHECK(l->offset <= file_size && l->filesz <= file_size - l->offset);
		CHECK(l->vaddr < USER_VA_END && l->memsz <= USER_VA_END - l->vaddr);
		CHECK((l->vaddr - l->offset) % PAGE == 0);
		CHECK((l->prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC)) == 0);
		if (i > 0) /* sorted and disjoint */
			CHECK(l->vaddr >= info->loads[i - 1].vaddr + info->loads[i - 1].memsz);
		/* The program headers, when mapped, occupy bytes of one load. */
		if (info->phdr_vaddr >= l->vaddr && info->phdr_vaddr - l->vaddr <= l->memsz &&
		    ph_bytes <= l->memsz - (info->phdr_vaddr - l->vaddr))
			phdr_mapped = true;
	}
	CHECK(phdr_mapped || info->phdr_vaddr == 0); /* 0: not mapped, as Linux reports it */

	last = &info->loads[info->nloads - 1];
	CHECK(info->min_vaddr % PAGE == 0 && info->max_vaddr % PAGE == 0);
	CHECK(info->min_vaddr <= info->loads[0].vaddr && info->loads[0].vaddr - info->min_vaddr < PAGE);
	CHECK(info->max_vaddr >= last->vaddr + last->memsz &&
	      info->max_vaddr - (last->vaddr + last->memsz) < PAGE);
	CHECK(info->min_vaddr < info->max_vaddr && info->max_vaddr <= USER_VA_END);
	CHECK(info->entry >= info->min_vaddr && info->entry < info->max_vaddr);
	CHECK(info->max_align >= PAGE && (info->max_align & (info->max_align - 1)) == 0);

	if (info->has_interp) {
		size_t len = strnlen(info->interp, ELF_INTERP_MAX);
		CHECK(len >= 1 && len < ELF_INTERP_MAX);
	} else {
		CHECK(info->interp[0] == '\0');
	}
}

static void check_rejected(int err, const char *why)
{
	CHECK(err == -ENOEXEC || err == -E2BIG);
	CHECK(why != NULL && why[0] != '\0' && strchr(why, '\n') == NULL);
}

/* Two results describe the same image (the header buffer length aside). */
static bool same_info(const struct elf_info *a, const struct elf_info *b)
{
	if (a->is_dyn != b->is_dyn || a->entry != b->entry || a->phoff != b->phoff ||
	    a->phdr_vaddr != b->phdr_vaddr || a->phnum != b->phnum || a->min_vaddr != b->min_vaddr ||
	    a->max_vaddr != b->max_vaddr || a->max_align != b->max_align || a->nloads != b->nloads ||
	    a->has_interp != b->has_interp || a->exec_stack != b->exec_stack ||
	    strcmp(a->interp, b->interp) != 0)
		return false;
	for (unsigned i = 0; i < a->nloads; i++) {
		const struct elf_load *x = &a->loads[i], *y = &b->loads[i];

		if (x->vaddr != y->vaddr || x->memsz != y->memsz || x->offset != y->offset ||
		    x->filesz != y->filesz || x->prot != y->prot)
			return false;
	}
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct elf_info full, head;
	const char *why = NULL;
	size_t head_size = size / 2;
	int err, head_err;

	/* The whole input is the file. */
	err = elf_parse(data, size, size, &full, &why);
	if (err == 0)
		check_accepted(&full, data, size);
	else
		check_rejected(err, why);

	/* The loader may pass only the first part of the file.  Less buffer can only cost the
	 * headers it no longer holds, so acceptance must imply the same full-buffer result. */
	why = NULL;
	head_err = elf_parse(data, head_size, size, &head, &why);
	if (head_err == 0) {
		check_accepted(&head, data, size);
		CHECK(err == 0 && same_info(&head, &full));
	} else {
		check_rejected(head_err, why);
	}
	return 0;
}
