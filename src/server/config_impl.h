/* config_impl.h - shared by config.c (the command line) and config_file.c (-c FILE,
 * --print-config, --help-all); nothing else includes it. */
#ifndef SERVER_CONFIG_IMPL_H
#define SERVER_CONFIG_IMPL_H

#include <getopt.h>
#include <stdio.h>

#include "server/config.h"

/* The long options, {0} terminated: every one is also a key of the configuration file
 * except those config_file_key_ok refuses. */
extern const struct option config_options[];

/* Applies one option (its getopt code; arg NULL for flags and bare optional-argument
 * options).  arg must stay valid as long as cfg (list entries point into it) and may be
 * modified.  Errors are printed through config_error.  0 or -1. */
int config_option(struct config *cfg, int code, char *arg);

/* Where the option being applied comes from, for messages: a file and line, or the
 * command line (file NULL). */
void config_set_source(const char *file, int line);
/* One line: "FILE:LINE: message" for the file, "message" for the command line. */
void config_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* How an option is named in messages: "--name" or, in a file, "name". */
const char *config_dashes(void);

/* config_file.c */
bool config_file_key_ok(const char *name);
int config_file_load(struct config *cfg, const char *path);
void config_print(const struct config *cfg, FILE *out);
void config_print_keys(FILE *out);
void config_file_free(struct config *cfg);

#endif
