// check.h - the self-check the guest tests share.  A check prints `ok   COND` or
// `FAIL COND (line N...)` and counts the failures in `failures`; the test prints its
// summary line and ends with `return failures ? 1 : 0`.
//
// What a FAIL line tells after the line number is each test's own (it is part of that
// test's output), so this file offers the forms and the test names its CHECK after the
// #include:
//   #define CHECK CHECK_PLAIN        `(line N)`
//   #define CHECK CHECK_ERRNO        `(line N, errno ENAME)`
//   #define CHECK CHECK_FRESH_ERRNO  the same, and errno is cleared before COND runs, so
//                                    that COND sees only the errno its own calls set
// or its own: #define CHECK(cond) CHECK_REPORT(cond, #cond, ", errno %d", errno).
//
// Each form stringifies COND itself, from the tokens the test wrote: a macro that handed
// COND on to another would print it macro-expanded (EINVAL as 22).
// Include it after the system headers (and after `#define _GNU_SOURCE`, which
// strerrorname_np needs).
#ifndef GUEST_CHECK_H
#define GUEST_CHECK_H

#include <errno.h>
#include <stdio.h>
#include <string.h>

static int failures;

// CHECK_REPORT(cond, text, fmt, args...): `text` is #cond; fmt (a string literal, ""
// for none) and its args follow the line number in a FAIL line.
#define CHECK_REPORT(cond, text, fmt, ...)                                              \
    do {                                                                                \
        if (cond)                                                                       \
            printf("ok   %s\n", text);                                                  \
        else {                                                                          \
            printf("FAIL %s (line %d" fmt ")\n", text, __LINE__, ##__VA_ARGS__);        \
            failures++;                                                                 \
        }                                                                               \
    } while (0)

#define CHECK_PLAIN(cond) CHECK_REPORT(cond, #cond, "")
#define CHECK_ERRNO(cond) CHECK_REPORT(cond, #cond, ", errno %s", strerrorname_np(errno))
#define CHECK_FRESH_ERRNO(cond)                                                         \
    do {                                                                                \
        errno = 0;                                                                      \
        CHECK_REPORT(cond, #cond, ", errno %s", strerrorname_np(errno));                \
    } while (0)

#endif
