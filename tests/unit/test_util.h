/* test_util.h - tiny assertion and test-runner helpers shared by the unit tests (header only).
 *
 *   static void test_foo(void) { ASSERT_EQ(f(2), 4); TEST_ASSERT(p != NULL, "for %s", name); }
 *   int main(void) { RUN_TEST(test_foo); return test_summary(); }
 *
 * A failed assertion prints where and why, marks the running test failed and carries on,
 * so one run reports every broken check.
 */
#ifndef TEST_UTIL_H
#define TEST_UTIL_H

#include <errno.h> /* program_invocation_short_name, with _GNU_SOURCE */
#include <stdarg.h>
#include <stdio.h>

struct test_state {
	int passed, failed; /* tests, counted by RUN_TEST */
	int assert_failures; /* failed assertions so far, in any test */
	const char *current; /* name of the running test, NULL outside RUN_TEST */
};

/* One instance per test binary, wherever the header is included from. */
static inline struct test_state *test_state(void)
{
	static struct test_state state;
	return &state;
}

__attribute__((format(printf, 3, 4))) static inline void test_fail(const char *file, int line, const char *fmt, ...)
{
	struct test_state *s = test_state();
	va_list ap;

	s->assert_failures++;
	fprintf(stderr, "%s:%d: %s: ", file, line, s->current ? s->current : "(no test)");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* TEST_ASSERT(cond, fmt, ...): the message says what was being checked. */
#define TEST_ASSERT(cond, fmt, ...)                                                                                    \
	do {                                                                                                           \
		if (!(cond))                                                                                           \
			test_fail(__FILE__, __LINE__, "assertion '%s' failed: " fmt, #cond, ##__VA_ARGS__);            \
	} while (0)

/* ASSERT_EQ(a, b): integers (or pointers), each evaluated once, shown in decimal and hex. */
#define ASSERT_EQ(a, b)                                                                                                \
	do {                                                                                                           \
		long long test_a_ = (long long)(a), test_b_ = (long long)(b);                                          \
		if (test_a_ != test_b_)                                                                                \
			test_fail(__FILE__, __LINE__, "%s == %s failed: %lld (%#llx) != %lld (%#llx)", #a, #b,         \
			          test_a_, (unsigned long long)test_a_, test_b_, (unsigned long long)test_b_);         \
	} while (0)

static inline void test_run(const char *name, void (*fn)(void))
{
	struct test_state *s = test_state();
	int before = s->assert_failures;

	s->current = name;
	fn();
	s->current = NULL;
	if (s->assert_failures == before) {
		s->passed++;
	} else {
		s->failed++;
		fprintf(stderr, "FAIL %s\n", name);
	}
}

#define RUN_TEST(fn) test_run(#fn, fn)

/* Prints "NAME: N passed, N failed"; returns the exit status for main (1 if anything failed,
 * including an assertion made outside RUN_TEST). */
static inline int test_summary(void)
{
	struct test_state *s = test_state();

#ifdef _GNU_SOURCE
	printf("%s: ", program_invocation_short_name);
#endif
	printf("%d passed, %d failed\n", s->passed, s->failed);
	fflush(stdout);
	return s->failed || s->assert_failures ? 1 : 0;
}

#endif
