/* SPDX-License-Identifier: MIT */
/* e2e.h: end-to-end helpers: run wxpay-mock as a child on 127.0.0.1:0, send requests to it with
 * libcurl, sign them with the core. Every helper fails the test on its own errors. */
#ifndef MOCK_E2E_H
#define MOCK_E2E_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "testutil.h"
#include "wxp/buf.h"

struct e2e_mock {
    pid_t pid;
    char url[128];
    char dir[256]; /* temp dir holding the ready file */
};

/* Starts wxpay-mock with extra arguments (NULL-terminated list, may be NULL) and waits for its
 * ready file. */
void e2e_start(struct e2e_mock *m, const char *const *args);
/* The same without --quiet: the mock's stderr (its log) goes to the file log_path. */
void e2e_start_logged(struct e2e_mock *m, const char *const *args, const char *log_path);
/* In a forked child before exec: die with the test process, so a failed test never leaves a
 * mock running (and holding ctest's output pipe open). */
void e2e_child_setup(void);

/* SIGTERM, then waits; asserts it exited 0. */
void e2e_stop(struct e2e_mock *m);

#define E2E_MAX_HEADERS 32

struct e2e_resp {
    long status;
    struct wxp_buf body;
    char *names[E2E_MAX_HEADERS];
    char *values[E2E_MAX_HEADERS];
    size_t nheaders;
    int curl_error; /* CURLcode; 0 when an answer came */
};

/* Header value (case-insensitive) or NULL. */
const char *e2e_header(const struct e2e_resp *r, const char *name);
void e2e_resp_free(struct e2e_resp *r);

/* Sends METHOD url+target with exactly these extra header lines ("Name: value"; "Name:" removes a
 * default curl header) and body (may be NULL). */
void e2e_send(const struct e2e_mock *m, const char *method, const char *target,
              const char *const *headers, const char *body, size_t body_len, struct e2e_resp *out);

/* What to sign: defaults give a valid request of merchant A. */
struct e2e_req {
    const char *openid;   /* raw path segment; default oUpF8uMuAJO_M2pxb1Q9zNjWeS6o */
    const char *body;     /* default fixtures' terminate-valid body with a unique reason */
    const char *key;      /* fixture path of the private key; default merchant A */
    const char *mchid;    /* default 1900000109 */
    const char *serial;   /* default merchant A's serial */
    int64_t ts_offset;    /* added to now */
    const char *nonce;    /* default random */
    const char *authz;    /* when set, sent instead of a computed header */
    const char *extra[8]; /* extra header lines */
};

/* Builds the Authorization for `q`, sends POST with Accept/User-Agent/Content-Type set. */
void e2e_terminate(const struct e2e_mock *m, const struct e2e_req *q, struct e2e_resp *out);

/* Any API request signed by merchant A: METHOD target with `body` (NULL: none, and no
 * Content-Type), Accept and User-Agent set, plus `extra` header lines (NULL-terminated, may be
 * NULL; a "Content-Type: ..." line replaces the default). `signed_body`, when not NULL, is what
 * the signature covers instead of `body`. */
void e2e_call(const struct e2e_mock *m, const char *method, const char *target, const char *body,
              const char *signed_body, const char *const *extra, struct e2e_resp *out);

/* Asserts (cmocka) an APIv3 error answer: no transport error, the status, a body that is an error
 * envelope, its code and, when `msg` is not NULL, its whole message. */
void e2e_assert_error(const struct e2e_resp *r, long status, const char *code, const char *msg);

/* Verifies the response's Wechatpay-* signature with the platform cert and public key;
 * returns the core's code (WXP_OK when it verifies). */
int e2e_verify(const struct e2e_resp *r);

#endif
