/* sort_test.c - sort_u64 against qsort on the shapes a reset's page list takes and on
 * arbitrary ones. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"
#include "util/sort.h"

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static uint64_t rng = 88172645463325252ull;
static uint64_t next_random(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* Sort a copy both ways and compare; the guard keys around the array must stay. */
static void check(const uint64_t *in, size_t n, const char *what)
{
	uint64_t *a = malloc((n + 2) * sizeof(*a)), *want = malloc((n + 1) * sizeof(*a));
	uint64_t *tmp = malloc((n + 1) * sizeof(*a));
	a[0] = a[n + 1] = 0xfeedull;
	memcpy(a + 1, in, n * sizeof(*a));
	memcpy(want, in, n * sizeof(*a));
	qsort(want, n, sizeof(*a), cmp_u64);
	sort_u64(a + 1, n, tmp);
	TEST_ASSERT(memcmp(a + 1, want, n * sizeof(*a)) == 0, "%s, n=%zu: not sorted like qsort", what, n);
	TEST_ASSERT(a[0] == 0xfeedull && a[n + 1] == 0xfeedull, "%s, n=%zu: wrote outside", what, n);
	free(a);
	free(want);
	free(tmp);
}

static void test_small_and_sorted(void)
{
	uint64_t v[] = {5, 3, 9, 3, 0, UINT64_MAX, 1};
	check(v, 0, "empty");
	check(v, 1, "one");
	check(v, 2, "two, descending");
	check(v, 7, "seven");
	uint64_t s[100];
	for (size_t i = 0; i < 100; i++)
		s[i] = i * 3;
	check(s, 100, "ascending");
	for (size_t i = 0; i < 100; i++)
		s[i] = 1000 - i;
	check(s, 100, "descending");
	for (size_t i = 0; i < 100; i++)
		s[i] = 7;
	check(s, 100, "all equal");
}

/* A reset's list: pages the host wrote (any order), then slot logs in ascending runs. */
static void test_page_list_shapes(void)
{
	static uint64_t v[5000];
	for (size_t hostn = 0; hostn <= 40; hostn += 20) {
		for (size_t slots = 1; slots <= 4; slots++) {
			size_t n = 0;
			for (size_t i = 0; i < hostn; i++)
				v[n++] = next_random() % 100000;
			for (size_t s = slots; s-- > 0;)
				for (size_t i = 0; i < 1000; i++)
					v[n++] = s * 100000 + i * 2;
			check(v, n, "host pages then slot runs");
		}
	}
}

static void test_random(void)
{
	static uint64_t v[3000];
	for (int round = 0; round < 200; round++) {
		size_t n = next_random() % 3000;
		uint64_t range = round % 2 ? 50 : UINT64_MAX; /* with and without many duplicates */
		for (size_t i = 0; i < n; i++)
			v[i] = next_random() % range;
		check(v, n, "random");
	}
}

int main(void)
{
	RUN_TEST(test_small_and_sorted);
	RUN_TEST(test_page_list_shapes);
	RUN_TEST(test_random);
	return test_summary();
}
