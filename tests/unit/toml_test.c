/* toml_test.c - unit tests for the TOML subset parser (src/util/toml.c): every value kind,
 * the escapes, tables, and that each refused construct gets a FILE:LINE message. */
#include <math.h>
#include <string.h>

#include "test_util.h"
#include "util/toml.h"

static struct toml_table *parse_ok(const char *text)
{
	struct toml_table *t = NULL;
	char err[256];
	int r = toml_parse(text, strlen(text), "t.toml", &t, err, sizeof(err));
	TEST_ASSERT(r == 0, "parsing <<%s>> failed: %s", text, err);
	return r == 0 ? t : NULL;
}

/* Parsing must fail with exactly this message. */
static void parse_err(const char *text, const char *want)
{
	struct toml_table *t = NULL;
	char err[256];
	int r = toml_parse(text, strlen(text), "t.toml", &t, err, sizeof(err));
	TEST_ASSERT(r == -EINVAL, "<<%s>> parsed (want error '%s')", text, want);
	if (r == 0)
		toml_free(t);
	else
		TEST_ASSERT(strcmp(err, want) == 0, "<<%s>>: got '%s', want '%s'", text, err, want);
}

static void test_scalars(void)
{
	struct toml_table *t = parse_ok("# a comment\n"
	                                "name = \"deno\"   # trailing comment\n"
	                                "lit = 'C:\\path\\n'\n"
	                                "threads = 4\n"
	                                "neg = -17\n"
	                                "big = 1_000_000\n"
	                                "hex = 0xff\n"
	                                "oct = 0o17\n"
	                                "bin = 0b101\n"
	                                "time = 2.5\n"
	                                "exp = 1e3\n"
	                                "expf = -1.5E-2\n"
	                                "inf = inf\n"
	                                "minf = -inf\n"
	                                "nan = nan\n"
	                                "yes = true\n"
	                                "no = false\n"
	                                "\"quoted key\" = 1\n"
	                                "'lit key' = 2\n"
	                                "max-boot_time = 0\n");
	if (!t)
		return;
	const struct toml_value *v = toml_get(t, "name");
	TEST_ASSERT(v && v->type == TOML_STRING && strcmp(v->s, "deno") == 0, "name");
	ASSERT_EQ(v ? v->line : 0, 2);
	v = toml_get(t, "lit");
	TEST_ASSERT(v && v->type == TOML_STRING && strcmp(v->s, "C:\\path\\n") == 0, "literal strings have no escapes");
	ASSERT_EQ(toml_get(t, "threads")->i, 4);
	ASSERT_EQ(toml_get(t, "neg")->i, -17);
	ASSERT_EQ(toml_get(t, "big")->i, 1000000);
	ASSERT_EQ(toml_get(t, "hex")->i, 255);
	ASSERT_EQ(toml_get(t, "oct")->i, 15);
	ASSERT_EQ(toml_get(t, "bin")->i, 5);
	ASSERT_EQ(toml_get(t, "threads")->type, TOML_INT);
	v = toml_get(t, "time");
	TEST_ASSERT(v->type == TOML_FLOAT && v->f == 2.5, "2.5");
	TEST_ASSERT(toml_get(t, "exp")->type == TOML_FLOAT && toml_get(t, "exp")->f == 1000.0, "1e3");
	TEST_ASSERT(toml_get(t, "expf")->f == -0.015, "-1.5E-2");
	TEST_ASSERT(isinf(toml_get(t, "inf")->f) && toml_get(t, "inf")->f > 0, "inf");
	TEST_ASSERT(isinf(toml_get(t, "minf")->f) && toml_get(t, "minf")->f < 0, "-inf");
	TEST_ASSERT(isnan(toml_get(t, "nan")->f), "nan");
	TEST_ASSERT(toml_get(t, "yes")->type == TOML_BOOL && toml_get(t, "yes")->b, "true");
	TEST_ASSERT(toml_get(t, "no")->type == TOML_BOOL && !toml_get(t, "no")->b, "false");
	ASSERT_EQ(toml_get(t, "quoted key")->i, 1);
	ASSERT_EQ(toml_get(t, "lit key")->i, 2);
	TEST_ASSERT(toml_get(t, "max-boot_time") != NULL, "bare keys take - and _");
	TEST_ASSERT(toml_get(t, "missing") == NULL, "missing key");
	toml_free(t);
}

