/* toml.h - a parser for the subset of TOML (https://toml.io, v1.0) that kvmserver.toml uses.
 *
 * Supported: comments, bare / quoted / dotted keys, basic strings with escapes (\b \t \n
 * \f \r \" \\ \uXXXX \UXXXXXXXX), literal strings, integers (decimal with '_', 0x 0o 0b),
 * floats (fraction, exponent, inf, nan), booleans, arrays (over several lines, trailing
 * comma) and [table] headers.  Not supported, and refused with a message rather than
 * misread: multi-line strings, inline tables, arrays of tables, dates and times.
 *
 * Errors are one line, "FILE:LINE: message".  Nothing here prints or exits.
 */
#ifndef UTIL_TOML_H
#define UTIL_TOML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum toml_type { TOML_STRING, TOML_INT, TOML_FLOAT, TOML_BOOL, TOML_ARRAY, TOML_TABLE };

struct toml_table;

struct toml_value {
	enum toml_type type;
	int line; /* where the value starts in the file */
	union {
		char *s; /* TOML_STRING: NUL terminated (an embedded \u0000 is refused) */
		int64_t i;
		double f;
		bool b;
		struct {
			struct toml_value *v;
			size_t n;
		} array;
		struct toml_table *table;
	};
};

struct toml_entry {
	char *key;
	int line; /* of the key */
	struct toml_value value;
};

struct toml_table {
	struct toml_entry *e;
	size_t n, cap;
	bool defined; /* by a [header] (a second header for it is an error) */
};

/* Parses text[0..len) (need not be NUL terminated; NUL bytes are an error).  On success
 * *out is the root table (toml_free it).  On failure returns -EINVAL (or -ENOMEM) with
 * "NAME:LINE: message" in err (name is the file name shown in messages). */
int toml_parse(const char *text, size_t len, const char *name, struct toml_table **out, char *err, size_t errsize);
void toml_free(struct toml_table *t);
void toml_value_free(struct toml_value *v); /* what a value holds, not v itself */

/* The value of key in t (one level, no dots), or NULL. */
const struct toml_value *toml_get(const struct toml_table *t, const char *key);
const char *toml_type_name(enum toml_type type);

/* Writes s as a TOML basic string (quotes and escapes) into buf; returns the length it
 * needs (like snprintf). */
size_t toml_quote(char *buf, size_t size, const char *s);

#endif
