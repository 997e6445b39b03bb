/* activation.h - systemd socket activation inside src/sys: sockets kvmserver inherited
 * (LISTEN_FDS) that a guest's bind(2) takes over when it names the same address. */
#ifndef SYS_ACTIVATION_H
#define SYS_ACTIVATION_H

#include <sys/socket.h>

/* Guest socket host fd h (family domain) is about to bind to host address ss/len.  If an
 * inherited socket of the same family and type is bound there, h becomes (dup3) that
 * socket, keeping h's O_NONBLOCK, and 1 is returned; 0 when none matches; -errno. */
int activation_take(int h, int domain, const struct sockaddr_storage *ss, socklen_t len);

#endif
