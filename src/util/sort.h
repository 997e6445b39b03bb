/* sort.h - sorting 64-bit keys that mostly come in order already. */
#ifndef UTIL_SORT_H
#define UTIL_SORT_H

#include <stddef.h>
#include <stdint.h>

/* Sort a[0..n) ascending.  tmp has room for n keys (its content is lost).  A natural
 * merge sort: O(n) for sorted input, O(n log r) for r ascending runs, O(n log n) at worst. */
void sort_u64(uint64_t *a, size_t n, uint64_t *tmp);

#endif
