// The initial process state: argv, envp and the auxiliary vector as the kernel
// lays them out on the initial stack.  Only values that are the same natively
// and in the guest are printed; addresses are checked for consistency instead.
// Option-like arguments must reach the guest, not be parsed by kvmserver.
// VARIANTS: static static-pie
// ARGS: one "two words" '' --help -v $'tab\tand\nnewline' '$HOME' 'utf8 ünïcödé'
// ENV: KVMTEST_A=alpha
// ENV: KVMTEST_EMPTY=
// ENV: KVMTEST_SPACES=a b  c
// EXPECT_EXIT: 0
#define _GNU_SOURCE
#include <elf.h>
#include <link.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

extern const ElfW(Ehdr) __ehdr_start; /* provided by the linker */
extern void _start(void);

#include "check.h"
#define CHECK CHECK_PLAIN

static void print_str(const char *label, const char *s)
{
    printf("%s=", label);
    if (!s) {
        printf("(null)\n");
        return;
    }
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '\n')
            printf("\\n");
        else if (c == '\t')
            printf("\\t");
        else if (c < 0x20 || c == 0x7f)
            printf("\\x%02x", c);
        else
            putchar(c);
    }
    printf("\"\n");
}

struct phdr_info {
    const ElfW(Phdr) *phdr;
    size_t phnum;
    int calls;
};

static int phdr_cb(struct dl_phdr_info *info, size_t size, void *data)
{
    struct phdr_info *pi = data;
    if (pi->calls++ == 0) {
        pi->phdr = info->dlpi_phdr;
        pi->phnum = info->dlpi_phnum;
    }
    return 0;
}

int main(int argc, char **argv, char **envp)
{
    /* argv and environment */
    printf("argc=%d\n", argc);
    for (int i = 0; i < argc; i++) {
        char label[32];
        snprintf(label, sizeof label, "argv[%d]", i);
        print_str(label, argv[i]);
    }
    CHECK(argv[argc] == NULL);
    CHECK(envp == argv + argc + 1);
    int envc = 0;
    while (envp[envc])
        envc++;
    printf("envc=%d\n", envc);
    print_str("KVMTEST_A", getenv("KVMTEST_A"));
    print_str("KVMTEST_EMPTY", getenv("KVMTEST_EMPTY"));
    print_str("KVMTEST_SPACES", getenv("KVMTEST_SPACES"));
    print_str("KVMTEST_UNSET", getenv("KVMTEST_UNSET"));
    print_str("HOME", getenv("HOME"));
    print_str("LANG", getenv("LANG"));

    /* The x86-64 ABI: %rsp is 16-byte aligned at process entry and points at
     * argc, so argv (= %rsp + 8) is 8 mod 16. */
    CHECK(((uintptr_t)argv & 15) == 8);
    CHECK(((uintptr_t)__builtin_frame_address(0) & 15) == 0);
    volatile long double ld = 1.5L;
    volatile __int128 i128 = 3;
    CHECK(((uintptr_t)&ld & 15) == 0);
    CHECK(((uintptr_t)&i128 & 15) == 0);

    /* walk the auxiliary vector by hand: it follows envp's NULL */
    char **p = envp;
    while (*p)
        p++;
    ElfW(auxv_t) *auxv = (ElfW(auxv_t) *)(p + 1);
    int n = 0, consistent = 1, seen_pagesz = 0;
    for (; auxv[n].a_type != AT_NULL && n < 256; n++) {
        unsigned long t = auxv[n].a_type;
        if (t == AT_PAGESZ)
            seen_pagesz = 1;
        /* glibc rewrites AT_HWCAP*; compare the ones it passes through */
        switch (t) {
        case AT_PHDR: case AT_PHENT: case AT_PHNUM: case AT_PAGESZ: case AT_ENTRY:
        case AT_UID: case AT_EUID: case AT_GID: case AT_EGID: case AT_CLKTCK:
        case AT_SECURE: case AT_RANDOM: case AT_EXECFN: case AT_PLATFORM:
            if (getauxval(t) != auxv[n].a_un.a_val) {
                printf("auxv type %lu: getauxval disagrees with the stack\n", t);
                consistent = 0;
            }
        }
    }
    CHECK(n > 0 && n < 256);
    CHECK(seen_pagesz);
    CHECK(consistent);

    printf("AT_PAGESZ=%lu\n", getauxval(AT_PAGESZ));
    printf("AT_PHENT=%lu\n", getauxval(AT_PHENT));
    printf("AT_PHNUM=%lu\n", getauxval(AT_PHNUM));
    printf("AT_CLKTCK=%lu\n", getauxval(AT_CLKTCK));
    printf("AT_SECURE=%lu\n", getauxval(AT_SECURE));
    printf("AT_FLAGS=%lu\n", getauxval(AT_FLAGS));
    printf("AT_BASE=%lu\n", getauxval(AT_BASE)); /* no interpreter: 0 */
    print_str("AT_PLATFORM", (const char *)getauxval(AT_PLATFORM));
    print_str("AT_EXECFN", (const char *)getauxval(AT_EXECFN));
    CHECK(getauxval(AT_PAGESZ) == (unsigned long)sysconf(_SC_PAGESIZE));
    CHECK(getauxval(AT_PHENT) == sizeof(ElfW(Phdr)));
    CHECK(getauxval(AT_PHNUM) == __ehdr_start.e_phnum);
    CHECK(getauxval(AT_UID) == getuid());
    CHECK(getauxval(AT_EUID) == geteuid());
    CHECK(getauxval(AT_GID) == getgid());
    CHECK(getauxval(AT_EGID) == getegid());
    CHECK(getauxval(AT_HWCAP) != 0);
    CHECK(getauxval(AT_PHDR) != 0);
    CHECK(getauxval(AT_PHDR) ==
          (uintptr_t)&__ehdr_start + __ehdr_start.e_phoff);
    CHECK(getauxval(AT_ENTRY) == (uintptr_t)&_start);
    CHECK(getauxval(AT_ENTRY) == (uintptr_t)&__ehdr_start + __ehdr_start.e_entry ||
          getauxval(AT_ENTRY) == __ehdr_start.e_entry);

    struct phdr_info pi = {0};
    dl_iterate_phdr(phdr_cb, &pi);
    CHECK(pi.calls >= 1);
    CHECK((uintptr_t)pi.phdr == getauxval(AT_PHDR));
    CHECK(pi.phnum == getauxval(AT_PHNUM));

    /* AT_RANDOM: 16 readable bytes (glibc already used them for the stack
     * protector and pointer guard) */
    const unsigned char *rnd = (const unsigned char *)getauxval(AT_RANDOM);
    CHECK(rnd != NULL);
    if (rnd) {
        unsigned or_all = 0;
        for (int i = 0; i < 16; i++)
            or_all |= rnd[i];
        CHECK(or_all != 0);
    }
    /* AT_EXECFN and AT_PLATFORM strings live on the stack too */
    const char *execfn = (const char *)getauxval(AT_EXECFN);
    CHECK(execfn != NULL && strcmp(execfn, argv[0]) == 0);

    printf("%d failures\n", failures);
    return failures ? 1 : 0;
}
