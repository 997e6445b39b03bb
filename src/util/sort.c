/* sort.c - a natural merge sort of 64-bit keys.
 *
 * A reset sorts the pages a request dirtied to restore them in runs of consecutive pages.
 * That list is a few ascending runs (the pages the host wrote, then each memory slot's
 * dirty log in order), which qsort does not notice: it costs n log n calls of a compare
 * function (Python hello, 424 pages: 14 us a reset; 4000 pages: 200 us).  Merging the
 * runs as they come costs a pass per halving of their number, with the comparison inline.
 */
#include "util/sort.h"

#include <string.h>

/* Where the ascending run that begins at i ends. */
static size_t run_end(const uint64_t *a, size_t i, size_t n)
{
	while (++i < n && a[i - 1] <= a[i])
		;
	return i;
}

/* Merge the sorted a[lo..mid) and a[mid..hi) into out[lo..hi). */
static void merge(const uint64_t *a, size_t lo, size_t mid, size_t hi, uint64_t *out)
{
	size_t i = lo, j = mid, k = lo;
	while (i < mid && j < hi)
		out[k++] = a[j] < a[i] ? a[j++] : a[i++];
	memcpy(out + k, a + i, (mid - i) * sizeof(*a));
	k += mid - i;
	memcpy(out + k, a + j, (hi - j) * sizeof(*a));
}

void sort_u64(uint64_t *a, size_t n, uint64_t *tmp)
{
	if (n < 2 || run_end(a, 0, n) == n)
		return;
	uint64_t *src = a, *dst = tmp;
	for (;;) {
		size_t merged = 0;
		for (size_t lo = 0; lo < n; merged++) {
			size_t mid = run_end(src, lo, n);
			size_t hi = mid < n ? run_end(src, mid, n) : n;
			merge(src, lo, mid, hi, dst);
			lo = hi;
		}
		if (merged == 1)
			break;
		uint64_t *t = src;
		src = dst;
		dst = t;
	}
	if (dst != a)
		memcpy(a, dst, n * sizeof(*a));
}
