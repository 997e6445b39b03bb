/* vma_test.c - unit tests for the mapping list (vma_*): splits, protect, placement, random ops. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "sys/memory/mm.h"
#include "test_util.h"

#define PG 4096ULL
#define RW (PROT_READ | PROT_WRITE)

static struct vma mk(uint64_t start_pg, uint64_t end_pg, int prot, enum vma_kind kind, uint64_t offset, uint64_t ino)
{
	return (struct vma){.start = start_pg * PG,
	                    .end = end_pg * PG,
	                    .prot = prot,
	                    .flags = MAP_PRIVATE,
	                    .kind = kind,
	                    .offset = offset,
	                    .ino = ino};
}

/* Asserts the list is exactly `n` mappings with these page bounds and prots. */
#define EXPECT_LIST(mm, ...)                                                                                           \
	do {                                                                                                           \
		const int want_[][3] = {__VA_ARGS__};                                                                  \
		size_t n_ = sizeof(want_) / sizeof(want_[0]);                                                          \
		ASSERT_EQ((mm)->len, n_);                                                                              \
		for (size_t k_ = 0; k_ < n_ && k_ < (mm)->len; k_++) {                                                 \
			ASSERT_EQ((mm)->v[k_].start, want_[k_][0] * PG);                                               \
			ASSERT_EQ((mm)->v[k_].end, want_[k_][1] * PG);                                                 \
			ASSERT_EQ((mm)->v[k_].prot, want_[k_][2]);                                                     \
		}                                                                                                      \
	} while (0)

static void test_insert_disjoint(void)
{
	struct mm mm;
	struct vma a = mk(30, 40, PROT_READ, VMA_ANON, 0, 1), b = mk(10, 20, RW, VMA_ANON, 0, 2),
	           c = mk(50, 60, PROT_EXEC, VMA_ANON, 0, 3);

	vma_init(&mm, 256 * PG);
	ASSERT_EQ(mm.mmap_top, 256 * PG);
	ASSERT_EQ(vma_find(&mm, 0), NULL);
	ASSERT_EQ(vma_next(&mm, 0), NULL);
	ASSERT_EQ(vma_insert(&mm, &a), 0);
	ASSERT_EQ(vma_insert(&mm, &b), 0);
	ASSERT_EQ(vma_insert(&mm, &c), 0);
	EXPECT_LIST(&mm, {10, 20, RW}, {30, 40, PROT_READ}, {50, 60, PROT_EXEC});
	ASSERT_EQ(vma_find(&mm, 10 * PG)->ino, 2);
	ASSERT_EQ(vma_find(&mm, 20 * PG - 1)->ino, 2);
	ASSERT_EQ(vma_find(&mm, 20 * PG), NULL);
	ASSERT_EQ(vma_next(&mm, 20 * PG)->ino, 1);
	ASSERT_EQ(vma_next(&mm, 35 * PG)->ino, 1);
	ASSERT_EQ(vma_next(&mm, 60 * PG), NULL);
	vma_fini(&mm);
	ASSERT_EQ(mm.len, 0);
}

static void test_insert_overlapping(void)
{
	struct mm mm;
	struct vma f = mk(10, 20, PROT_READ, VMA_FILE, 0x10000, 1), a = mk(15, 25, RW, VMA_ANON, 0, 2),
	           b = mk(12, 13, PROT_EXEC, VMA_ANON, 0, 3), all = mk(5, 30, PROT_NONE, VMA_ANON, 0, 4);

	vma_init(&mm, 256 * PG);
	ASSERT_EQ(vma_insert(&mm, &f), 0);
	ASSERT_EQ(vma_insert(&mm, &a), 0); /* cuts the file mapping's tail */
	EXPECT_LIST(&mm, {10, 15, PROT_READ}, {15, 25, RW});
	ASSERT_EQ(vma_insert(&mm, &b), 0); /* splits it */
	EXPECT_LIST(&mm, {10, 12, PROT_READ}, {12, 13, PROT_EXEC}, {13, 15, PROT_READ}, {15, 25, RW});
	ASSERT_EQ(mm.v[0].offset, 0x10000);
	ASSERT_EQ(mm.v[2].offset, 0x10000 + 3 * PG);
	ASSERT_EQ(mm.v[2].ino, 1);
	ASSERT_EQ(vma_insert(&mm, &all), 0); /* replaces everything */
	EXPECT_LIST(&mm, {5, 30, PROT_NONE});
	ASSERT_EQ(mm.v[0].ino, 4);
	vma_fini(&mm);
}

