/* confine.h - the seccomp filter kvmserver puts on itself once the program is loaded. */
#ifndef SERVER_CONFINE_H
#define SERVER_CONFINE_H

#include <stdbool.h>

/* Restrict this process (all its threads, and any it starts) to the host system calls the
 * emulation needs; others kill it.  Does nothing when !enabled or KVMSERVER_SECCOMP=off;
 * KVMSERVER_SECCOMP=report logs forbidden calls and fails them with ENOSYS instead.
 * 0, or -errno after a log line. */
int confine_process(bool enabled);

#endif
