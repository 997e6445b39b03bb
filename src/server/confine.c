/* confine.c - the host system calls kvmserver keeps once the program is loaded (seccomp).
 *
 * A guest that finds a bug in the emulation should find a small host surface behind it.
 * The filter goes on after the program's ELF is loaded and before its first instruction
 * runs; everything after that point is guest-driven (the boot run, the freeze, the
 * request VMs and their resets), so each group below says which part of the emulation
 * needs it.  Anything else kills the whole process (SCMP_ACT_KILL_PROCESS): a call outside
 * this list means kvmserver itself is doing something it never should.
 *
 * KVMSERVER_SECCOMP=off (or --no-seccomp) leaves the process unconfined;
 * KVMSERVER_SECCOMP=report logs each forbidden call's number and fails it with ENOSYS
 * instead of killing, to find what a change needs. */
#include <errno.h>
#include <linux/kcmp.h>
#include <linux/netlink.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <termios.h>
#include <ucontext.h>
#include <unistd.h>

#include "server/confine.h"
#include "util/log.h"

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif

/* Linux 6.6's fchmodat with flags (dir.c), newer than libseccomp's tables here. */
#define NR_FCHMODAT2 452

/* Plain calls, allowed with any arguments, grouped by who needs them. */
static const int allowed[] = {
        /* Memory: libc's allocator, guest memory (memfd mappings, copy-on-write resets,
         * madvise to drop pages), thread stacks.  Executable mappings are refused below. */
        SCMP_SYS(brk),
        SCMP_SYS(munmap),
        SCMP_SYS(mremap),
        SCMP_SYS(madvise),
        SCMP_SYS(msync),
        SCMP_SYS(mincore),
        SCMP_SYS(memfd_create),
        SCMP_SYS(fallocate),
        SCMP_SYS(ftruncate),

        /* Guest file I/O passed through to host fds that the policy opened (fs.c, io.c,
         * dir.c, procfs.c), and paths the policy resolves (openat2 and the *at calls on its
         * directory fds); open/openat stay for libc's own reads (/proc/self/statm
         * for the RSS line, sysconf). */
        SCMP_SYS(read),
        SCMP_SYS(write),
        SCMP_SYS(pread64),
        SCMP_SYS(pwrite64),
        SCMP_SYS(readv),
        SCMP_SYS(writev),
        SCMP_SYS(preadv),
        SCMP_SYS(pwritev),
        SCMP_SYS(preadv2),
        SCMP_SYS(pwritev2),
        SCMP_SYS(lseek),
        SCMP_SYS(close),
        SCMP_SYS(close_range),
        SCMP_SYS(dup),
        SCMP_SYS(dup2),
        SCMP_SYS(dup3),
        SCMP_SYS(openat),
        SCMP_SYS(openat2),
        SCMP_SYS(open),
        SCMP_SYS(fstat),
        SCMP_SYS(newfstatat),
        SCMP_SYS(statx),
        SCMP_SYS(stat),
        SCMP_SYS(lstat),
        SCMP_SYS(fstatfs),
        SCMP_SYS(statfs),
        SCMP_SYS(getdents64),
        SCMP_SYS(readlinkat),
        SCMP_SYS(readlink),
        SCMP_SYS(faccessat),
        SCMP_SYS(faccessat2),
        SCMP_SYS(access),
        SCMP_SYS(mkdirat),
        SCMP_SYS(unlinkat),
        SCMP_SYS(unlink), /* libc's unlink: --metrics removes a stale socket file */
        SCMP_SYS(rename), /* libc's rename: a snapshot is written to a temporary name first */
        SCMP_SYS(renameat),
        SCMP_SYS(renameat2),
        SCMP_SYS(linkat),
        SCMP_SYS(symlinkat),
        SCMP_SYS(mknodat),
        SCMP_SYS(fchmod),
        SCMP_SYS(fchmodat),
        NR_FCHMODAT2,
        SCMP_SYS(fchown),
        SCMP_SYS(fchownat),
        SCMP_SYS(utimensat),
        SCMP_SYS(fsync),
        SCMP_SYS(fdatasync),
        SCMP_SYS(sync),
        SCMP_SYS(syncfs),
        SCMP_SYS(sync_file_range),
        SCMP_SYS(flock),
        SCMP_SYS(fadvise64),
        SCMP_SYS(sendfile),
        SCMP_SYS(copy_file_range),
        SCMP_SYS(splice),
        SCMP_SYS(tee),
        SCMP_SYS(fcntl),
        SCMP_SYS(pipe2),
        SCMP_SYS(pipe),
        SCMP_SYS(umask),
        SCMP_SYS(getcwd),
        SCMP_SYS(fchdir),
        SCMP_SYS(chdir),

        /* Guest sockets under the network policy (net.c, policy_net.c); socket() itself
         * is limited to the families the policy knows, below. */
        SCMP_SYS(bind),
        SCMP_SYS(listen),
        SCMP_SYS(accept),
        SCMP_SYS(accept4),
        SCMP_SYS(connect),
        SCMP_SYS(shutdown),
        SCMP_SYS(sendto),
        SCMP_SYS(recvfrom),
        SCMP_SYS(sendmsg),
        SCMP_SYS(recvmsg),
        SCMP_SYS(sendmmsg),
        SCMP_SYS(recvmmsg),
        SCMP_SYS(getsockopt),
        SCMP_SYS(setsockopt),
        SCMP_SYS(getsockname),
        SCMP_SYS(getpeername),

        /* Waiting: the scheduler's wait for events (sched.c, poll.c, epoll.c), futexes of
         * our own threads, sleeps. */
        SCMP_SYS(poll),
        SCMP_SYS(ppoll),
        SCMP_SYS(select),
        SCMP_SYS(pselect6),
        SCMP_SYS(epoll_create1),
        SCMP_SYS(epoll_ctl),
        SCMP_SYS(epoll_wait),
        SCMP_SYS(epoll_pwait),
        SCMP_SYS(epoll_pwait2),
        SCMP_SYS(futex),
        SCMP_SYS(nanosleep),
        SCMP_SYS(clock_nanosleep),
        SCMP_SYS(pause),
        SCMP_SYS(sched_yield),
        /* The kernel's own continuation of a timed wait (poll, nanosleep) that a signal
         * without a handler stopped, e.g. while the ASan build's exit check stops the
         * threads: seen with the main thread waiting for a pre-fork server's last
         * processes (proc_end_first_and_wait). */
        SCMP_SYS(restart_syscall),

        /* Guest eventfds and timerfds are host ones (event.c, fdclone.c); the vCPU's
         * deadline and preemption tick are POSIX timers signalling its thread (vcpu.c). */
        SCMP_SYS(eventfd2),
        SCMP_SYS(timerfd_create),
        SCMP_SYS(timerfd_settime),
        SCMP_SYS(timerfd_gettime),
        SCMP_SYS(timer_create),
        SCMP_SYS(timer_settime),
        SCMP_SYS(timer_gettime),
        SCMP_SYS(timer_delete),
        SCMP_SYS(timer_getoverrun),

        /* Signals: the vCPU thread blocks and takes its two kick signals; libc's abort. */
        SCMP_SYS(rt_sigaction),
        SCMP_SYS(rt_sigprocmask),
        SCMP_SYS(rt_sigreturn),
        SCMP_SYS(rt_sigtimedwait),
        SCMP_SYS(rt_sigpending),
        SCMP_SYS(sigaltstack),

        /* Time and identity the emulation reports to the guest (time.c, info.c) or reads
         * for itself. */
        SCMP_SYS(clock_gettime),
        SCMP_SYS(clock_getres),
        SCMP_SYS(gettimeofday),
        SCMP_SYS(time),
        SCMP_SYS(getrandom),
        SCMP_SYS(uname),
        SCMP_SYS(sysinfo),
        SCMP_SYS(getrusage),
        SCMP_SYS(times),
        SCMP_SYS(getpid),
        SCMP_SYS(gettid),
        SCMP_SYS(getppid),
        SCMP_SYS(getuid),
        SCMP_SYS(geteuid),
        SCMP_SYS(getgid),
        SCMP_SYS(getegid),
        SCMP_SYS(getgroups),
        SCMP_SYS(getresuid),
        SCMP_SYS(getresgid),
        SCMP_SYS(getpgrp),
        SCMP_SYS(getpgid),
        SCMP_SYS(getsid),
        SCMP_SYS(getpriority),
        SCMP_SYS(getrlimit),
        SCMP_SYS(prlimit64),
        SCMP_SYS(sched_getaffinity),
        SCMP_SYS(getcpu),
        /* The ring thread kept off the vCPU thread's CPU (vmm/ring.c, avoid_vcpu_cpu). */
        SCMP_SYS(sched_setaffinity),

        /* Worker threads (server.c): glibc's pthread_create and thread exit.  clone itself
         * is allowed for threads only, below. */
        SCMP_SYS(set_robust_list),
        SCMP_SYS(rseq),
        SCMP_SYS(set_tid_address),
        SCMP_SYS(exit),
        SCMP_SYS(exit_group),
        SCMP_SYS(membarrier),
};

