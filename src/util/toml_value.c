/* toml_value.c - what the TOML parser (toml.c) returns: freeing it, looking keys up,
 * naming types, and quoting a string back as TOML. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/toml.h"

void toml_free(struct toml_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++) {
		free(t->e[i].key);
		toml_value_free(&t->e[i].value);
	}
	free(t->e);
	free(t);
}

void toml_value_free(struct toml_value *v)
{
	if (v->type == TOML_STRING) {
		free(v->s);
	} else if (v->type == TOML_ARRAY) {
		for (size_t i = 0; i < v->array.n; i++)
			toml_value_free(&v->array.v[i]);
		free(v->array.v);
	} else if (v->type == TOML_TABLE) {
		toml_free(v->table);
	}
}

const struct toml_value *toml_get(const struct toml_table *t, const char *key)
{
	for (size_t i = 0; t && i < t->n; i++)
		if (strcmp(t->e[i].key, key) == 0)
			return &t->e[i].value;
	return NULL;
}

const char *toml_type_name(enum toml_type type)
{
	static const char *const names[] = {"a string", "an integer", "a float", "a boolean", "an array", "a table"};
	return (unsigned)type < sizeof(names) / sizeof(names[0]) ? names[type] : "a value";
}

size_t toml_quote(char *buf, size_t size, const char *s)
{
	size_t n = 0;
#define PUT(ch)                                                                                                        \
	do {                                                                                                           \
		if (n + 1 < size)                                                                                      \
			buf[n] = (ch);                                                                                 \
		n++;                                                                                                   \
	} while (0)
	PUT('"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		const char *esc = NULL;
		switch (*p) {
		case '"': esc = "\\\""; break;
		case '\\': esc = "\\\\"; break;
		case '\n': esc = "\\n"; break;
		case '\t': esc = "\\t"; break;
		case '\r': esc = "\\r"; break;
		case '\b': esc = "\\b"; break;
		case '\f': esc = "\\f"; break;
		}
		char hex[8];
		if (!esc && (*p < 0x20 || *p == 0x7f)) {
			snprintf(hex, sizeof(hex), "\\u%04X", *p);
			esc = hex;
		}
		if (esc)
			for (; *esc; esc++)
				PUT(*esc);
		else
			PUT((char)*p);
	}
	PUT('"');
#undef PUT
	if (size)
		buf[n < size ? n : size - 1] = 0;
	return n;
}
