/* toml.c - the TOML subset of toml.h: a recursive-descent parser over one buffer.
 *
 * Debian ships no C TOML library, and kvmserver.toml needs little: flat keys, a few
 * tables, strings, numbers, booleans and arrays of strings.  What the subset leaves out
 * is refused by name, so a file that would mean something else to a full parser is an
 * error here, never a silent misreading.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/array.h"
#include "util/toml.h"

#define MAX_DEPTH 32 /* nested arrays: bounded, so input cannot exhaust the stack */

struct parser {
	const char *p, *end;
	const char *name;
	int line;
	char *err;
	size_t errsize;
	int failed; /* -EINVAL or -ENOMEM once an error is recorded */
};

__attribute__((format(printf, 2, 3))) static int fail(struct parser *ps, const char *fmt, ...)
{
	if (ps->failed)
		return ps->failed;
	ps->failed = -EINVAL;
	int n = snprintf(ps->err, ps->errsize, "%s:%d: ", ps->name, ps->line);
	if (n >= 0 && (size_t)n < ps->errsize) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(ps->err + n, ps->errsize - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return ps->failed;
}

static int nomem(struct parser *ps)
{
	if (!ps->failed) {
		snprintf(ps->err, ps->errsize, "%s:%d: out of memory", ps->name, ps->line);
		ps->failed = -ENOMEM;
	}
	return ps->failed;
}

static int peek(const struct parser *ps, size_t ahead)
{
	return ps->p + ahead < ps->end ? (unsigned char)ps->p[ahead] : -1;
}

/* A character for messages: printable as itself, else as a code. */
static const char *show(int c, char buf[8])
{
	if (c < 0)
		return "the end of the file";
	if (c == '\n')
		return "the end of the line";
	if (c > 0x20 && c < 0x7f)
		snprintf(buf, 8, "'%c'", c);
	else
		snprintf(buf, 8, "0x%02x", c);
	return buf;
}

static void skip_ws(struct parser *ps)
{
	while (peek(ps, 0) == ' ' || peek(ps, 0) == '\t')
		ps->p++;
}

/* After a comment's '#': to the end of the line (not past it).  Control characters
 * other than tab are not allowed in comments. */
static int skip_comment(struct parser *ps)
{
	while (ps->p < ps->end && *ps->p != '\n') {
		unsigned char c = (unsigned char)*ps->p;
		if ((c < 0x20 && c != '\t' && !(c == '\r' && peek(ps, 1) == '\n')) || c == 0x7f) {
			char b[8];
			return fail(ps, "%s is not allowed in a comment", show(c, b));
		}
		ps->p++;
	}
	return 0;
}

/* A newline, "\r\n" or "\n"; 1 when one was consumed. */
static int newline(struct parser *ps)
{
	if (peek(ps, 0) == '\r' && peek(ps, 1) == '\n')
		ps->p++;
	if (peek(ps, 0) != '\n')
		return 0;
	ps->p++;
	ps->line++;
	return 1;
}

/* The rest of a line after a key/value pair or a header: blanks, a comment, the end. */
static int end_of_line(struct parser *ps)
{
	skip_ws(ps);
	if (peek(ps, 0) == '#' && skip_comment(ps))
		return ps->failed;
	if (ps->p >= ps->end || newline(ps))
		return 0;
	char b[8];
	return fail(ps, "expected the end of the line, found %s", show(peek(ps, 0), b));
}

/* --- strings ----------------------------------------------------------------------------- */
struct buf {
	char *s;
	size_t n, cap;
};

static int buf_put(struct parser *ps, struct buf *b, const char *s, size_t n)
{
	if (ARRAY_RESERVE(b->s, b->cap, b->n + n + 1, 32))
		return nomem(ps);
	memcpy(b->s + b->n, s, n);
	b->n += n;
	b->s[b->n] = 0;
	return 0;
}

static int put_utf8(struct parser *ps, struct buf *b, uint32_t cp)
{
	char u[4];
	size_t n;
	if (cp < 0x80) {
		u[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | cp >> 6);
		u[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | cp >> 12);
		u[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		u[0] = (char)(0xf0 | cp >> 18);
		u[1] = (char)(0x80 | (cp >> 12 & 0x3f));
		u[2] = (char)(0x80 | (cp >> 6 & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	return buf_put(ps, b, u, n);
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int parse_escape(struct parser *ps, struct buf *b)
{
	int c = peek(ps, 0);
	const char *simple = NULL;
	switch (c) {
	case 'b': simple = "\b"; break;
	case 't': simple = "\t"; break;
	case 'n': simple = "\n"; break;
	case 'f': simple = "\f"; break;
	case 'r': simple = "\r"; break;
	case '"': simple = "\""; break;
	case '\\': simple = "\\"; break;
	case 'u':
	case 'U': break;
	default: {
		char sb[8];
		return fail(ps, "unknown escape \\%s in a string", c == '\n' || c < 0 ? "(end of line)" : show(c, sb));
	}
	}
	ps->p++;
	if (simple)
		return buf_put(ps, b, simple, 1);
	int digits = c == 'u' ? 4 : 8;
	uint32_t cp = 0;
	for (int i = 0; i < digits; i++) {
		int h = hexval(peek(ps, 0));
		if (h < 0)
			return fail(ps, "\\%c needs %d hex digits", c, digits);
		cp = cp << 4 | (uint32_t)h;
		ps->p++;
	}
	if (cp == 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return fail(ps, "\\%c%0*X is not allowed in a string", c, digits, cp);
	return put_utf8(ps, b, cp);
}

/* At the opening quote of a basic ("...") or literal ('...') string. */
static int parse_string(struct parser *ps, char **out)
{
	char q = *ps->p;
	if (peek(ps, 1) == q && peek(ps, 2) == q)
		return fail(ps, "multi-line strings (%c%c%c) are not supported", q, q, q);
	ps->p++;
	struct buf b = {0};
	if (buf_put(ps, &b, "", 0))
		return ps->failed;
	for (;;) {
		int c = peek(ps, 0);
		if (c < 0 || c == '\n' || (c == '\r' && peek(ps, 1) == '\n')) {
			free(b.s);
			return fail(ps, "unterminated string");
		}
		if (c == q) {
			ps->p++;
			break;
		}
		if ((c < 0x20 && c != '\t') || c == 0x7f) {
			free(b.s);
			char sb[8];
			return fail(ps, "%s must be written as an escape in a string", show(c, sb));
		}
		ps->p++;
		int err = c == '\\' && q == '"' ? parse_escape(ps, &b) : buf_put(ps, &b, (const char *)&ps->p[-1], 1);
		if (err) {
			free(b.s);
			return err;
		}
	}
	*out = b.s;
	return 0;
}

/* --- keys -------------------------------------------------------------------------------- */
static int is_bare(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

struct keypath {
	char *part[16];
	size_t n;
};

static void keypath_free(struct keypath *k)
{
	for (size_t i = 0; i < k->n; i++)
		free(k->part[i]);
	k->n = 0;
}

/* A dotted key: one or more simple keys separated by '.', blanks allowed around dots. */
static int parse_key(struct parser *ps, struct keypath *k)
{
	k->n = 0;
	for (;;) {
		skip_ws(ps);
		if (k->n == sizeof(k->part) / sizeof(k->part[0]))
			return fail(ps, "too many parts in a dotted key");
		int c = peek(ps, 0);
		char *part = NULL;
		if (c == '"' || c == '\'') {
			if (parse_string(ps, &part))
				return ps->failed;
		} else if (is_bare(c)) {
			const char *s = ps->p;
			while (is_bare(peek(ps, 0)))
				ps->p++;
			part = strndup(s, (size_t)(ps->p - s));
			if (!part)
				return nomem(ps);
		} else {
			char b[8];
			return fail(ps, "expected a key, found %s", show(c, b));
		}
		k->part[k->n++] = part;
		skip_ws(ps);
		if (peek(ps, 0) != '.')
			return 0;
		ps->p++;
	}
}

/* --- tables ------------------------------------------------------------------------------ */
static struct toml_entry *find(const struct toml_table *t, const char *key)
{
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->e[i].key, key) == 0)
			return &t->e[i];
	return NULL;
}

/* Adds key to t, taking ownership of key (freed on failure). */
static struct toml_entry *add(struct parser *ps, struct toml_table *t, char *key)
{
	if (ARRAY_RESERVE(t->e, t->cap, t->n + 1, 8)) {
		free(key);
		nomem(ps);
		return NULL;
	}
	struct toml_entry *e = &t->e[t->n++];
	memset(e, 0, sizeof(*e));
	e->key = key;
	e->line = ps->line;
	return e;
}

/* The table at key in t, created if missing; an error if key holds something else. */
static struct toml_table *subtable(struct parser *ps, struct toml_table *t, char **key)
{
	struct toml_entry *e = find(t, *key);
	if (e) {
		if (e->value.type != TOML_TABLE) {
			fail(ps, "'%s' is already %s (line %d), not a table", *key, toml_type_name(e->value.type),
			     e->line);
			return NULL;
		}
		free(*key);
		*key = NULL;
		return e->value.table;
	}
	struct toml_table *sub = calloc(1, sizeof(*sub));
	if (!sub) {
		nomem(ps);
		return NULL;
	}
	e = add(ps, t, *key);
	*key = NULL;
	if (!e) {
		free(sub);
		return NULL;
	}
	e->value.type = TOML_TABLE;
	e->value.line = ps->line;
	e->value.table = sub;
	return sub;
}

/* Walks k->part[0 .. n-1] from t, creating tables; the key parts used are consumed. */
static struct toml_table *walk(struct parser *ps, struct toml_table *t, struct keypath *k, size_t n)
{
	for (size_t i = 0; i < n && t; i++)
		t = subtable(ps, t, &k->part[i]);
	return t;
}

/* --- values ------------------------------------------------------------------------------ */
static int parse_value(struct parser *ps, struct toml_value *v, int depth);

/* Blanks, newlines and comments between array elements. */
static int skip_array_space(struct parser *ps)
{
	for (;;) {
		skip_ws(ps);
		if (peek(ps, 0) == '#') {
			if (skip_comment(ps))
				return ps->failed;
		} else if (!newline(ps)) {
			return 0;
		}
	}
}

static int parse_array(struct parser *ps, struct toml_value *v, int depth)
{
	if (depth >= MAX_DEPTH)
		return fail(ps, "arrays nested too deeply");
	ps->p++; /* '[' */
	v->type = TOML_ARRAY;
	size_t cap = 0;
	for (;;) {
		if (skip_array_space(ps))
			return ps->failed;
		if (peek(ps, 0) == ']') {
			ps->p++;
			return 0;
		}
		if (ARRAY_RESERVE(v->array.v, cap, v->array.n + 1, 4))
			return nomem(ps);
		struct toml_value *el = &v->array.v[v->array.n];
		memset(el, 0, sizeof(*el));
		el->type = TOML_BOOL; /* nothing to free if it fails half way */
		int err = parse_value(ps, el, depth + 1);
		v->array.n++;
		if (err)
			return err;
		if (skip_array_space(ps))
			return ps->failed;
		int c = peek(ps, 0);
		if (c == ',') {
			ps->p++;
		} else if (c != ']') {
			char b[8];
			return fail(ps, "expected ',' or ']' in an array, found %s", show(c, b));
		}
	}
}

/* Digits of `base` with single underscores between them, copied without the underscores
 * into out (NUL terminated, at most size-1 chars).  Returns the count of digits. */
static int digits(const char **s, const char *end, int base, char *out, size_t size, size_t *len)
{
	int n = 0;
	bool under = false;
	while (*s < end) {
		int c = (unsigned char)**s;
		int d = hexval(c);
		if (c == '_') {
			if (!n || under)
				return -1;
			under = true;
		} else if (d >= 0 && d < base) {
			if (*len + 1 >= size)
				return -1;
			out[(*len)++] = (char)c;
			n++;
			under = false;
		} else {
			break;
		}
		(*s)++;
	}
	out[*len] = 0;
	return under ? -1 : n;
}

/* Integers, floats, inf/nan; what looks like a date or time is refused by name. */
static int parse_number(struct parser *ps, struct toml_value *v)
{
	const char *start = ps->p, *s = start, *end;
	while (ps->p < ps->end && (is_bare(*ps->p) || *ps->p == '+' || *ps->p == '.' || *ps->p == ':'))
		ps->p++;
	end = ps->p;
	size_t tlen = (size_t)(end - start);
	if (memchr(start, ':', tlen) || (tlen >= 10 && start[4] == '-' && start[7] == '-'))
		return fail(ps, "dates and times are not supported");
	char buf[128];
	size_t len = 0;
	if (s < end && (*s == '+' || *s == '-'))
		buf[len++] = *s++;
	size_t after_sign = len;
	if (end - s == 3 && (memcmp(s, "inf", 3) == 0 || memcmp(s, "nan", 3) == 0)) {
		v->type = TOML_FLOAT;
		v->f = *s == 'i' ? (buf[0] == '-' ? -INFINITY : INFINITY) : NAN;
		return 0;
	}
	if (s + 1 < end && s[0] == '0' && (s[1] == 'x' || s[1] == 'o' || s[1] == 'b')) {
		int base = s[1] == 'x' ? 16 : s[1] == 'o' ? 8 : 2;
		if (after_sign)
			return fail(ps, "a sign is not allowed before 0%c", s[1]);
		s += 2;
		if (digits(&s, end, base, buf, sizeof(buf), &len) <= 0 || s != end)
			return fail(ps, "invalid number '%.*s'", (int)tlen, start);
		errno = 0;
		unsigned long long u = strtoull(buf, NULL, base);
		if (errno || u > INT64_MAX)
			return fail(ps, "integer '%.*s' is out of range", (int)tlen, start);
		v->type = TOML_INT;
		v->i = (int64_t)u;
		return 0;
	}
	const char *int_start = s;
	int n = digits(&s, end, 10, buf, sizeof(buf), &len);
	if (n <= 0 || (n > 1 && *int_start == '0'))
		return fail(ps, "invalid value '%.*s' (a number needs digits, with no leading zero)", (int)tlen, start);
	bool is_float = false;
	if (s < end && *s == '.') {
		s++;
		if (len + 2 >= sizeof(buf))
			return fail(ps, "number '%.*s' is too long", (int)tlen, start);
		buf[len++] = '.';
		if (digits(&s, end, 10, buf, sizeof(buf), &len) <= 0)
			return fail(ps, "invalid number '%.*s' (digits must follow '.')", (int)tlen, start);
		is_float = true;
	}
	if (s < end && (*s == 'e' || *s == 'E')) {
		s++;
		if (len + 3 >= sizeof(buf))
			return fail(ps, "number '%.*s' is too long", (int)tlen, start);
		buf[len++] = 'e';
		if (s < end && (*s == '+' || *s == '-'))
			buf[len++] = *s++;
		if (digits(&s, end, 10, buf, sizeof(buf), &len) <= 0)
			return fail(ps, "invalid number '%.*s' (an exponent needs digits)", (int)tlen, start);
		is_float = true;
	}
	if (s != end)
		return fail(ps, "invalid value '%.*s'", (int)tlen, start);
	errno = 0;
	if (is_float) {
		v->type = TOML_FLOAT;
		v->f = strtod(buf, NULL);
		if (errno == ERANGE && isinf(v->f))
			return fail(ps, "float '%.*s' is out of range", (int)tlen, start);
	} else {
		v->type = TOML_INT;
		v->i = strtoll(buf, NULL, 10);
		if (errno == ERANGE)
			return fail(ps, "integer '%.*s' is out of range", (int)tlen, start);
	}
	return 0;
}

static bool word(struct parser *ps, const char *w)
{
	size_t n = strlen(w);
	if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, w, n) != 0 || is_bare(peek(ps, n)))
		return false;
	ps->p += n;
	return true;
}

static int parse_value(struct parser *ps, struct toml_value *v, int depth)
{
	v->line = ps->line;
	int c = peek(ps, 0);
	if (c == '"' || c == '\'') {
		char *s;
		if (parse_string(ps, &s))
			return ps->failed;
		v->type = TOML_STRING;
		v->s = s;
		return 0;
	}
	if (c == '[')
		return parse_array(ps, v, depth);
	if (c == '{')
		return fail(ps, "inline tables ({...}) are not supported");
	if (word(ps, "true") || word(ps, "false")) {
		v->type = TOML_BOOL;
		v->b = c == 't';
		return 0;
	}
	if (c == '+' || c == '-' || c == '.' || (c >= '0' && c <= '9') || word(ps, "inf") || word(ps, "nan")) {
		if (c == 'i' || c == 'n') { /* word() consumed it */
			v->type = TOML_FLOAT;
			v->f = c == 'i' ? INFINITY : NAN;
			return 0;
		}
		return parse_number(ps, v);
	}
	char b[8];
	if (c < 0 || c == '\n' || c == '#' || c == '\r')
		return fail(ps, "a value is missing");
	if (is_bare(c))
		return fail(ps, "invalid value starting with %s (strings need quotes)", show(c, b));
	return fail(ps, "invalid value starting with %s", show(c, b));
}

/* --- lines ------------------------------------------------------------------------------- */
static int parse_header(struct parser *ps, struct toml_table *root, struct toml_table **cur)
{
	if (peek(ps, 1) == '[')
		return fail(ps, "arrays of tables ([[...]]) are not supported");
	ps->p++;
	struct keypath k;
	if (parse_key(ps, &k))
		goto out;
	if (peek(ps, 0) != ']') {
		char b[8];
		fail(ps, "expected ']' after a table name, found %s", show(peek(ps, 0), b));
		goto out;
	}
	ps->p++;
	char last[64];
	snprintf(last, sizeof(last), "%s", k.part[k.n - 1]);
	struct toml_table *t = walk(ps, root, &k, k.n);
	if (!t)
		goto out;
	if (t->defined) {
		fail(ps, "table '%s' is defined twice", last);
		goto out;
	}
	t->defined = true;
	*cur = t;
	end_of_line(ps);
out:
	keypath_free(&k);
	return ps->failed;
}

static int parse_pair(struct parser *ps, struct toml_table *cur)
{
	struct keypath k;
	struct toml_value v = {.type = TOML_BOOL};
	int line = ps->line;
	if (parse_key(ps, &k))
		goto out;
	if (peek(ps, 0) != '=') {
		char b[8];
		fail(ps, "expected '=' after the key '%s', found %s", k.part[k.n - 1], show(peek(ps, 0), b));
		goto out;
	}
	ps->p++;
	skip_ws(ps);
	if (parse_value(ps, &v, 0))
		goto out;
	struct toml_table *t = walk(ps, cur, &k, k.n - 1);
	if (!t)
		goto out;
	char *key = k.part[k.n - 1];
	struct toml_entry *old = find(t, key);
	if (old) {
		int ps_line = ps->line;
		ps->line = line;
		fail(ps, "duplicate key '%s' (first set on line %d)", key, old->line);
		ps->line = ps_line;
		goto out;
	}
	k.part[--k.n] = NULL;
	struct toml_entry *e = add(ps, t, key);
	if (!e)
		goto out;
	e->line = line;
	e->value = v;
	v.type = TOML_BOOL; /* moved */
	end_of_line(ps);
out:
	toml_value_free(&v);
	keypath_free(&k);
	return ps->failed;
}

int toml_parse(const char *text, size_t len, const char *name, struct toml_table **out, char *err, size_t errsize)
{
	struct parser ps = {.p = text, .end = text + len, .name = name, .line = 1, .err = err, .errsize = errsize};
	if (errsize)
		err[0] = 0;
	struct toml_table *root = calloc(1, sizeof(*root)), *cur = root;
	if (!root)
		return nomem(&ps);
	const char *nul = memchr(text, 0, len);
	if (nul) {
		for (const char *q = text; q < nul; q++)
			ps.line += *q == '\n';
		fail(&ps, "a NUL byte is not allowed in the file");
	}
	/* A UTF-8 byte order mark is allowed at the start. */
	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
		ps.p += 3;
	while (!ps.failed && ps.p < ps.end) {
		skip_ws(&ps);
		int c = peek(&ps, 0);
		if (c < 0)
			break;
		if (c == '#')
			skip_comment(&ps);
		else if (newline(&ps))
			continue;
		else if (c == '[')
			parse_header(&ps, root, &cur);
		else
			parse_pair(&ps, cur);
	}
	if (ps.failed) {
		toml_free(root);
		return ps.failed;
	}
	*out = root;
	return 0;
}
