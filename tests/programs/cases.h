/* tests/programs/cases.h - the case runner of the test programs that are a list of named
 * cases (pthreads_prog, signals_prog): `PROG [CASE...]` runs the named cases (default: all)
 * in the list's order and exits with the first non-zero result. */
#include <stdio.h>
#include <string.h>

struct test_case {
    const char *name;
    int (*fn)(void);
};

static int run_cases(const struct test_case *cases, int ncases, int argc, char **argv)
{
    for (int i = 0; i < ncases; i++) {
        int want = argc < 2;
        for (int j = 1; j < argc; j++)
            want |= strcmp(argv[j], cases[i].name) == 0;
        if (!want)
            continue;
        int r = cases[i].fn();
        fflush(stdout);
        if (r)
            return r;
    }
    return 0;
}
