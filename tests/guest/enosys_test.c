// Syscall numbers nobody implements return -ENOSYS to the guest; the guest
// keeps running.
// EXPECT_EXIT: 0
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static int failures;

static void try(long nr)
{
    errno = 0;
    long r = syscall(nr, 1, 2, 3, 4, 5, 6);
    int ok = r == -1 && errno == ENOSYS;
    printf("%s syscall(%ld) = %ld errno=%s\n", ok ? "ok  " : "FAIL", nr, r,
           errno ? strerrorname_np(errno) : "0");
    failures += !ok;
}

int main(void)
{
    try(1000);
    try(400);    /* the hole between 334 (rseq) and 424 (pidfd_send_signal) */
    try(4096);
    try(100000);
    try(500);
    try(-1);
    /* the raw instruction, with the return value in rax, not via errno */
    long rax;
    __asm__ volatile("syscall" : "=a"(rax) : "a"(1000L) : "rcx", "r11", "memory");
    printf("%s raw syscall(1000) -> rax=%ld\n", rax == -ENOSYS ? "ok  " : "FAIL", rax);
    failures += rax != -ENOSYS;
    printf("still running: getpid() > 0 is %s\n", getpid() > 0 ? "true" : "false");
    printf("%d failures\n", failures);
    return failures ? 1 : 0;
}
