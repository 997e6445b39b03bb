/* fuzz.h - what the libFuzzer targets share: the entry point's prototype and CHECK, which
 * reports a broken invariant as a crash (what libFuzzer looks for). */
#ifndef TESTS_FUZZ_H
#define TESTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                                    \
	do {                                                                                                           \
		if (!(cond)) {                                                                                         \
			fprintf(stderr, "%s:%d: invariant '%s' broken\n", __FILE__, __LINE__, #cond);                  \
			abort();                                                                                       \
		}                                                                                                      \
	} while (0)

#endif