static void test_remove(void)
{
	struct mm mm;
	struct vma f = mk(10, 20, PROT_READ, VMA_FILE, 0x100000, 1);
	struct vma an = mk(30, 40, RW, VMA_ANON, 0, 2);

	vma_init(&mm, 256 * PG);
	ASSERT_EQ(vma_insert(&mm, &f), 0);
	ASSERT_EQ(vma_insert(&mm, &an), 0);
	ASSERT_EQ(vma_remove(&mm, 12 * PG, 15 * PG), 0);
	EXPECT_LIST(&mm, {10, 12, PROT_READ}, {15, 20, PROT_READ}, {30, 40, RW});
	ASSERT_EQ(mm.v[0].offset, 0x100000);
	ASSERT_EQ(mm.v[1].offset, 0x100000 + 5 * PG);
	ASSERT_EQ(vma_remove(&mm, 32 * PG, 33 * PG), 0);
	ASSERT_EQ(mm.v[3].offset, 0); /* anonymous: offset untouched */
	/* Nothing there, or empty: no change. */
	ASSERT_EQ(vma_remove(&mm, 100 * PG, 200 * PG), 0);
	ASSERT_EQ(vma_remove(&mm, 16 * PG, 16 * PG), 0);
	ASSERT_EQ(vma_remove(&mm, 17 * PG, 16 * PG), 0);
	EXPECT_LIST(&mm, {10, 12, PROT_READ}, {15, 20, PROT_READ}, {30, 32, RW}, {33, 40, RW});
	/* Spanning many: head of the first and tail of the last survive. */
	ASSERT_EQ(vma_remove(&mm, 11 * PG, 35 * PG), 0);
	EXPECT_LIST(&mm, {10, 11, PROT_READ}, {35, 40, RW});
	ASSERT_EQ(vma_remove(&mm, 0, 256 * PG), 0);
	ASSERT_EQ(mm.len, 0);
	vma_fini(&mm);
}

static void test_protect_and_covered(void)
{
	struct mm mm;
	struct vma f = mk(10, 20, RW, VMA_FILE, 0x2000, 1), g = mk(20, 25, PROT_READ, VMA_ANON, 0, 2);

	vma_init(&mm, 256 * PG);
	ASSERT_EQ(vma_insert(&mm, &f), 0);
	ASSERT_EQ(vma_protect(&mm, 12 * PG, 15 * PG, PROT_READ), 0);
	EXPECT_LIST(&mm, {10, 12, RW}, {12, 15, PROT_READ}, {15, 20, RW});
	ASSERT_EQ(mm.v[1].offset, 0x2000 + 2 * PG);
	ASSERT_EQ(mm.v[2].offset, 0x2000 + 5 * PG);
	ASSERT_EQ(mm.v[2].kind, VMA_FILE);

	ASSERT_EQ(vma_insert(&mm, &g), 0);
	TEST_ASSERT(vma_covered(&mm, 10 * PG, 25 * PG), "adjacent mappings cover");
	TEST_ASSERT(vma_covered(&mm, 14 * PG, 14 * PG), "empty range");
	TEST_ASSERT(!vma_covered(&mm, 9 * PG, 11 * PG), "hole before");
	TEST_ASSERT(!vma_covered(&mm, 24 * PG, 26 * PG), "hole after");
	TEST_ASSERT(!vma_covered(&mm, 30 * PG, 31 * PG), "past all");
	/* Across pieces and mappings. */
	ASSERT_EQ(vma_protect(&mm, 11 * PG, 22 * PG, PROT_NONE), 0);
	EXPECT_LIST(&mm, {10, 11, RW}, {11, 12, PROT_NONE}, {12, 15, PROT_NONE}, {15, 20, PROT_NONE},
	            {20, 22, PROT_NONE}, {22, 25, PROT_READ});
	/* Over a hole: -ENOMEM, nothing changed. */
	ASSERT_EQ(vma_protect(&mm, 20 * PG, 30 * PG, RW), -ENOMEM);
	ASSERT_EQ(vma_protect(&mm, 5 * PG, 11 * PG, RW), -ENOMEM);
	EXPECT_LIST(&mm, {10, 11, RW}, {11, 12, PROT_NONE}, {12, 15, PROT_NONE}, {15, 20, PROT_NONE},
	            {20, 22, PROT_NONE}, {22, 25, PROT_READ});
	vma_fini(&mm);
}