static void test_escapes(void)
{
	struct toml_table *t = parse_ok("s = \"a\\tb\\nc\\\"d\\\\e\\u00e9\\U0001F600\\b\\f\\r\"\n");
	if (!t)
		return;
	const char *s = toml_get(t, "s")->s;
	TEST_ASSERT(strcmp(s, "a\tb\nc\"d\\e\xc3\xa9\xf0\x9f\x98\x80\b\f\r") == 0, "escapes decoded: '%s'", s);
	/* toml_quote round trip */
	char q[128];
	size_t n = toml_quote(q, sizeof(q), s);
	ASSERT_EQ(n, strlen(q));
	char text[160];
	snprintf(text, sizeof(text), "s = %s\n", q);
	struct toml_table *t2 = parse_ok(text);
	TEST_ASSERT(t2 && strcmp(toml_get(t2, "s")->s, s) == 0, "toml_quote output parses back: %s", q);
	toml_free(t2);
	toml_free(t);
	char small[4];
	n = toml_quote(small, sizeof(small), "abcdef");
	ASSERT_EQ(n, 8);
	TEST_ASSERT(strcmp(small, "\"ab") == 0, "truncated quote: '%s'", small);
	n = toml_quote(q, sizeof(q), "\x01");
	TEST_ASSERT(strcmp(q, "\"\\u0001\"") == 0, "control character quoted: %s", q);
}

static void test_arrays(void)
{
	struct toml_table *t = parse_ok("a = [\"x\", 'y', \"z\"]\n"
	                                "empty = []\n"
	                                "multi = [\n"
	                                "  \"one\",  # a comment\n"
	                                "\n"
	                                "  \"two\",\n"
	                                "]\n"
	                                "nested = [[1, 2], [3]]\n"
	                                "after = 1\n");
	if (!t)
		return;
	const struct toml_value *v = toml_get(t, "a");
	TEST_ASSERT(v && v->type == TOML_ARRAY && v->array.n == 3, "a");
	TEST_ASSERT(strcmp(v->array.v[1].s, "y") == 0, "a[1]");
	ASSERT_EQ(toml_get(t, "empty")->array.n, 0);
	v = toml_get(t, "multi");
	ASSERT_EQ(v->array.n, 2);
	TEST_ASSERT(strcmp(v->array.v[1].s, "two") == 0, "multi[1]");
	ASSERT_EQ(v->array.v[1].line, 6);
	v = toml_get(t, "nested");
	ASSERT_EQ(v->array.n, 2);
	ASSERT_EQ(v->array.v[0].array.v[1].i, 2);
	ASSERT_EQ(toml_get(t, "after")->line, 9);
	toml_free(t);
}

static void test_tables(void)
{
	struct toml_table *t = parse_ok("top = 1\n"
	                                "[server]\n"
	                                "port = 8000\n"
	                                "[a.b]\n"
	                                "c = \"d\"\n"
	                                "[a]\n"
	                                "x.y = true\n"
	                                "[\"quoted.name\"]\n"
	                                "k = 2\n");
	if (!t)
		return;
	ASSERT_EQ(toml_get(t, "top")->i, 1);
	const struct toml_value *s = toml_get(t, "server");
	TEST_ASSERT(s && s->type == TOML_TABLE, "server table");
	ASSERT_EQ(toml_get(s->table, "port")->i, 8000);
	TEST_ASSERT(toml_get(t, "port") == NULL, "port is not at the top");
	const struct toml_value *a = toml_get(t, "a");
	const struct toml_value *b = toml_get(a->table, "b");
	TEST_ASSERT(strcmp(toml_get(b->table, "c")->s, "d") == 0, "a.b.c");
	const struct toml_value *x = toml_get(a->table, "x");
	TEST_ASSERT(x && x->type == TOML_TABLE && toml_get(x->table, "y")->b, "a.x.y dotted key");
	const struct toml_value *q = toml_get(t, "quoted.name");
	TEST_ASSERT(q && q->type == TOML_TABLE, "a quoted table name is one key");
	toml_free(t);
}

static void test_line_endings(void)
{
	struct toml_table *t = parse_ok("\xef\xbb\xbf"
	                                "a = 1\r\n"
	                                "b = \"x\" # c\r\n"
	                                "\r\n"
	                                "c = 3");
	if (!t)
		return;
	ASSERT_EQ(toml_get(t, "c")->i, 3);
	ASSERT_EQ(toml_get(t, "c")->line, 4);
	toml_free(t);
	t = parse_ok("");
	TEST_ASSERT(t && t->n == 0, "empty file");
	toml_free(t);
}

