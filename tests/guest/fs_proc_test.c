// The emulated /proc and /dev: /proc/self/exe, maps, fd/, status, stat, meminfo,
// cpuinfo, /proc/self itself, and /dev/null, /dev/zero, /dev/urandom, /dev/stdout.  The same checks
// hold natively.  Self-checking: one line per check, exit 1 on a failure.
// EXPECT_EXIT: 0
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#define CHECK CHECK_FRESH_ERRNO

/* The whole file (generated files have no size to trust), NUL-terminated. */
static char *slurp(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap + 1);
    for (;;) {
        if (n == cap)
            buf = realloc(buf, (cap *= 2) + 1);
        ssize_t r = read(fd, buf + n, cap - n);
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    buf[n] = 0;
    if (len)
        *len = n;
    return buf;
}

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

static int has_line(const char *text, const char *prefix)
{
    for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
        if (strncmp(l, prefix, strlen(prefix)) == 0)
            return 1;
    return 0;
}

/* Every maps line parses; is there the stack and an executable mapping of exe? */
static int check_maps(const char *maps, const char *exe, int *stack, int *text)
{
    *stack = *text = 0;
    int lines = 0;
    for (const char *l = maps; *l; lines++) {
        const char *nl = strchr(l, '\n');
        if (!nl)
            return -1;
        char line[4096], perms[8];
        snprintf(line, sizeof line, "%.*s", (int)(nl - l), l);
        unsigned long lo, hi, off, ino;
        unsigned maj, min;
        int name_at = 0;
        if (sscanf(line, "%lx-%lx %4s %lx %x:%x %lu %n", &lo, &hi, perms, &off, &maj, &min, &ino, &name_at) < 7 ||
            lo >= hi || strlen(perms) != 4)
            return -1;
        const char *name = name_at ? line + name_at : "";
        if (*name && name_at != 73)
            return -1; /* Linux pads the name to column 73 */
        if (strcmp(name, "[stack]") == 0)
            *stack = 1;
        if (strcmp(name, exe) == 0 && perms[2] == 'x')
            *text = 1;
        l = nl + 1;
    }
    return lines;
}

