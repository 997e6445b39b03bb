// Reads stdin to EOF with read(2) in small chunks and echoes it uppercased,
// then reports the byte and line counts.  The runner feeds it a short text
// and a larger file.
// MKFILE: stdin-big.txt @LINES:5000@
// CASE[text]: -> 0
// CASE[big]: -> 0
// STDIN: hello, stdin!\nsecond line\n\tmixed CASE 123 äöü\nno newline at the end
// STDIN_FILE[big]: @TMP@/stdin-big.txt
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(void)
{
    char buf[61]; /* odd size: chunks do not line up with lines */
    unsigned long bytes = 0, lines = 0, reads = 0;
    unsigned sum = 0;
    ssize_t n;
    while ((n = read(0, buf, sizeof buf)) > 0) {
        reads++;
        for (ssize_t i = 0; i < n; i++) {
            unsigned char c = (unsigned char)buf[i];
            buf[i] = (char)(c < 128 ? toupper(c) : c);
            lines += c == '\n';
            sum = sum * 31 + c;
        }
        bytes += (unsigned long)n;
        if (write(1, buf, (size_t)n) != n)
            return 2;
    }
    if (n < 0) {
        perror("read");
        return 1;
    }
    printf("\n-- %lu bytes, %lu newlines, checksum %08x, reads>0: %s\n", bytes, lines, sum,
           reads > 0 ? "yes" : "no");
    /* EOF again */
    printf("read after EOF: %zd\n", read(0, buf, sizeof buf));
    return 0;
}