static void test_errors(void)
{
	parse_err("a = 1\na = 2\n", "t.toml:2: duplicate key 'a' (first set on line 1)");
	parse_err("a = \"x\n", "t.toml:1: unterminated string");
	parse_err("\n\nthreads = four\n", "t.toml:3: invalid value starting with 'f' (strings need quotes)");
	parse_err("a = \"\"\"x\"\"\"\n", "t.toml:1: multi-line strings (\"\"\") are not supported");
	parse_err("a = '''x'''\n", "t.toml:1: multi-line strings (''') are not supported");
	parse_err("a = {b = 1}\n", "t.toml:1: inline tables ({...}) are not supported");
	parse_err("[[a]]\n", "t.toml:1: arrays of tables ([[...]]) are not supported");
	parse_err("d = 1979-05-27\n", "t.toml:1: dates and times are not supported");
	parse_err("d = 07:32:00\n", "t.toml:1: dates and times are not supported");
	parse_err("a = 1 b = 2\n", "t.toml:1: expected the end of the line, found 'b'");
	parse_err("a 1\n", "t.toml:1: expected '=' after the key 'a', found '1'");
	parse_err("a =\n", "t.toml:1: a value is missing");
	parse_err("a = [1, 2\n", "t.toml:2: expected ',' or ']' in an array, found the end of the file");
	parse_err("a = [1 2]\n", "t.toml:1: expected ',' or ']' in an array, found '2'");
	parse_err("a = 01\n", "t.toml:1: invalid value '01' (a number needs digits, with no leading zero)");
	parse_err("a = 1__0\n", "t.toml:1: invalid value '1__0' (a number needs digits, with no leading zero)");
	parse_err("a = 1.\n", "t.toml:1: invalid number '1.' (digits must follow '.')");
	parse_err("a = 1e\n", "t.toml:1: invalid number '1e' (an exponent needs digits)");
	parse_err("a = 9223372036854775808\n", "t.toml:1: integer '9223372036854775808' is out of range");
	parse_err("a = -0x1\n", "t.toml:1: a sign is not allowed before 0x");
	parse_err("a = 0xg\n", "t.toml:1: invalid number '0xg'");
	parse_err("a = \"\\q\"\n", "t.toml:1: unknown escape \\'q' in a string");
	parse_err("a = \"\\u12\"\n", "t.toml:1: \\u needs 4 hex digits");
	parse_err("a = \"\\uD800\"\n", "t.toml:1: \\uD800 is not allowed in a string");
	parse_err("a = \"\\u0000\"\n", "t.toml:1: \\u0000 is not allowed in a string");
	parse_err("a = \"x\x01\"\n", "t.toml:1: 0x01 must be written as an escape in a string");
	parse_err("[t]\n[t]\n", "t.toml:2: table 't' is defined twice");
	parse_err("a = 1\n[a]\n", "t.toml:2: 'a' is already an integer (line 1), not a table");
	parse_err("a = 1\na.b = 2\n", "t.toml:2: 'a' is already an integer (line 1), not a table");
	parse_err("[t\n", "t.toml:1: expected ']' after a table name, found the end of the line");
	parse_err("= 1\n", "t.toml:1: expected a key, found '='");
	parse_err("a = 1 # \x01\n", "t.toml:1: 0x01 is not allowed in a comment");
	parse_err("a = [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]\n",
	          "t.toml:1: arrays nested too deeply");
	struct toml_table *t;
	char err[64];
	ASSERT_EQ(toml_parse("a = 1\n\0", 7, "n.toml", &t, err, sizeof(err)), -EINVAL);
	TEST_ASSERT(strcmp(err, "n.toml:2: a NUL byte is not allowed in the file") == 0, "NUL: %s", err);
	/* A short error buffer truncates, never overflows. */
	char tiny[8];
	ASSERT_EQ(toml_parse("a = ?", 5, "long-name.toml", &t, tiny, sizeof(tiny)), -EINVAL);
	ASSERT_EQ(strlen(tiny), 7);
}

int main(void)
{
	RUN_TEST(test_scalars);
	RUN_TEST(test_escapes);
	RUN_TEST(test_arrays);
	RUN_TEST(test_tables);
	RUN_TEST(test_line_endings);
	RUN_TEST(test_errors);
	return test_summary();
}
