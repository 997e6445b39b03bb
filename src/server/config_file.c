/* config_file.c - kvmserver.toml.  -c FILE is applied through the command line's own
 * option handlers (config_option), so every option is a key with the same name, the same
 * checks and the same meaning; --print-config writes the effective configuration back in
 * that format (it reads back to the same configuration); --help-all lists the keys.
 *
 * Key names are the long option names, as in the C++ original kvmserver (whose CLI11 reads
 * its kvmserver.toml the same way), plus `program` and `args` for `run PROGRAM ARGS...`.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/config.h"
#include "server/config_impl.h"
#include "util/log.h"
#include "util/toml.h"

#define MAX_FILE_SIZE (1 << 20)

/* Options that are not configuration. */
static const char *const not_keys[] = {"help", "help-all", "config", "print-config", NULL};
/* Options that may be given several times, so their key takes an array. */
static const char *const repeatable[] = {"env", "volume", "warmup-request", NULL};

static bool in(const char *const *list, const char *name)
{
	for (; *list; list++)
		if (strcmp(*list, name) == 0)
			return true;
	return false;
}

bool config_file_key_ok(const char *name)
{
	return !in(not_keys, name);
}

static const struct option *find_option(const char *name)
{
	for (const struct option *o = config_options; o->name; o++)
		if (strcmp(o->name, name) == 0 && config_file_key_ok(name))
			return o;
	return NULL;
}

/* A string made for the configuration (a number as text), freed by config_free. */
static char *own(struct config *cfg, char *s)
{
	const char **v = s ? realloc(cfg->owned.v, (cfg->owned.n + 2) * sizeof(*v)) : NULL;
	if (!v) {
		free(s);
		return NULL;
	}
	cfg->owned.v = v;
	v[cfg->owned.n++] = s;
	v[cfg->owned.n] = NULL;
	return s;
}

/* The shortest %g form that reads back as the same double. */
static void format_double(char *buf, size_t size, double d)
{
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, size, "%.*g", prec, d);
		if (strtod(buf, NULL) == d)
			return;
	}
}

/* One value for an option that takes an argument: a string as it is, a number as text. */
static int apply_scalar(struct config *cfg, const struct option *o, const struct toml_value *v)
{
	char *arg = NULL, num[40];
	config_set_source(cfg->config_file, v->line);
	switch (v->type) {
	case TOML_STRING: arg = v->s; break;
	case TOML_INT:
		snprintf(num, sizeof(num), "%lld", (long long)v->i);
		arg = own(cfg, strdup(num));
		break;
	case TOML_FLOAT:
		format_double(num, sizeof(num), v->f);
		arg = own(cfg, strdup(num));
		break;
	default:
		config_error("'%s' wants a value (a string or a number), not %s", o->name, toml_type_name(v->type));
		return -1;
	}
	if (!arg) {
		config_error("out of memory");
		return -1;
	}
	return config_option(cfg, o->val, arg);
}

static int apply(struct config *cfg, const struct option *o, const struct toml_value *v)
{
	config_set_source(cfg->config_file, v->line);
	if (o->has_arg == no_argument) {
		if (v->type != TOML_BOOL) {
			config_error("'%s' is a flag: true or false, not %s", o->name, toml_type_name(v->type));
			return -1;
		}
		return v->b ? config_option(cfg, o->val, NULL) : 0;
	}
	if (o->has_arg == optional_argument && v->type == TOML_BOOL)
		return v->b ? config_option(cfg, o->val, NULL) : 0; /* true: all, as the bare flag */
	if (v->type != TOML_ARRAY)
		return apply_scalar(cfg, o, v);
	if (o->has_arg != optional_argument && !in(repeatable, o->name)) {
		config_error("'%s' takes one value, not an array", o->name);
		return -1;
	}
	for (size_t i = 0; i < v->array.n; i++) {
		const struct toml_value *el = &v->array.v[i];
		if (el->type != TOML_STRING) {
			config_set_source(cfg->config_file, el->line);
			config_error("'%s' wants an array of strings, not of %s", o->name, toml_type_name(el->type));
			return -1;
		}
		if (apply_scalar(cfg, o, el))
			return -1;
	}
	return 0;
}

