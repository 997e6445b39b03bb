# kvmserver - one GNU Makefile.  `make` builds build/kvmserver; `make SAN=1` builds the
# ASan+UBSan variant in build-san/; `make test` runs the whole suite; `make demo` runs the
# bundled example inside a KVM guest.  VERBOSE=1 shows commands, WERROR=0 drops -Werror.

CC      ?= gcc
SAN     ?= 0
ifeq ($(SAN),1)
BUILD   ?= build-san
SANFLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else
BUILD   ?= build
SANFLAGS =
endif

WARNINGS += -Wall -Wextra -Wshadow -Wpointer-arith -Wstrict-prototypes -Wmissing-prototypes
WARNINGS += -Wno-unused-parameter -Wvla -Wformat=2
ifneq ($(WERROR),0)
WARNINGS += -Werror
endif

CFLAGS  ?= -O2 -g
CFLAGS  += -std=gnu17 $(WARNINGS) $(SANFLAGS) -MMD -MP -Isrc -I$(BUILD)/gen -D_GNU_SOURCE
LDFLAGS += $(SANFLAGS)
LDLIBS  += -lpthread -lrt -lsystemd -lseccomp

ifeq ($(VERBOSE),1)
Q =
else
Q = @
endif

.DELETE_ON_ERROR:
.PHONY: all clean test unit check-layers demo fuzz fuzz-long soak-long check-format deps compat

all: $(BUILD)/kvmserver

# --- the guest trampoline: assembled, linked at KERNEL_VA, flattened, embedded --------------
GUEST_SRC = src/guest/entry.S
$(BUILD)/guest/guest.elf: $(GUEST_SRC) src/guest/guest.lds src/vmm/layout.h
	@mkdir -p $(dir $@)
	$(Q)$(CC) -c -Isrc -nostdlib -fno-pic -o $(BUILD)/guest/entry.o src/guest/entry.S
	$(Q)ld -T src/guest/guest.lds -nostdlib -o $@ $(BUILD)/guest/entry.o
$(BUILD)/guest/guest.bin: $(BUILD)/guest/guest.elf
	$(Q)objcopy -O binary $< $@
# The guest's vDSO: position independent, no relocations, embedded like the trampoline.
$(BUILD)/guest/vdso.so: src/guest/vdso.c src/guest/vdso_data.h src/guest/vdso.lds src/guest/vdso.ver
	@mkdir -p $(dir $@)
	$(Q)$(CC) -O2 -fPIC -Isrc -nostdlib -shared -fno-stack-protector -fno-asynchronous-unwind-tables \
		-ffreestanding -Wl,-T,src/guest/vdso.lds -Wl,--version-script=src/guest/vdso.ver \
		-Wl,--hash-style=both -Wl,-soname=linux-vdso.so.1 -Wl,--build-id=none -Wl,-z,noexecstack -o $@ $<
	$(Q)! readelf -r $@ | grep -q R_X86_64 || { echo "vdso.so must have no relocations"; rm -f $@; exit 1; }
$(BUILD)/gen/guest_syms.h: $(BUILD)/guest/guest.elf tools/gen-guest-syms.sh
	@mkdir -p $(dir $@)
	$(Q)bash tools/gen-guest-syms.sh $< > $@

# --- libvmm.a: the KVM guest core -------------------------------------------------------------
VMM_OBJS += kvm.o vcpu.o exit.o cpu.o paging.o gmem.o cow.o filemap.o vdso.o elf.o guest_blob.o dirtycount.o ring.o
VMM_OBJS += image.o
VMM_OBJS += vmcopy.o kstats.o
VMM_OBJS := $(addprefix $(BUILD)/vmm/,$(VMM_OBJS))
$(BUILD)/vmm/guest_blob.o: src/vmm/guest_blob.S $(BUILD)/guest/guest.bin $(BUILD)/guest/vdso.so
	@mkdir -p $(dir $@)
	$(Q)$(CC) -c -DGUEST_BIN='"$(BUILD)/guest/guest.bin"' -DVDSO_SO='"$(BUILD)/guest/vdso.so"' -o $@ $<
$(BUILD)/vmm/cpu.o: $(BUILD)/gen/guest_syms.h
$(BUILD)/vmm/vcpu.o: $(BUILD)/gen/guest_syms.h
$(BUILD)/vmm/exit.o: $(BUILD)/gen/guest_syms.h
$(BUILD)/vmm/ring.o: $(BUILD)/gen/guest_syms.h
$(BUILD)/libvmm.a: $(VMM_OBJS)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

