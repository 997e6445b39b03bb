#!/bin/bash
# gen-syscall-names.sh UNISTD_64_H - print a C table of x86-64 syscall names indexed by
# number, from the kernel's uapi header, so --verbose can name calls we do not implement.
set -e
echo "/* Generated from $1 by tools/gen-syscall-names.sh - do not edit. */"
echo "static const char *const syscall_names[] = {"
sed -n 's/^#define __NR_\([a-z0-9_]*\) \([0-9]*\)$/\t[\2] = "\1",/p' "$1"
echo "};"
