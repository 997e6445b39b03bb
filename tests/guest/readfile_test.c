// Reads the file named on the command line with stdio (fopen/fgets/fread) and
// prints what it found: line count, byte count, longest line, a checksum, and
// the first and last lines.  The runner creates the files (MKFILE).
// MKFILE: readfile-small.txt first line\nsecond line\n\nlast line without newline
// MKFILE: readfile-big.txt @LINES:20000@
// CASE: @TMP@/readfile-small.txt -> 0
// CASE: @TMP@/readfile-big.txt -> 0
// CASE: @TMP@/no-such-file.txt -> 2
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: readfile_test FILE\n");
        return 1;
    }
    FILE *f = fopen(argv[1], "r");
    if (!f) {
        printf("fopen: %s\n", strerror(errno));
        return 2;
    }
    char line[4096], first[4096] = "", last[4096] = "";
    unsigned long lines = 0, longest = 0;
    uint32_t sum = 0;
    while (fgets(line, sizeof line, f)) {
        size_t n = strlen(line);
        if (lines == 0)
            strcpy(first, line);
        strcpy(last, line);
        lines++;
        if (n > longest)
            longest = n;
        for (size_t i = 0; i < n; i++)
            sum = sum * 33 + (unsigned char)line[i];
    }
    if (ferror(f)) {
        printf("read error\n");
        return 3;
    }
    long bytes = ftell(f);
    /* second pass with fread in odd-sized chunks must see the same bytes */
    rewind(f);
    char buf[777];
    size_t n, total = 0;
    uint32_t sum2 = 0;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
        for (size_t i = 0; i < n; i++)
            sum2 = sum2 * 33 + (unsigned char)buf[i];
        total += n;
    }
    fclose(f);
    first[strcspn(first, "\n")] = 0;
    last[strcspn(last, "\n")] = 0;
    printf("lines=%lu bytes=%ld longest=%lu\n", lines, bytes, longest);
    printf("first=\"%s\"\nlast=\"%s\"\n", first, last);
    printf("checksum=%08x fread: bytes=%zu checksum=%08x %s\n", (unsigned)sum, total,
           (unsigned)sum2, sum == sum2 && (long)total == bytes ? "same" : "DIFFERENT");
    return sum == sum2 && (long)total == bytes ? 0 : 4;
}
