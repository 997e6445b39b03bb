/* log.h - one-line messages on stderr, prefixed "kvmserver: ". */
#ifndef UTIL_LOG_H
#define UTIL_LOG_H

#include <stdarg.h>

void log_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Exactly the text given, no prefix (trace lines). */
void log_raw(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
