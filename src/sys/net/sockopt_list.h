/* sockopt_list.h - the allow-list of socket options setsockopt/getsockopt pass to the
 * host: data only, unit tested.  An option not listed answers ENOPROTOOPT (net.c's header
 * says which kinds are refused and why). */
#ifndef SYS_SOCKOPT_LIST_H
#define SYS_SOCKOPT_LIST_H

#include <stdbool.h>

/* Whether the guest may set (set) or read (!set) option name at level. */
bool sockopt_allowed(int level, int name, bool set);

#endif
