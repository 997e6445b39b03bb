/* array.h - heap arrays that grow by doubling.
 *
 * ARRAY_RESERVE(v, cap, need, first) makes room for `need` elements in the array `v` of
 * capacity `cap` (both lvalues, updated in place): the capacity doubles, starting at
 * `first`, until it holds `need`.  Evaluates to 0, or -ENOMEM with `v` and `cap`
 * unchanged.  A statement expression so that `v` keeps its type (no void ** punning). */
#ifndef UTIL_ARRAY_H
#define UTIL_ARRAY_H

#include <errno.h>
#include <stdlib.h>

#define ARRAY_RESERVE(v, cap, need, first)                                                                             \
	({                                                                                                             \
		int array_err_ = 0;                                                                                    \
		size_t array_need_ = (need);                                                                           \
		if (array_need_ > (cap)) {                                                                             \
			size_t array_cap_ = (cap) ? (cap) : (first);                                                   \
			while (array_cap_ < array_need_)                                                               \
				array_cap_ *= 2;                                                                       \
			typeof(v) array_v_ = realloc((v), array_cap_ * sizeof(*(v)));                                  \
			if (array_v_) {                                                                                \
				(v) = array_v_;                                                                        \
				(cap) = array_cap_;                                                                    \
			} else {                                                                                       \
				array_err_ = -ENOMEM;                                                                  \
			}                                                                                              \
		}                                                                                                      \
		array_err_;                                                                                            \
	})

#endif
