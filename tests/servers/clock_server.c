/* clock_server.c PORT: what a request VM's clocks look like.  At start-up (in the template)
 * it reads CLOCK_MONOTONIC and arms a timerfd and an interval timer (SIGALRM) for 300 ms;
 * every request answers one line
 *
 *   since=MS vdso-vs-syscall=MS futex=MS sleep=MS timerfd=MS armed=MS alarm=MS
 *
 * since: monotonic ms from start-up to the request (a fork's monotonic clock restarts at
 * the freeze with every reset, so in --ephemeral mode this stays small however long the
 * server has been up); vdso-vs-syscall: |clock_gettime through libc (the vDSO) minus the
 * raw syscall|, ms; futex / sleep / timerfd: wall-clock ms that a wait for an ABSOLUTE
 * monotonic deadline 60 ms ahead took (FUTEX_WAIT_BITSET, clock_nanosleep TIMER_ABSTIME,
 * timerfd TFD_TIMER_ABSTIME) - about 60 when the host translates the guest's deadline;
 * armed: ms from the request's start until the start-up timer fired (-1: not within 2 s) -
 * about 300 when the timer restarts with the fork's clock, as the connection arrives;
 * alarm: the same for the start-up SIGALRM (-1: none within 2 s).
 * tests/servers/http.h, blocking accept. */
#include "http.h" /* first: it defines _GNU_SOURCE */

#include <linux/futex.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <time.h>

static int64_t ns_of(struct timespec t)
{
	return (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static struct timespec ts_of(int64_t ns)
{
	return (struct timespec){.tv_sec = ns / 1000000000LL, .tv_nsec = ns % 1000000000LL};
}

static int64_t mono_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return ns_of(t);
}

static int64_t wall_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	return ns_of(t) / 1000000;
}

static int64_t start; /* CLOCK_MONOTONIC at start-up, in the template */
static int armed = -1; /* a timerfd armed for 300 ms at start-up */
static volatile int64_t alarm_at; /* wall ms when the start-up SIGALRM came, 0 before */

static void on_alarm(int sig)
{
	(void)sig;
	alarm_at = wall_ms();
}

/* Wall-clock ms a wait for an absolute monotonic deadline 60 ms ahead takes. */
static int64_t futex_wait_ms(void)
{
	static uint32_t word;
	struct timespec dl = ts_of(mono_ns() + 60000000);
	int64_t t0 = wall_ms();
	syscall(SYS_futex, &word, FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG, 0, &dl, NULL, FUTEX_BITSET_MATCH_ANY);
	return wall_ms() - t0;
}

static int64_t sleep_ms(void)
{
	struct timespec dl = ts_of(mono_ns() + 60000000);
	int64_t t0 = wall_ms();
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &dl, NULL) == EINTR) {
	}
	return wall_ms() - t0;
}

static int64_t timerfd_ms(void)
{
	int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	struct itimerspec its = {.it_value = ts_of(mono_ns() + 60000000)};
	int64_t t0 = wall_ms();
	uint64_t ticks;
	if (tfd < 0 || timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL) || read(tfd, &ticks, 8) != 8)
		t0 = wall_ms() + 1000000;
	int64_t ms = wall_ms() - t0;
	close(tfd);
	return ms;
}

static int app(const char *path, char *body, size_t cap)
{
	(void)path;
	int64_t now = mono_ns(), req_wall = wall_ms();
	struct timespec raw;
	syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &raw);
	int64_t skew = (ns_of(raw) - mono_ns()) / 1000000;
	int64_t futex = futex_wait_ms(), sleep = sleep_ms(), tfd = timerfd_ms();
	struct pollfd pf = {.fd = armed, .events = POLLIN};
	int64_t armed_ms = poll(&pf, 1, 2000) == 1 ? wall_ms() - req_wall : -1;
	while (!alarm_at && wall_ms() - req_wall < 2000)
		usleep(5000);
	int64_t alarm_ms = alarm_at ? alarm_at - req_wall : -1;
	snprintf(body, cap,
	         "since=%lld vdso-vs-syscall=%lld futex=%lld sleep=%lld timerfd=%lld armed=%lld alarm=%lld\n",
	         (long long)((now - start) / 1000000), (long long)llabs(skew), (long long)futex, (long long)sleep,
	         (long long)tfd, (long long)armed_ms, (long long)alarm_ms);
	return 200;
}

int main(int argc, char **argv)
{
	start = mono_ns();
	armed = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	struct itimerspec at_start = {.it_value = ts_of(300000000)};
	if (armed < 0 || timerfd_settime(armed, 0, &at_start, NULL))
		die("clock_server: timerfd");
	signal(SIGALRM, on_alarm);
	struct itimerval alarm_start = {.it_value = {.tv_usec = 300000}};
	setitimer(ITIMER_REAL, &alarm_start, NULL);
	serve_blocking(port_arg(argc, argv));
}