static void test_find_free(void)
{
	struct mm mm;
	uint64_t out = 0;
	struct vma a = mk(190, 200, RW, VMA_ANON, 0, 1), b = mk(100, 150, RW, VMA_ANON, 0, 2),
	           c = mk(152, 190, RW, VMA_ANON, 0, 3), low = mk(16, 100, RW, VMA_ANON, 0, 4);

	vma_init(&mm, 256 * PG);
	mm.mmap_top = 200 * PG;
	ASSERT_EQ(vma_find_free(&mm, 0, 4 * PG, PG, 16 * PG, &out), 0);
	ASSERT_EQ(out, 196 * PG);
	ASSERT_EQ(vma_find_free(&mm, 0, 4 * PG, 16 * PG, 16 * PG, &out), 0);
	ASSERT_EQ(out, 192 * PG);
	ASSERT_EQ(vma_insert(&mm, &a), 0);
	ASSERT_EQ(vma_find_free(&mm, 0, 4 * PG, PG, 16 * PG, &out), 0);
	ASSERT_EQ(out, 186 * PG);
	ASSERT_EQ(vma_find_free(&mm, 0, 4 * PG, 16 * PG, 16 * PG, &out), 0);
	ASSERT_EQ(out, 176 * PG);
	/* A 2-page hole takes a 2-page request, not a 4-page one. */
	ASSERT_EQ(vma_insert(&mm, &b), 0);
	ASSERT_EQ(vma_insert(&mm, &c), 0);
	ASSERT_EQ(vma_find_free(&mm, 0, 2 * PG, PG, 16 * PG, &out), 0);
	ASSERT_EQ(out, 150 * PG);
	ASSERT_EQ(vma_find_free(&mm, 0, 4 * PG, PG, 16 * PG, &out), 0);
	ASSERT_EQ(out, 96 * PG);

	/* Hints: honoured when free, aligned, >= lo and inside user_size (even above mmap_top). */
	ASSERT_EQ(vma_find_free(&mm, 40 * PG, 4 * PG, PG, 16 * PG, &out), 0);
	ASSERT_EQ(out, 40 * PG);
	ASSERT_EQ(vma_find_free(&mm, 220 * PG, 4 * PG, PG, 16 * PG, &out), 0);
	ASSERT_EQ(out, 220 * PG);
	ASSERT_EQ(vma_find_free(&mm, 98 * PG, 4 * PG, PG, 16 * PG, &out), 0); /* overlaps b */
	ASSERT_EQ(out, 96 * PG);
	ASSERT_EQ(vma_find_free(&mm, 40 * PG, 4 * PG, 16 * PG, 16 * PG, &out), 0); /* unaligned */
	ASSERT_EQ(out, 96 * PG);
	ASSERT_EQ(vma_find_free(&mm, 8 * PG, 4 * PG, PG, 16 * PG, &out), 0); /* below lo */
	ASSERT_EQ(out, 96 * PG);
	ASSERT_EQ(vma_find_free(&mm, 254 * PG, 4 * PG, PG, 16 * PG, &out), 0); /* past the end */
	ASSERT_EQ(out, 96 * PG);

	/* Full between lo and mmap_top: -ENOMEM (a free hint above still works). */
	ASSERT_EQ(vma_insert(&mm, &low), 0);
	out = 7;
	ASSERT_EQ(vma_find_free(&mm, 0, 4 * PG, PG, 16 * PG, &out), -ENOMEM);
	ASSERT_EQ(out, 7);
	ASSERT_EQ(vma_find_free(&mm, 0, 3 * PG, PG, 16 * PG, &out), -ENOMEM);
	ASSERT_EQ(vma_find_free(&mm, 0, 2 * PG, PG, 16 * PG, &out), 0);
	ASSERT_EQ(out, 150 * PG);
	ASSERT_EQ(vma_find_free(&mm, 0, 257 * PG, PG, 0, &out), -ENOMEM);
	ASSERT_EQ(vma_find_free(&mm, 0, 0, PG, 0, &out), -ENOMEM);
	vma_fini(&mm);
}