int main(int argc, char **argv)
{
    char exe[4096], buf[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    CHECK(n > 0);
    exe[n > 0 ? n : 0] = 0;
    CHECK(exe[0] == '/' && strcmp(base_name(exe), base_name(argv[0])) == 0);

    int fd = open("/proc/self/exe", O_RDONLY);
    CHECK(fd >= 0 && read(fd, buf, 4) == 4 && memcmp(buf, "\177ELF", 4) == 0);
    struct stat st, st2;
    CHECK(fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && stat(exe, &st2) == 0 && st.st_ino == st2.st_ino);
    CHECK(lstat("/proc/self/exe", &st) == 0 && S_ISLNK(st.st_mode));
    CHECK(stat("/proc/self/exe", &st) == 0 && S_ISREG(st.st_mode));

    /* /proc/self/fd */
    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    n = readlink(link, buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = 0;
    CHECK(n > 0 && strcmp(buf, exe) == 0);
    int pfd[2];
    CHECK(pipe(pfd) == 0);
    snprintf(link, sizeof link, "/proc/self/fd/%d", pfd[0]);
    n = readlink(link, buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = 0;
    CHECK(n > 0 && strncmp(buf, "pipe:[", 6) == 0);
    int fd2 = open(link, O_RDONLY); /* reopening a pipe end */
    CHECK(fd2 >= 0 && write(pfd[1], "x", 1) == 1 && read(fd2, buf, 1) == 1 && buf[0] == 'x');
    close(fd2);
    DIR *d = opendir("/proc/self/fd");
    CHECK(d != NULL);
    int seen[4] = { 0 }, others = 0;
    for (struct dirent *de; d && (de = readdir(d));) {
        if (de->d_name[0] == '.')
            continue;
        int k = atoi(de->d_name);
        if (k == 0 || k == 1 || k == 2)
            seen[k] = 1;
        else if (k == fd)
            seen[3] = 1;
        else
            others++;
        if (de->d_type != DT_LNK)
            others = -1000;
    }
    if (d)
        closedir(d);
    CHECK(seen[0] && seen[1] && seen[2] && seen[3] && others >= 3); /* + the pipe and the dir */
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    CHECK(lstat(link, &st) == 0 && S_ISLNK(st.st_mode));
    CHECK(stat(link, &st) == 0 && S_ISREG(st.st_mode));
    CHECK(open("/proc/self/fd/999", O_RDONLY) < 0 && errno == ENOENT);
    close(fd);

    /* /proc/self and its directories */
    n = readlink("/proc/self", buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = 0;
    CHECK(n > 0 && atoi(buf) == getpid());
    CHECK(stat("/proc/self", &st) == 0 && S_ISDIR(st.st_mode));
    CHECK(stat("/proc/self/fd", &st) == 0 && S_ISDIR(st.st_mode));
    CHECK(open("/proc/self/no-such-file", O_RDONLY) < 0 && errno == ENOENT);
    CHECK(open("/proc/self/maps", O_RDONLY | O_DIRECTORY) < 0 && errno == ENOTDIR);

    /* maps */
    char *maps = slurp("/proc/self/maps", NULL);
    int stack, text;
    CHECK(maps != NULL && check_maps(maps, exe, &stack, &text) > 3);
    CHECK(stack && text);
    free(maps);

    /* status, stat */
    char *status = slurp("/proc/self/status", NULL), want[64];
    snprintf(want, sizeof want, "Name:\t%.15s\n", base_name(argv[0]));
    CHECK(status && has_line(status, want));
    snprintf(want, sizeof want, "Pid:\t%d\n", getpid());
    CHECK(status && has_line(status, want) && has_line(status, "State:\t") && has_line(status, "Uid:\t"));
    CHECK(status && has_line(status, "Threads:\t1\n") && has_line(status, "VmRSS:"));
    free(status);
    char *pstat = slurp("/proc/self/stat", NULL);
    snprintf(want, sizeof want, "%d (", getpid());
    CHECK(pstat && strncmp(pstat, want, strlen(want)) == 0);
    free(pstat);

    /* meminfo, cpuinfo */
    char *mi = slurp("/proc/meminfo", NULL);
    unsigned long total = 0, avail = 0;
    CHECK(mi && sscanf(mi, "MemTotal: %lu kB", &total) == 1 && total > 0);
    char *av = mi ? strstr(mi, "MemAvailable:") : NULL;
    CHECK(av && sscanf(av, "MemAvailable: %lu kB", &avail) == 1 && avail <= total);
    free(mi);
    char *ci = slurp("/proc/cpuinfo", NULL);
    CHECK(ci && has_line(ci, "processor\t: 0") && has_line(ci, "flags"));
    free(ci);

    /* /dev */
    fd = open("/dev/null", O_RDWR);
    CHECK(fd >= 0 && write(fd, "abc", 3) == 3 && read(fd, buf, sizeof buf) == 0);
    CHECK(fstat(fd, &st) == 0 && S_ISCHR(st.st_mode));
    close(fd);
    fd = open("/dev/zero", O_RDONLY);
    memset(buf, 1, 64);
    CHECK(fd >= 0 && read(fd, buf, 64) == 64 && buf[0] == 0 && memcmp(buf, buf + 1, 63) == 0);
    close(fd);
    fd = open("/dev/urandom", O_RDONLY);
    CHECK(fd >= 0 && read(fd, buf, 32) == 32);
    close(fd);
    CHECK(access("/dev/null", R_OK | W_OK) == 0);
    n = readlink("/dev/stdin", buf, sizeof buf - 1);
    CHECK(n == 15 && memcmp(buf, "/proc/self/fd/0", 15) == 0);
    CHECK(stat("/dev/fd", &st) == 0 && S_ISDIR(st.st_mode));
    fflush(stdout);
    fd = open("/dev/stdout", O_WRONLY);
    CHECK(fd >= 0 && write(fd, "(written through /dev/stdout)\n", 30) == 30);
    close(fd);

    printf("%s\n", failures ? "SOME CHECKS FAILED" : "all checks passed");
    return failures ? 1 : 0;
}