#ifdef SANITIZED
/* The ASan/UBSan build (make SAN=1) only: LeakSanitizer's check at exit stops the world
 * from a helper task (clone without CLONE_THREAD) that ptraces our threads and signals
 * them; its report must get out, else a leak would die silently of SIGSYS.  (GCC's
 * sanitizers symbolize in-process, with what the groups above allow.) */
static const int allowed_sanitizer[] = {
        SCMP_SYS(clone), SCMP_SYS(ptrace), SCMP_SYS(wait4), SCMP_SYS(prctl),
        SCMP_SYS(kill),  SCMP_SYS(tgkill), SCMP_SYS(tkill), SCMP_SYS(getdents), /* its /proc/self/task */
};
#endif

/* (KVM's requests are matched by their type, KVMIO, in add_rules.)  The terminal, pty and socket requests sys_ioctl passes to a host fd (io.c, procfs.c). */
static const unsigned long tty_ioctls[] = {
        TCGETS,     TCSETS,     TCSETSW,  TCSETSF, TIOCGWINSZ, TIOCSWINSZ, FIONREAD, TIOCOUTQ, FIONBIO,     TIOCGPTN,
        TIOCGPTLCK, TIOCSPTLCK, TIOCGPKT, TIOCPKT, TCFLSH,     TCXONC,     TCSBRK,   TCSBRKP,  TIOCGPTPEER,
};

