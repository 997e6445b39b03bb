/* toml_fuzz.c - libFuzzer target for toml_parse(): no crash or leak on any input; an error
 * always has its "NAME:LINE: " prefix; every string accepted survives toml_quote and a
 * second parse unchanged (what --print-config relies on).  Build with `make fuzz`; run e.g.
 * build/fuzz/toml_fuzz -max_total_time=60 tests/fuzz/toml_corpus
 */
#include "util/toml.h"
#include "fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void check_string(const char *s)
{
	size_t need = toml_quote(NULL, 0, s);
	char *text = malloc(need + 8);
	CHECK(text);
	memcpy(text, "k = ", 4);
	CHECK(toml_quote(text + 4, need + 1, s) == need);
	struct toml_table *t;
	char err[200];
	CHECK(toml_parse(text, need + 4, "q", &t, err, sizeof(err)) == 0);
	const struct toml_value *v = toml_get(t, "k");
	CHECK(v && v->type == TOML_STRING && strcmp(v->s, s) == 0);
	toml_free(t);
	free(text);
}

static void check_value(const struct toml_value *v, int depth);

static void check_table(const struct toml_table *t, int depth)
{
	CHECK(depth < 64);
	for (size_t i = 0; i < t->n; i++) {
		CHECK(t->e[i].key && t->e[i].line >= 1);
		CHECK(toml_get(t, t->e[i].key) == &t->e[i].value); /* keys are unique */
		check_string(t->e[i].key);
		check_value(&t->e[i].value, depth + 1);
	}
}

static void check_value(const struct toml_value *v, int depth)
{
	CHECK(v->line >= 1);
	switch (v->type) {
	case TOML_STRING: check_string(v->s); break;
	case TOML_ARRAY:
		for (size_t i = 0; i < v->array.n; i++)
			check_value(&v->array.v[i], depth + 1);
		break;
	case TOML_TABLE: check_table(v->table, depth + 1); break;
	default: break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct toml_table *t;
	char err[256];
	if (toml_parse((const char *)data, size, "f", &t, err, sizeof(err)) == 0) {
		check_table(t, 0);
		toml_free(t);
	} else {
		CHECK(strncmp(err, "f:", 2) == 0 && strstr(err, ": ") != NULL);
	}
	return 0;
}
