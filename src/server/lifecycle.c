/* lifecycle.c - stopping a serving kvmserver, and sd_notify.
 *
 * The signals are blocked in every thread from the start (so also inside KVM_RUN, whose
 * signal mask is derived from the thread's) and taken by one thread of ours (sigwait), so
 * no VM thread is ever interrupted by them.  Until kvmserver serves, each of them ends it
 * as its default action would (status 128+N).  Serving, the first SIGTERM or SIGINT starts the
 * drain: the drain eventfd becomes readable, which wakes every ephemeral request VM
 * waiting for a connection (proc_await_connection_or); those stop, and the busy ones stop
 * after their connection, so connections still in the listen queue stay there (systemd
 * keeps an activated socket's queue for the next instance).  When every worker is gone,
 * server_run returns and kvmserver exits 0.  If --drain-timeout passes first, or a
 * second signal comes, kvmserver exits 1 at once, cutting the connections still open.
 * A request VM that keeps its state (no --ephemeral) never says when its connections are
 * done, so there the first signal stops at once, with status 0.  SIGHUP is logged and
 * ignored: see README ("Stopping and reloading") for why there is no reload. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "server/lifecycle.h"
#include "vmm/vmm.h"
#include "util/log.h"

static int drain_fd = -1;
static atomic_bool serving, draining;
static atomic_int busy;
static bool drainable;
static double timeout_s;

static void stop_now(int status, const char *why)
{
	log_msg("%s", why);
	sd_notify(0, "STOPPING=1");
	fflush(NULL);
	_exit(status);
}

static void *signal_thread(void *arg)
{
	sigset_t *set = arg;
	struct timespec end = {0};
	for (;;) {
		siginfo_t si;
		int sig;
		if (!atomic_load(&draining) || timeout_s <= 0) {
			sig = sigwaitinfo(set, &si);
		} else {
			struct timespec now, left;
			clock_gettime(CLOCK_MONOTONIC, &now);
			long long ns = (end.tv_sec - now.tv_sec) * 1000000000LL + (end.tv_nsec - now.tv_nsec);
			if (ns <= 0) {
				char why[128];
				snprintf(why, sizeof(why),
				         "--drain-timeout %g s passed: stopping with %d connection(s) open", timeout_s,
				         atomic_load(&busy));
				stop_now(1, why);
			}
			left = (struct timespec){.tv_sec = ns / 1000000000LL, .tv_nsec = ns % 1000000000LL};
			sig = sigtimedwait(set, &si, &left);
		}
		if (sig < 0)
			continue; /* EAGAIN: look at the deadline again; EINTR */
		if (!atomic_load(&serving)) {
			/* Starting up, or a program that is no server: the guest's, while it runs
			 * as a program (vm_forward_signals, src/sys/proc.c); otherwise as if the
			 * signal had killed us (the default action), without a core. */
			if (vm_forward_host_signal(sig))
				continue;
			fflush(NULL);
			_exit(128 + sig);
		}
		if (sig == SIGHUP) {
			log_msg("SIGHUP: reloading is not supported (the template cannot be replaced under "
			        "running request VMs); ignored");
			continue;
		}
		if (!drainable)
			stop_now(0, sig == SIGINT ? "SIGINT: stopping" : "SIGTERM: stopping");
		if (atomic_load(&draining))
			stop_now(1, "second signal: stopping at once");
		log_msg("%s: draining (%d connection(s) open; a second signal stops at once)", strsignal(sig),
		        atomic_load(&busy));
		sd_notify(0, "STOPPING=1");
		clock_gettime(CLOCK_MONOTONIC, &end);
		end.tv_sec += (time_t)timeout_s;
		end.tv_nsec += (long)((timeout_s - (double)(time_t)timeout_s) * 1e9);
		if (end.tv_nsec >= 1000000000L) {
			end.tv_sec++;
			end.tv_nsec -= 1000000000L;
		}
		atomic_store(&draining, true);
		uint64_t one = 1;
		if (write(drain_fd, &one, sizeof(one)) < 0)
			stop_now(1, "cannot start draining: stopping at once");
	}
	return NULL;
}

int lifecycle_start(void)
{
	static sigset_t set;
	drain_fd = eventfd(0, EFD_CLOEXEC);
	if (drain_fd < 0)
		return -errno;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	int err = pthread_sigmask(SIG_BLOCK, &set, NULL);
	pthread_t t;
	if (!err)
		err = pthread_create(&t, NULL, signal_thread, &set);
	if (!err)
		pthread_detach(t);
	return -err;
}

void lifecycle_serving(bool ephemeral, double drain_timeout)
{
	drainable = ephemeral;
	timeout_s = drain_timeout;
	atomic_store(&serving, true);
}

void lifecycle_ready(void)
{
	sd_notify(0, "READY=1");
}

int lifecycle_drain_fd(void)
{
	return drain_fd;
}

bool lifecycle_draining(void)
{
	return atomic_load(&draining);
}

void lifecycle_busy(bool b)
{
	atomic_fetch_add(&busy, b ? 1 : -1);
}