static int read_file(const char *path, char **out, size_t *len)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return -errno;
	char *buf = malloc(MAX_FILE_SIZE + 1);
	size_t n = buf ? fread(buf, 1, MAX_FILE_SIZE + 1, f) : 0;
	int err = !buf ? -ENOMEM : ferror(f) ? -EIO : n > MAX_FILE_SIZE ? -EFBIG : 0;
	fclose(f);
	if (err) {
		free(buf);
		return err;
	}
	*out = buf;
	*len = n;
	return 0;
}

/* program = "PATH" and args = ["ARG", ...]: the file's `run PROGRAM ARGS...`. */
static int set_program(struct config *cfg, const struct toml_value *program, const struct toml_value *args)
{
	if (!program) {
		config_set_source(cfg->config_file, args->line);
		config_error("'args' needs a 'program'");
		return -1;
	}
	config_set_source(cfg->config_file, program->line);
	if (program->type != TOML_STRING || !program->s[0]) {
		config_error("'program' wants the program's path or name as a string");
		return -1;
	}
	size_t n = args ? args->array.n : 0;
	cfg->file_argv = calloc(n + 2, sizeof(char *));
	if (!cfg->file_argv) {
		config_error("out of memory");
		return -1;
	}
	cfg->file_argv[0] = program->s;
	for (size_t i = 0; i < n; i++)
		cfg->file_argv[i + 1] = args->array.v[i].s;
	cfg->program = program->s;
	cfg->argv = cfg->file_argv;
	return 0;
}

int config_file_load(struct config *cfg, const char *path)
{
	char *text = NULL;
	size_t len = 0;
	int err = read_file(path, &text, &len);
	if (err) {
		log_msg("cannot read the configuration file %s: %s", path,
		        err == -EFBIG ? "larger than 1 MiB" : strerror(-err));
		return -1;
	}
	char msg[300];
	err = toml_parse(text, len, path, &cfg->file, msg, sizeof(msg));
	free(text);
	if (err) {
		log_msg("%s", msg);
		return -1;
	}
	const struct toml_value *program = NULL, *args = NULL;
	for (size_t i = 0; i < cfg->file->n; i++) {
		const struct toml_entry *e = &cfg->file->e[i];
		config_set_source(path, e->line);
		if (strcmp(e->key, "program") == 0) {
			program = &e->value;
			continue;
		}
		if (strcmp(e->key, "args") == 0) {
			args = &e->value;
			bool ok = args->type == TOML_ARRAY;
			for (size_t j = 0; ok && j < args->array.n; j++)
				ok = args->array.v[j].type == TOML_STRING;
			if (!ok) {
				config_error("'args' wants an array of strings");
				return -1;
			}
			continue;
		}
		const struct option *o = find_option(e->key);
		if (!o) {
			char alt[64];
			snprintf(alt, sizeof(alt), "%s", e->key);
			for (char *c = alt; *c; c++)
				*c = *c == '_' ? '-' : *c;
			if (e->value.type == TOML_TABLE)
				config_error("unknown table '%s' (the keys are at the top level; see --help-all)",
				             e->key);
			else if (find_option(alt))
				config_error("unknown key '%s' (did you mean '%s'?)", e->key, alt);
			else
				config_error("unknown key '%s' (see --help-all for the keys)", e->key);
			return -1;
		}
		if (apply(cfg, o, &e->value))
			return -1;
	}
	if ((program || args) && set_program(cfg, program, args))
		return -1;
	return 0;
}

void config_file_free(struct config *cfg)
{
	toml_free(cfg->file);
	cfg->file = NULL;
	free(cfg->file_argv);
	cfg->file_argv = NULL;
}

/* --- --print-config ---------------------------------------------------------------------- */
static void put_string(FILE *out, const char *s)
{
	size_t n = toml_quote(NULL, 0, s);
	char *q = malloc(n + 1);
	if (q) {
		toml_quote(q, n + 1, s);
		fputs(q, out);
		free(q);
	}
}

static void put_key_string(FILE *out, const char *key, const char *s)
{
	if (!s) {
		fprintf(out, "# %s: not set\n", key);
		return;
	}
	fprintf(out, "%s = ", key);
	put_string(out, s);
	fputc('\n', out);
}

static void put_array(FILE *out, const char *key, const char *const *v, size_t n)
{
	fprintf(out, "%s = [", key);
	for (size_t i = 0; i < n; i++) {
		fputs(i ? ", " : "", out);
		put_string(out, v[i]);
	}
	fputs("]\n", out);
}

/* true (everything), the list, or false (nothing). */
static void put_allow(FILE *out, const char *key, bool all, const struct strlist *l)
{
	if (all || !l->n)
		fprintf(out, "%s = %s\n", key, all ? "true" : "false");
	else
		put_array(out, key, l->v, l->n);
}