/* A mapping that straddles mmap_top (e.g. placed there by a honoured hint or MAP_FIXED) must
 * not hide the free space below it. */
static void test_find_free_straddling_top(void)
{
	struct mm mm;
	uint64_t out = 0;
	struct vma s = mk(195, 210, RW, VMA_ANON, 0, 1), low = mk(20, 30, RW, VMA_ANON, 0, 2);

	vma_init(&mm, 256 * PG);
	mm.mmap_top = 200 * PG;
	ASSERT_EQ(vma_insert(&mm, &s), 0);
	ASSERT_EQ(vma_find_free(&mm, 0, 4 * PG, PG, 16 * PG, &out), 0);
	ASSERT_EQ(out, 191 * PG);
	ASSERT_EQ(vma_insert(&mm, &low), 0);
	ASSERT_EQ(vma_find_free(&mm, 0, 4 * PG, PG, 16 * PG, &out), 0);
	ASSERT_EQ(out, 191 * PG);
	vma_fini(&mm);
}

static void test_intern(void)
{
	struct mm mm;
	char buf[] = "/lib/libc.so.6";

	vma_init(&mm, 256 * PG);
	const char *a = vma_intern(&mm, buf);
	TEST_ASSERT(a && a != buf && strcmp(a, buf) == 0, "a copy");
	ASSERT_EQ(vma_intern(&mm, "/lib/libc.so.6"), a);
	const char *b = vma_intern(&mm, "/bin/sh");
	TEST_ASSERT(b && b != a && strcmp(b, "/bin/sh") == 0, "a second name");
	buf[1] = 'X';
	ASSERT_EQ(strcmp(a, "/lib/libc.so.6"), 0);
	vma_fini(&mm); /* frees them (LeakSanitizer checks) */
}

/* The random test's model: one entry per page of a 256-page address space. */
#define NPAGES 256
struct page_model {
	uint64_t ino; /* 0: unmapped; else the id of the insert that mapped it */
	int prot;
	enum vma_kind kind;
	uint64_t offset; /* file offset of this page (VMA_FILE) */
};

static bool model_free(const struct page_model *m, uint64_t lo_pg, uint64_t hi_pg)
{
	for (uint64_t p = lo_pg; p < hi_pg; p++)
		if (m[p].ino)
			return false;
	return true;
}

/* Sorted, non-overlapping, non-empty, page aligned, and page by page equal to the model. */
static bool check_against_model(const struct mm *mm, const struct page_model *m)
{
	int before = test_state()->assert_failures;

	for (size_t i = 0; i < mm->len; i++) {
		const struct vma *v = &mm->v[i];
		TEST_ASSERT(v->start < v->end && v->start % PG == 0 && v->end % PG == 0 && v->end <= NPAGES * PG,
		            "vma %zu bounds %#llx-%#llx", i, (unsigned long long)v->start, (unsigned long long)v->end);
		if (i > 0)
			TEST_ASSERT(mm->v[i - 1].end <= v->start, "vma %zu overlaps/unsorted", i);
	}
	for (uint64_t p = 0; p < NPAGES; p++) {
		const struct vma *v = vma_find(mm, p * PG + 123);
		if (!m[p].ino) {
			TEST_ASSERT(!v, "page %llu should be unmapped", (unsigned long long)p);
			continue;
		}
		TEST_ASSERT(v, "page %llu should be mapped", (unsigned long long)p);
		if (!v)
			continue;
		ASSERT_EQ(v->ino, m[p].ino);
		ASSERT_EQ(v->prot, m[p].prot);
		ASSERT_EQ(v->kind, m[p].kind);
		if (v->kind == VMA_FILE)
			ASSERT_EQ(v->offset + (p * PG - v->start), m[p].offset);
	}
	return test_state()->assert_failures == before;
}

