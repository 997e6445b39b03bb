// Pseudo-terminals the guest opens itself (under --allow-all): posix_openpt, grantpt,
// unlockpt, ptsname, the slave opened by its name and by TIOCGPTPEER, openpty; a line
// written on the master is read on the slave, the slave's echo and output on the master;
// termios (raw mode) and the window size through the slave; isatty and ttyname.  Pty
// numbers differ between runs, so none is printed.
// VARIANTS: static static-pie
// EXPECT_EXIT: 0
#define _GNU_SOURCE
#include <fcntl.h>
#include <pty.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "check.h"
#define CHECK CHECK_FRESH_ERRNO

static void read_all(int fd, char *buf, size_t size)
{
    size_t n = 0;
    memset(buf, 0, size);
    while (n < size - 1) {
        ssize_t r = read(fd, buf + n, size - 1 - n);
        if (r <= 0)
            break;
        n += (size_t)r;
        if (memchr(buf, '\n', n))
            break;
    }
}

int main(void)
{
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    CHECK(m >= 0);
    CHECK(grantpt(m) == 0 && unlockpt(m) == 0);
    char name[64];
    CHECK(ptsname_r(m, name, sizeof name) == 0 && strncmp(name, "/dev/pts/", 9) == 0);
    int s = open(name, O_RDWR | O_NOCTTY);
    CHECK(s >= 0);
    CHECK(isatty(s) && isatty(m));
    char tn[64] = {0};
    CHECK(ttyname_r(s, tn, sizeof tn) == 0 && strcmp(tn, name) == 0);

    struct termios t;
    CHECK(tcgetattr(s, &t) == 0);
    CHECK(write(m, "hello pty\n", 10) == 10);
    char buf[64];
    read_all(s, buf, sizeof buf);
    printf("slave read: '%s'\n", strtok(buf, "\n"));
    read_all(m, buf, sizeof buf); // the echo
    printf("master echo: '%s'\n", strtok(buf, "\r\n"));

    cfmakeraw(&t);
    CHECK(tcsetattr(s, TCSANOW, &t) == 0);
    struct termios t2;
    CHECK(tcgetattr(s, &t2) == 0 && !(t2.c_lflag & ECHO) && !(t2.c_lflag & ICANON));
    CHECK(write(s, "raw out\n", 8) == 8);
    read_all(m, buf, sizeof buf);
    printf("master read: '%s'\n", strtok(buf, "\n"));

    struct winsize ws = {.ws_row = 42, .ws_col = 132};
    CHECK(ioctl(m, TIOCSWINSZ, &ws) == 0);
    struct winsize w2 = {0};
    CHECK(ioctl(s, TIOCGWINSZ, &w2) == 0 && w2.ws_row == 42 && w2.ws_col == 132);
    CHECK(tcflush(s, TCIOFLUSH) == 0);

    int peer = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
    CHECK(peer >= 0 && isatty(peer) && fcntl(peer, F_GETFD) == FD_CLOEXEC);
    CHECK(write(peer, "via peer", 8) == 8);
    memset(buf, 0, sizeof buf);
    CHECK(read(m, buf, sizeof buf) == 8);
    printf("peer wrote: '%s'\n", buf);
    close(peer);
    close(s);
    close(m);

    int am = -1, as = -1;
    CHECK(openpty(&am, &as, name, NULL, &ws) == 0);
    if (am < 0) {
        printf("some checks failed\n");
        return 1;
    }
    CHECK(ioctl(as, TIOCGWINSZ, &w2) == 0 && w2.ws_col == 132);
    CHECK(write(am, "again\n", 6) == 6);
    read_all(as, buf, sizeof buf);
    printf("openpty slave read: '%s'\n", strtok(buf, "\n"));
    close(am);
    close(as);
    CHECK(open("/dev/pts/not-a-number", O_RDWR) == -1 && errno == ENOENT);
    printf("%s\n", failures ? "some checks failed" : "all checks passed");
    return failures ? 1 : 0;
}
