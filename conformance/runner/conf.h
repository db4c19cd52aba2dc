/* SPDX-License-Identifier: MIT */
/* conf.h: what the files of wxpay-conformance share: the case catalogue (data, loaded from
 * conformance/cases/server.json and client.json, compiled in), the outcome of running a case, the
 * run context and the report writers. The `conf_` prefix marks what crosses a file boundary
 * inside the runner. */
#ifndef CONF_H
#define CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wxp/buf.h"
#include "wxp/err.h"
#include "wxp/op.h"

enum conf_severity { CONF_MUST, CONF_SHOULD, CONF_INFO };
enum conf_mode { CONF_SERVER, CONF_CLIENT, CONF_NOTIFY };
enum conf_verdict {
    CONF_PASS,
    CONF_FAIL,
    CONF_SKIP,
    CONF_ERROR, /* the runner could not run it */
    /* Client mode: the case grades what the client concluded, and the client wrote no result
     * file (WXPAY_RESULT_FILE): never a pass, never a failure; counted on its own. */
    CONF_UNOBSERVED
};
/* Client mode: what the result file's "verified" must say (docs/conformance.md#the-result-file). */
enum conf_expect_verified {
    CONF_VERIFIED_ANY = 0,  /* not graded: exit status only */
    CONF_VERIFIED_FALSE,    /* false: the client checked and found the signature bad */
    CONF_VERIFIED_NOT_TRUE, /* false or null: anything but claiming a forged answer verified */
};

/* One case of the catalogue. Every string is owned by the catalogue. */
struct conf_case {
    char *id; /* "AUTH-003": stable, never reused */
    /* The operation the case tests: a name of the core's table ("payscore.permissions.
     * terminate-by-openid"), and its row. The request of a server case and the call a client
     * case asks for are those of this operation. */
    char *operation;
    const struct wxp_op *op; /* NULL in notify mode (operation "notification") */
    char *title;             /* one line */
    char *rule;              /* the rule it checks, one sentence */
    char *source; /* docs/protocol.md or mock-server.md anchor, and a docs/sources.md key */
    enum conf_severity severity;
    enum conf_mode mode;
    char *kind;  /* the executor's name for what to do, e.g. "authz_missing_param" */
    char *param; /* kind-specific parameter ("nonce_str", "-301", ...), may be NULL */
    /* Expected outcome. Server mode: status (0 = any 4xx), WeChat code (NULL = any), and whether
     * the answer must be signed (1), must not be required (0), or is only reported (-1).
     * Client mode: expect_status is the exit status class: 0 = must succeed (exit 0), 1 = must
     * fail (exit non-zero). Notify mode: 200 = accepted (2xx within 5 s), 0 = refused (4xx or
     * 5xx); expect_code "FAIL" when the refusal's body must be {"code":"FAIL","message":…}. */
    int expect_status;
    char *expect_code;
    int expect_signed;
    enum conf_expect_verified expect_verified; /* client mode, expect.verified */
};

struct conf_catalog {
    struct conf_case *cases;
    size_t count;
};

/* Loads the built-in catalogue (both modes). Errors name the case and field. */
enum wxp_code conf_catalog_load(struct conf_catalog *cat, struct wxp_err *err);
void conf_catalog_free(struct conf_catalog *cat);
const char *conf_severity_name(enum conf_severity s); /* "MUST", "SHOULD", "INFO" */
const char *conf_mode_name(enum conf_mode m);         /* "server", "client", "notify" */
/* "pass", "fail", "skip", "error", "unobservable" */
const char *conf_verdict_name(enum conf_verdict v);

/* What running one case found. Owned buffers; conf_outcome_free releases them. */
struct conf_outcome {
    enum conf_verdict verdict;
    char reason[512]; /* why it failed/skipped, one line; "" on pass */
    double seconds;
    struct wxp_buf request;  /* what was sent (request line, headers, body), for the report */
    struct wxp_buf response; /* what came back (status line, headers, body) */
    struct wxp_buf output;   /* client mode: the command's stdout+stderr (capped) */
    int exit_status;         /* client mode */
    /* Set when the run cannot go on (client mode: the command could not be run); `reason` says
     * why. The runner stops after this case and exits 3. */
    bool stop_run;
};
void conf_outcome_init(struct conf_outcome *o);
void conf_outcome_free(struct conf_outcome *o);

/* Most platform certificates, and most platform public keys, a run can be given. */
#define CONF_PLATFORM_MAX 8

