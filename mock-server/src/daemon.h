/* SPDX-License-Identifier: MIT */
/* daemon.h: libmicrohttpd glue: raw request in, mock_handle, signed response out. */
#ifndef MOCK_DAEMON_H
#define MOCK_DAEMON_H

#include <stdint.h>
#include <sys/socket.h>

#include "mock.h"

struct mock_daemon;

/* PEM texts of the server certificate (chain) and its key; both kept alive while serving. */
struct mock_tls {
    const char *cert_pem;
    const char *key_pem;
};

/* Connections beyond --max-connections that are still accepted, each answered 503 as soon as
 * its request's headers are in; beyond these, a new connection is closed as soon as it is
 * accepted. */
#define MOCK_OVER_CAP_SLOTS 16

struct mock_daemon_limits {
    unsigned threads;              /* 0: one thread per connection; N: a pool of N */
    unsigned max_connections;      /* connections served at once (--max-connections) */
    unsigned connection_timeout_s; /* idle timeout of a connection (--connection-timeout) */
};

/* Binds `addr` and serves, over TLS when `tls` is not NULL, within `lim`. threads == 0: one
 * thread per connection (delays block only their own connection); threads > 0: a pool of that
 * many threads. NULL on failure (err says why). */
struct mock_daemon *mock_daemon_start(struct mock_server *srv, const struct sockaddr *addr,
                                      const struct mock_daemon_limits *lim,
                                      const struct mock_tls *tls, struct wxp_err *err);
uint16_t mock_daemon_port(const struct mock_daemon *d);
/* Stops accepting, lets in-flight requests finish (up to grace_ms), then stops. */
void mock_daemon_stop(struct mock_daemon *d, unsigned grace_ms);

#endif