static void sigsys_report(int sig, siginfo_t *si, void *uctx)
{
	char msg[96];
	int n = snprintf(msg, sizeof(msg), "kvmserver: seccomp: host syscall %d is not allowed (failed with ENOSYS)\n",
	                 si->si_syscall);
	if (n > 0 && write(2, msg, (size_t)n) < 0) {
		/* nothing more to do: the report is best effort */
	}
	((ucontext_t *)uctx)->uc_mcontext.gregs[REG_RAX] = -ENOSYS;
}

static int add_rules(scmp_filter_ctx ctx, pid_t self)
{
	int err = 0;
	for (size_t i = 0; !err && i < sizeof(allowed) / sizeof(allowed[0]); i++)
		err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allowed[i], 0);
	/* Memory, but never executable: kvmserver runs no code it did not start with. */
	if (!err)
		err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
		                       SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	if (!err)
		err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
		                       SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
#ifdef SANITIZED
	for (size_t i = 0; !err && i < sizeof(allowed_sanitizer) / sizeof(allowed_sanitizer[0]); i++)
		err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allowed_sanitizer[i], 0);
#else
	/* Threads only (CLONE_THREAD): no new processes. */
	if (!err)
		err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
		                       SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));
	/* Signals to ourselves only: libc's abort and raise. */
	if (!err)
		err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1,
		                       SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)self));
	if (!err)
		err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(kill), 1,
		                       SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)self));
#endif
	/* Which epoll sets hold a listener (template.c): kcmp of our own fds, that kind only. */
	if (!err)
		err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(kcmp), 3, SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)self),
		                       SCMP_A1(SCMP_CMP_EQ, (scmp_datum_t)self), SCMP_A2(SCMP_CMP_EQ, KCMP_EPOLL_TFD));
	/* glibc's pthread_create tries clone3 first, whose flags seccomp cannot see (they are
	 * behind a pointer); ENOSYS makes it fall back to clone. */
	if (!err)
		err = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	/* Guest sockets: only the families the network policy handles (net.c). */
	static const int families[] = {AF_UNIX, AF_INET, AF_INET6};
	for (size_t i = 0; !err && i < sizeof(families) / sizeof(families[0]); i++)
		err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
		                       SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)families[i]));
	/* sock_diag (NETLINK_SOCK_DIAG, read-only): a snapshot finds each socket pair's peer
	 * (src/requestvm/snapsave.c).  No other netlink: the guest has none. */
	if (!err)
		err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 2, SCMP_A0(SCMP_CMP_EQ, AF_NETLINK),
		                       SCMP_A2(SCMP_CMP_EQ, NETLINK_SOCK_DIAG));
	if (!err)
		err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socketpair), 1,
		                       SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)AF_UNIX));
	/* ioctl: KVM's, all of type KVMIO in bits 8-15 (new request VMs and vCPUs, KVM_RUN,
	 * registers, dirty logs), and the terminal/pty/socket requests sys_ioctl passes
	 * through (io.c).  The request is an int to the kernel: compare its low 32 bits. */
	if (!err)
		err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
		                       SCMP_A1(SCMP_CMP_MASKED_EQ, 0xff00, (scmp_datum_t)KVMIO << 8));
	for (size_t i = 0; !err && i < sizeof(tty_ioctls) / sizeof(tty_ioctls[0]); i++)
		err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
		                       SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, (scmp_datum_t)tty_ioctls[i]));
	return err;
}

int confine_process(bool enabled)
{
	const char *env = getenv("KVMSERVER_SECCOMP");
	if (!enabled || (env && strcmp(env, "off") == 0))
		return 0;
	bool report = env && strcmp(env, "report") == 0;
	if (report) {
		struct sigaction sa = {.sa_sigaction = sigsys_report, .sa_flags = SA_SIGINFO};
		sigaction(SIGSYS, &sa, NULL);
	}
	scmp_filter_ctx ctx = seccomp_init(report ? SCMP_ACT_TRAP : SCMP_ACT_KILL_PROCESS);
	if (!ctx) {
		log_msg("seccomp: cannot create the filter");
		return -ENOMEM;
	}
	/* TSYNC: every thread of ours gets the filter, also those started before it (the
	 * signal thread of lifecycle.c), not only the caller. */
	int err = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	if (!err)
		err = add_rules(ctx, getpid());
	if (!err)
		err = seccomp_load(ctx);
	seccomp_release(ctx);
	if (err)
		log_msg("seccomp: cannot install the filter: %s (--no-seccomp runs without it)", strerror(-err));
	return err;
}