/* Credentials and targets for a run. Defaults: the TEST ONLY fixtures (embedded). */
struct conf_context {
    const char *base_url;     /* server mode: the server to grade; NULL = start wxpay-mock */
    const char *mock_bin;     /* wxpay-mock to start (server mode without base_url; client mode) */
    const char *fixtures_dir; /* where the TEST keys are, for client mode's env vars */
    const char *mchid;
    const char *mch_serial;
    const char *mch_key_file;  /* NULL: the embedded test key */
    const char *mch_cert_file; /* NULL: none; given: its serial is mch_serial, the key must match */
    bool merchant_given;       /* --mchid/--mch-key/--mch-serial/--mch-cert or the config set one */
    /* The server's platform keys the answers are verified with (--platform-cert,
     * --platform-public-key with --platform-public-key-id, or the config). None given: the
     * fixtures' TEST platform certificate and public key. */
    const char *platform_certs[CONF_PLATFORM_MAX];
    size_t nplatform_certs;
    const char *platform_pubkeys[CONF_PLATFORM_MAX]; /* files, paired in order with the ids */
    size_t nplatform_pubkeys;
    const char *platform_pubkey_ids[CONF_PLATFORM_MAX];
    size_t nplatform_pubkey_ids;
    const char *other_appid; /* an appid NOT bound to mchid (business cases) */
    const char *appid;
    const char *service_id;
    const char *openid_prefix; /* fresh openids are prefix + random */
    const char *command;       /* client mode: the command line, run with sh -c */
    /* client mode: the operations the client supports (--operations); cases of the others are
     * not applicable. NULL: all of them. */
    bool operations_given;
    bool operations[WXP_OP_COUNT];
    const char *ca_file; /* --cacert: trust anchors for an https:// base URL */
    /* The merchant's APIv3 key (32 bytes): a file holding it (one trailing newline allowed) or
     * the key itself; at most one. Server mode decrypts the certificates with it; notify mode
     * encrypts the notifications (default there: the fixtures' TEST key). Never printed. */
    const char *apiv3_key_file;
    const char *apiv3_key;
    /* Notify mode: the handler's URL, and the platform private key that signs the notifications
     * with the serial or PUB_KEY_ID_... written as Wechatpay-Serial (default: the fixtures' TEST
     * platform key and its certificate's serial). */
    const char *notify_url;
    const char *platform_key_file;
    const char *platform_serial;
    long timeout_ms; /* per case */
    bool verbose;    /* show what a case that did not pass sent and received */
};

/* Reads the server-mode config file `path` (JSON; docs/conformance.md#config-file) into `ctx`,
 * for the members the command line did not set already. Strings are owned by an arena that
 * conf_config_free releases (after the run). Returns 0, or prints "wxpay-conformance: config
 * refused: FILE: FIELD: why" and returns -1. */
int conf_config_load(const char *path, struct conf_context *ctx);
void conf_config_free(void);

/* Whether the client under test was declared to support `op` (always, without --operations). */
bool conf_operation_supported(const struct conf_context *ctx, const struct wxp_op *op);

/* Runs one case of the matching mode. Fills `out` (already initialised). */
void conf_run_server_case(const struct conf_context *ctx, const struct conf_case *c,
                          struct conf_outcome *out);
void conf_run_client_case(const struct conf_context *ctx, const struct conf_case *c,
                          struct conf_outcome *out);
/* Per-mode set-up and tear-down (start/stop the bundled mock when needed). Return 0 or print
 * why and return -1. */
int conf_server_begin(struct conf_context *ctx);
void conf_server_end(struct conf_context *ctx);
int conf_client_begin(struct conf_context *ctx);
void conf_client_end(struct conf_context *ctx);
/* Notify mode (notify.c): loads the signing key and the APIv3 key; sends one case's
 * notifications to ctx->notify_url and grades the answers. */
int conf_notify_begin(struct conf_context *ctx);
void conf_run_notify_case(const struct conf_context *ctx, const struct conf_case *c,
                          struct conf_outcome *out);
void conf_notify_end(struct conf_context *ctx);
/* What notify mode cannot see, said in the summary and in every report. */
#define CONF_NOTIFY_UNSEEN                                                                         \
    "only HTTP answers are graded: whether the handler acted on a notification before refusing "   \
    "it, acted twice on a repeated id, or verified before using the resource cannot be seen; "     \
    "check its side effects (docs/notifications.md#grading-a-handler)"

/* The APIv3 key of the run (ctx->apiv3_key_file or ctx->apiv3_key) into key[32]. Returns 1 with
 * the key, 0 when neither is given, or -1 after printing why it is refused (never the key). */
int conf_apiv3_key(const struct conf_context *ctx, unsigned char key[32]);

/* ---- helpers shared by the executors (http.c, mock.c) ------------------------------------ */