/* The expected vma_find_free result: the hint if usable, else the highest fit below top. */
static int model_find_free(const struct page_model *m, uint64_t hint_pg, uint64_t size_pg, uint64_t align_pg,
                           uint64_t lo_pg, uint64_t top_pg, uint64_t *out_pg)
{
	if (hint_pg && hint_pg >= lo_pg && hint_pg % align_pg == 0 && hint_pg + size_pg <= NPAGES &&
	    model_free(m, hint_pg, hint_pg + size_pg)) {
		*out_pg = hint_pg;
		return 0;
	}
	for (uint64_t c = top_pg - size_pg; c + size_pg <= top_pg && c >= lo_pg; c--) {
		if (c % align_pg == 0 && model_free(m, c, c + size_pg)) {
			*out_pg = c;
			return 0;
		}
		if (c == 0)
			break;
	}
	return -ENOMEM;
}

/* A few thousand random operations (fixed seed), new mappings placed below `top_pg`. */
static void random_against_model(uint64_t top_pg)
{
	static struct page_model m[NPAGES];
	struct mm mm;
	uint64_t next_ino = 1;
	int before = test_state()->assert_failures;

	memset(m, 0, sizeof(m));
	srandom(12345);
	vma_init(&mm, NPAGES * PG);
	mm.mmap_top = top_pg * PG;
	for (int op = 0; op < 5000; op++) {
		uint64_t a = random() % NPAGES, len = 1 + random() % 40, b = a + len;
		int prot = random() % 8;
		if (b > NPAGES)
			b = NPAGES;
		switch (random() % 5) {
		case 0:
		case 1: { /* insert */
			enum vma_kind kind = random() % 2 ? VMA_FILE : VMA_ANON;
			uint64_t off = kind == VMA_FILE ? (random() % 64) * PG : 0;
			struct vma v = mk(a, b, prot, kind, off, next_ino);
			ASSERT_EQ(vma_insert(&mm, &v), 0);
			for (uint64_t p = a; p < b; p++)
				m[p] = (struct page_model){next_ino, prot, kind, off + (p - a) * PG};
			next_ino++;
			break;
		}
		case 2: /* remove */
			ASSERT_EQ(vma_remove(&mm, a * PG, b * PG), 0);
			for (uint64_t p = a; p < b; p++)
				m[p].ino = 0;
			break;
		case 3: { /* protect, and covered */
			bool all = true;
			for (uint64_t p = a; p < b; p++)
				all &= m[p].ino != 0;
			ASSERT_EQ(vma_covered(&mm, a * PG, b * PG), all);
			ASSERT_EQ(vma_protect(&mm, a * PG, b * PG, prot), all ? 0 : -ENOMEM);
			for (uint64_t p = a; all && p < b; p++)
				m[p].prot = prot;
			break;
		}
		default: { /* find_free */
			uint64_t size = 1 + random() % 24, align = random() % 2 ? 1 : 4;
			uint64_t hint = random() % 3 ? 0 : random() % NPAGES, lo = random() % 32;
			uint64_t got = 0, want = 0;
			int rc = vma_find_free(&mm, hint * PG, size * PG, align * PG, lo * PG, &got);
			int wrc = model_find_free(m, hint, size, align, lo, top_pg, &want);
			ASSERT_EQ(rc, wrc);
			if (rc == 0 && wrc == 0)
				ASSERT_EQ(got, want * PG);
			break;
		}
		}
		if (test_state()->assert_failures != before || !check_against_model(&mm, m)) {
			TEST_ASSERT(0, "diverged at op %d (seed 12345, top %llu pages)", op,
			            (unsigned long long)top_pg);
			break;
		}
	}
	vma_fini(&mm);
}

static void test_random_against_model(void)
{
	random_against_model(NPAGES);
}

/* mmap_top below the end, as exec sets it under the stack: mappings can straddle it. */
static void test_random_mmap_top_below_end(void)
{
	random_against_model(200);
}

int main(void)
{
	RUN_TEST(test_insert_disjoint);
	RUN_TEST(test_insert_overlapping);
	RUN_TEST(test_remove);
	RUN_TEST(test_protect_and_covered);
	RUN_TEST(test_find_free);
	RUN_TEST(test_find_free_straddling_top);
	RUN_TEST(test_intern);
	RUN_TEST(test_random_against_model);
	RUN_TEST(test_random_mmap_top_below_end);
	return test_summary();
}