# --- libsys.a: the Linux emulation (src/sys and its area folders) and server mode's
# template and request VMs (src/requestvm); every .c file there is part of it.
SYS_SRCS := $(sort $(wildcard src/sys/*.c src/sys/*/*.c src/requestvm/*.c))
SYS_OBJS := $(patsubst src/%.c,$(BUILD)/%.o,$(SYS_SRCS))
$(BUILD)/sys/table.o: $(BUILD)/gen/syscall_names.h
$(BUILD)/gen/syscall_names.h: tools/gen-syscall-names.sh
	@mkdir -p $(dir $@)
	$(Q)bash tools/gen-syscall-names.sh /usr/include/x86_64-linux-gnu/asm/unistd_64.h > $@
$(BUILD)/libsys.a: $(SYS_OBJS)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

# --- util and the server front end -----------------------------------------------------------
UTIL_OBJS += log.o toml.o toml_value.o sort.o
UTIL_OBJS := $(addprefix $(BUILD)/util/,$(UTIL_OBJS))
SERVER_OBJS += main.o config.o config_file.o server.o warmup.o metrics.o lifecycle.o confine.o
SERVER_OBJS += snapshot.o
SERVER_OBJS := $(addprefix $(BUILD)/server/,$(SERVER_OBJS))

$(BUILD)/kvmserver: $(SERVER_OBJS) $(BUILD)/libsys.a $(BUILD)/libvmm.a $(UTIL_OBJS)
	@echo "  LD    $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/%.o: src/%.c
	@mkdir -p $(dir $@)
	@echo "  CC    $<"
	$(Q)$(CC) $(CFLAGS) -c -o $@ $<

# --- tests -------------------------------------------------------------------------------------
# Each unit test links only the objects it tests (UNIT_LINK_name); a test that needs more
# than its own code is testing the wrong unit.
UNIT_TESTS := $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,$(wildcard tests/unit/*_test.c))
UNIT_LINK_elf_test := vmm/elf.o
UNIT_LINK_paging_test := vmm/paging.o
UNIT_LINK_toml_test := util/toml.o util/toml_value.o
UNIT_LINK_sort_test := util/sort.o
UNIT_LINK_vma_test := sys/memory/vma.o
UNIT_LINK_fdtab_test := sys/files/fdtab.o
UNIT_LINK_faultsig_test := sys/signals/faultsig.o
UNIT_LINK_policy_test := sys/policy/policy.o sys/policy/policy_net.o sys/policy/policy_run.o sys/net/sockopt_list.o util/log.o
.SECONDEXPANSION:
$(BUILD)/tests/unit/%: tests/unit/%.c tests/unit/test_util.h $$(addprefix $(BUILD)/,$$(UNIT_LINK_$$*))
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -Itests/unit $(LDFLAGS) -o $@ $< $(addprefix $(BUILD)/,$(UNIT_LINK_$*)) -lm

unit: $(UNIT_TESTS)

# libFuzzer targets for the ELF, TOML and snapshot parsers (clang).
fuzz: $(BUILD)/fuzz/elf_fuzz $(BUILD)/fuzz/toml_fuzz $(BUILD)/fuzz/snapshot_fuzz
$(BUILD)/fuzz/elf_fuzz: tests/fuzz/elf_fuzz.c src/vmm/elf.c src/vmm/elf.h
	@mkdir -p $(dir $@)
	$(Q)clang -std=gnu17 -g -O1 -Isrc -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined -Itests/fuzz -o $@ tests/fuzz/elf_fuzz.c src/vmm/elf.c
$(BUILD)/fuzz/toml_fuzz: tests/fuzz/toml_fuzz.c src/util/toml.c src/util/toml_value.c src/util/toml.h
	@mkdir -p $(dir $@)
	$(Q)clang -std=gnu17 -g -O1 -Isrc -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined -Itests/fuzz -o $@ tests/fuzz/toml_fuzz.c src/util/toml.c src/util/toml_value.c -lm
$(BUILD)/fuzz/snapshot_fuzz: tests/fuzz/snapshot_fuzz.c src/requestvm/snapfile.c src/requestvm/snapfile.h
	@mkdir -p $(dir $@)
	$(Q)clang -std=gnu17 -g -O1 -Isrc -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined -Itests/fuzz -o $@ tests/fuzz/snapshot_fuzz.c src/requestvm/snapfile.c

# Longer runs of two suite stages: the syscall fuzzer under the ASan build (3000 request
# VMs and 200 separate runs; tests/vm/fuzz-tests) and the soak with crashing and hanging
# requests (20000 connections; tests/vm/soak-tests).
fuzz-long:
	$(Q)$(MAKE) -j2 all && $(MAKE) SAN=1 BUILD=build-san -j2 all && tests/vm/fuzz-tests --long
soak-long:
	$(Q)$(MAKE) -j2 all && tests/vm/soak-tests --long

deps:
	$(Q)tools/install-deps

# The README's two commands.
demo: deps all
	$(Q)tools/demo

test: deps
	$(Q)tests/run

# CPython's own test suite natively and under kvmserver (slow: an hour or more on 2 cores).
compat: all
	$(Q)tests/compat/cpython-suite $(COMPAT_MODULES)

check-format:
	$(Q)clang-format --dry-run --Werror src/*/*.c src/*/*.h src/*/*/*.c src/*/*/*.h tests/unit/*.c

clean:
	rm -rf build build-san

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# docs/design.md's folder map against the objects' symbols (also a stage of `make test`).
check-layers: all
	$(Q)/usr/bin/python3 tools/check-layers $(BUILD)
