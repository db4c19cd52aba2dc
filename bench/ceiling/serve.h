/* SPDX-License-Identifier: MIT */
/* serve.h: the daemon skeleton both ceiling servers share. It starts libmicrohttpd on
 * 127.0.0.1 with exactly the flags and limits wxpay-mock uses (mock-server/src/daemon.c), so the
 * only difference between a ceiling and the mock is the work done per request. */
#ifndef BENCH_SERVE_H
#define BENCH_SERVE_H

#include <microhttpd.h>

/* Called once per request after the whole body has been read (the body itself is discarded:
 * the ceilings look at nothing). Returns what MHD_queue_response returned. */
typedef enum MHD_Result (*bench_answer_fn)(void *cls, struct MHD_Connection *con);

/* Parses `--threads N` (0, the default: a thread per connection; N > 0: a pool of N threads,
 * as wxpay-mock's flag) and `--ready-file PATH` (the base URL, written atomically once
 * listening), listens on 127.0.0.1:0, and serves until SIGINT or SIGTERM. Returns the process
 * exit status: 0 after a signal, 1 when it cannot start, 2 for a usage error. */
int bench_serve_main(int argc, char **argv, const char *prog, bench_answer_fn answer, void *cls);

#endif