/* One HTTP exchange over libcurl with exactly these header lines ("Name: value"; "Name:" removes
 * a curl default), no Expect: 100-continue, the path sent as is. */
struct conf_http_resp {
    long status;         /* 0: no answer */
    int curl_code;       /* CURLcode */
    char error[256];     /* curl's own words for a failed exchange (CURLOPT_ERRORBUFFER), or "" */
    struct wxp_buf head; /* raw response header lines, "Name: value\r\n"... */
    struct wxp_buf body;
};
void conf_http_init(struct conf_http_resp *r);
void conf_http_free(struct conf_http_resp *r);
/* Trust anchors for https:// targets (PEM file); NULL: the system's. Set once, before any call. */
void conf_http_set_cacert(const char *path);
void conf_http(const char *method, const char *url, const char *const *headers, const char *body,
               size_t body_len, long timeout_ms, struct conf_http_resp *out);
/* Header value (case-insensitive, first occurrence) copied into buf; NULL when absent. */
const char *conf_http_header(const struct conf_http_resp *r, const char *name, char *buf,
                             size_t cap);

/* The bundled wxpay-mock as a child on 127.0.0.1:0 (ready file, SIGTERM to stop). */
struct conf_mock {
    int pid;
    char url[128];
    char dir[256];
};
/* Extra args NULL-terminated (may be NULL). Returns 0, or -1 with `why` filled. */
int conf_mock_start(struct conf_mock *m, const char *bin, const char *const *args, char *why,
                    size_t cap);
void conf_mock_stop(struct conf_mock *m);
/* Admin API calls on a running mock: POST /__admin/reset, POST /__admin/scenarios (JSON),
 * GET /__admin/requests (JSON array appended to out). Return 0 or -1 with `why`. */
int conf_mock_reset(const struct conf_mock *m, char *why, size_t cap);
int conf_mock_scenario(const struct conf_mock *m, const char *json, char *why, size_t cap);
int conf_mock_journal(const struct conf_mock *m, struct wxp_buf *out, char *why, size_t cap);

/* What a case's `source` points at (links.c): the docs sections it names and, for each source
 * key, where docs/sources.md (compiled in) says the source is: its address, or for a repository
 * file the repository and path; "" when docs/sources.md has no row for the key. */
#define CONF_LINKS_MAX 8
struct conf_link {
    char key[32];
    char where[256];
};
struct conf_links {
    char sections[CONF_LINKS_MAX][96]; /* "docs/protocol.md#timestamp-window" */
    size_t nsections;
    struct conf_link keys[CONF_LINKS_MAX];
    size_t nkeys;
};
void conf_links_of(const char *source, struct conf_links *out);

/* Reports (report.c). `results[i]` belongs to `cases[i]`. */
struct conf_result {
    const struct conf_case *c;
    struct conf_outcome o;
};
/* --strict: SHOULD failures fail the run (exit status, JSON "ok", JUnit <failure>) as MUST ones
 * do. Set once by main before any report. */
void conf_report_set_strict(bool on);
void conf_report_progress(const struct conf_result *r, size_t index, size_t total);
/* Verbose detail of a case that did not pass, on stderr: the request, the answer and (client
 * mode) the exit status and the first lines of the command's output, each bounded (long lines
 * cut with their full length noted), PEM private key blocks left out. */
void conf_report_detail(const struct conf_result *r);
/* Up to `max_lines` lines of `text` on stderr, each indented and cut at a bounded width, control
 * bytes shown as '?', PEM private key blocks left out; notes how much was not shown. */
void conf_report_excerpt(const char *text, size_t len, size_t max_lines);
/* Rewrites `b`: each PEM private key block (a line with "-----BEGIN"
 * and "PRIVATE KEY" through the next "-----END" line) becomes one line
 * "[private key material not shown]", so no report file, JUnit, JSON or HTML, keeps a key a
 * client under test printed. On an allocation failure `b` is emptied rather than left with the
 * key. */
void conf_redact_keys(struct wxp_buf *b);
/* Prints the summary; returns the exit status: 0 when every MUST (with --strict, and SHOULD)
 * case passed, else 1. `stopped`: why the run stopped before its end, or NULL. */
int conf_report_summary(const struct conf_result *rs, size_t n, const char *target,
                        const char *stopped);
int conf_report_junit(const char *path, const struct conf_result *rs, size_t n, const char *suite);
int conf_report_json(const char *path, const struct conf_result *rs, size_t n, const char *mode,
                     const char *target);
int conf_report_html(const char *path, const struct conf_result *rs, size_t n, const char *mode,
                     const char *target, const char *stopped);

#endif
