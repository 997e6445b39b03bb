#!/bin/bash
# gen-guest-syms.sh GUEST_ELF - print a C header with the trampoline's global symbols as
# offsets from the start of the code (the host adds KERNEL_VA + KAREA_CODE), in the manner
# of kvmtool's x86/bios/gen-offsets.sh.
set -e
echo "/* Generated from $1 by tools/gen-guest-syms.sh - do not edit. */"
echo "#ifndef GUEST_SYMS_H"
echo "#define GUEST_SYMS_H"
base=$(nm "$1" | awk '$3 == "guest_start" { print $1 }')
nm "$1" | while read -r addr type name; do
	case "$type" in T|t) ;; *) continue ;; esac
	case "$name" in guest_start|.*) continue ;; esac
	printf '#define GUEST_SYM_%s 0x%xULL\n' "$(echo "$name" | tr a-z A-Z)" $((0x${addr: -8} - 0x${base: -8}))
done
echo "#endif"