static void put_bool(FILE *out, const char *key, bool b)
{
	fprintf(out, "%s = %s\n", key, b ? "true" : "false");
}

static void put_double(FILE *out, const char *key, double d)
{
	char num[40];
	format_double(num, sizeof(num), d);
	fprintf(out, "%s = %s\n", key, num);
}

void config_print(const struct config *cfg, FILE *out)
{
	fputs("# kvmserver configuration (kvmserver --print-config); read it with -c FILE\n", out);
	if (cfg->program) {
		put_key_string(out, "program", cfg->program);
		size_t n = 0;
		while (cfg->argv[n + 1])
			n++;
		put_array(out, "args", (const char *const *)cfg->argv + 1, n);
	} else {
		fputs("# program: not set (`run PROGRAM ARGS...` on the command line)\n", out);
	}
	put_bool(out, "verbose", cfg->verbose);
	put_bool(out, "verbose-syscalls", cfg->verbose_syscalls);
	fprintf(out, "max-main-memory = %llu # MiB\n", (unsigned long long)(cfg->max_main_memory >> 20));
	fprintf(out, "max-address-space = %llu # MiB, 0 = no limit\n",
	        (unsigned long long)(cfg->max_address_space >> 20));
	put_double(out, "max-boot-time", cfg->max_boot_time);
	put_bool(out, "no-seccomp", cfg->no_seccomp);
	put_key_string(out, "syscall-path", (const char *[]){"trap", "ring", "auto"}[cfg->syscall_path]);
	fputs("# server mode\n", out);
	fprintf(out, "threads = %d\n", cfg->threads);
	put_bool(out, "ephemeral", cfg->ephemeral);
	fprintf(out, "warmup = %d\n", cfg->warmup);
	put_array(out, "warmup-request", cfg->warmup_requests.v, cfg->warmup_requests.n);
	put_double(out, "max-request-time", cfg->max_request_time);
	fprintf(out, "max-request-memory = %llu # MiB, 0 = no limit\n",
	        (unsigned long long)(cfg->max_request_memory >> 20));
	put_key_string(out, "metrics", cfg->metrics);
	put_bool(out, "log-requests", cfg->log_requests);
	put_double(out, "drain-timeout", cfg->drain_timeout);
	fputs("# permissions\n", out);
	put_allow(out, "allow-read", cfg->read_all, &cfg->allow_read);
	put_allow(out, "allow-write", cfg->write_all, &cfg->allow_write);
	put_allow(out, "allow-env", cfg->env_all, &cfg->allow_env);
	put_allow(out, "allow-connect", cfg->connect_all, &cfg->allow_connect);
	put_allow(out, "allow-listen", cfg->listen_all, &cfg->allow_listen);
	put_allow(out, "allow-run", cfg->run_all, &cfg->allow_run);
	put_array(out, "volume", cfg->volumes.v, cfg->volumes.n);
	put_key_string(out, "cwd", cfg->cwd);
	put_array(out, "env", cfg->env.v, cfg->env.n);
}

/* --- --help-all -------------------------------------------------------------------------- */
void config_print_keys(FILE *out)
{
	fputs("\nConfiguration file (-c FILE, TOML): every option above is a key of the same name,\n"
	      "at the top level; the command line overrides the file key by key.\n"
	      "  program = \"PATH\"            args = [\"ARG\", ...]    (as `run PROGRAM ARGS...`)\n",
	      out);
	int col = 0;
	for (const struct option *o = config_options; o->name; o++) {
		if (!config_file_key_ok(o->name))
			continue;
		const char *form = o->has_arg == no_argument         ? "true|false"
		                   : o->has_arg == optional_argument ? "true|[\"...\"]"
		                   : in(repeatable, o->name)         ? "[\"...\"]"
		                                                     : "VALUE";
		char item[80];
		snprintf(item, sizeof(item), "%s = %s", o->name, form);
		fprintf(out, col ? "%s\n" : "  %-38s", item);
		col = !col;
	}
	if (col)
		fputc('\n', out);
	fputs("Values: strings in quotes, numbers bare (MiB for memory, seconds for times), lists of\n"
	      "strings as arrays.  Unknown keys and wrong types are errors (FILE:LINE: message).\n"
	      "--print-config shows the effective configuration in this format.\n",
	      out);
}
