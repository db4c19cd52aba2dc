/* SPDX-License-Identifier: MIT */
/* wxpay.h: libwxpay, the reference client of WeChat Pay APIv3, on libcurl and OpenSSL.
 *
 * It signs each request (WECHATPAY2-SHA256-RSA2048), sends it, verifies the signature of every
 * 2xx answer, and reports what happened in a struct wxpay_result that callers can branch on
 * without parsing strings. The header to include; it brings in wxpay/version.h, which libwxpay
 * installs beside it.
 *
 * Thread safety: a struct wxpay_client holds one curl handle (one kept-alive connection) and is
 * NOT safe to share between threads; use one client per thread. Different clients are
 * independent. Call curl_global_init() once before creating clients in a multi-threaded program
 * (wxpay_client_new calls it otherwise, which is not thread-safe).
 *
 * Example:
 *     struct wxpay_config cfg = {0};
 *     cfg.mchid = "1900000109"; cfg.mch_serial = "3B2A..."; cfg.mch_key_file = "apiclient_key.pem";
 *     const char *certs[] = {"wechatpay_platform.pem", NULL}; cfg.platform_cert_files = certs;
 *     struct wxpay_client *c; struct wxpay_result r;
 *     if (wxpay_client_new(&cfg, &c, &r) != WXPAY_OK) { puts(r.error); ... }
 *     struct wxpay_terminate t = {"oUpF8...", "500001", "wxd678efh567hg6787", "用户解约"};
 *     if (wxpay_payscore_terminate(c, &t, &r) == WXPAY_OK) { ... 204, verified ... }
 *     wxpay_result_free(&r);
 *     struct wxpay_query_by_code q = {"code-1", "500001"}; struct wxpay_fields f;
 *     if (wxpay_payscore_query_by_code(c, &q, &f, &r) == WXPAY_OK)
 *         puts(wxpay_fields_get(&f, "authorization_state"));   ... 200, body verified ...
 *     wxpay_fields_free(&f); wxpay_result_free(&r); wxpay_client_free(c);
 *
 * The APIs libwxpay knows are the operations of the harness's one table (wxpay_operation_name):
 * each call below builds its request from that table, so the library writes no API path itself.
 */
#ifndef WXPAY_H
#define WXPAY_H

#include <stddef.h>

/* WXPAY_VERSION ("0.1.0"), WXPAY_VERSION_MAJOR/MINOR/PATCH and WXPAY_VERSION_NUM, generated from
 * the project's version; installed beside this header. */
#include <wxpay/version.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define WXPAY_EXPORT __attribute__((visibility("default")))
#else
#define WXPAY_EXPORT
#endif

#define WXPAY_DEFAULT_BASE_URL "https://api.mch.weixin.qq.com"

/* What happened to a call. Exactly one holds; 0 is success. */
enum wxpay_result_kind {
    WXPAY_OK = 0,        /* a 2xx whose signature verified */
    WXPAY_ERR_LOCAL,     /* bad input or configuration; nothing was sent */
    WXPAY_ERR_TRANSPORT, /* no HTTP answer: connect, TLS, timeout... (curl_code, error) */
    WXPAY_ERR_VERIFY,    /* a 2xx whose signature failed: treat it as forged, never as success */
    WXPAY_ERR_WECHAT,    /* a non-2xx answer (http_status, code, message, detail) */
    WXPAY_ERR_NOTIFY     /* wxpay_notify_parse only: a notification whose body cannot be used
                            although its signature verified (a wrong APIv3 key, a malformed or
                            mislabelled envelope; verify_failure says which), or one too large to
                            look at */
};

/* The state of an answer's signature. */
enum wxpay_signature {
    WXPAY_SIG_NONE = 0, /* no answer, or not looked at */
    WXPAY_SIG_VALID,    /* all Wechatpay-* headers present and the signature verifies */
    WXPAY_SIG_INVALID,  /* signature headers present but the check failed (see verify_failure) */
    WXPAY_SIG_UNSIGNED  /* no Wechatpay-Signature header at all */
};

/* Why a signature check failed. */
enum wxpay_verify_failure {
    WXPAY_VF_NONE = 0,
    WXPAY_VF_MISSING_HEADER, /* a Wechatpay-* header or Request-ID is absent (verify_detail says) */
    WXPAY_VF_BAD_TIMESTAMP,  /* Wechatpay-Timestamp is not decimal seconds */
    WXPAY_VF_STALE,          /* older than the skew window */
    WXPAY_VF_FUTURE,         /* further ahead than the skew window */
    WXPAY_VF_UNKNOWN_SERIAL, /* Wechatpay-Serial names no configured certificate or public key */
    WXPAY_VF_PROBE,          /* a WECHATPAY/SIGNTEST/ probe: the server checks that we refuse it */
    WXPAY_VF_BAD_SIGNATURE,  /* does not verify (or is not base64) */
    /* wxpay_notify_parse only. With WXPAY_ERR_VERIFY: */
    WXPAY_VF_UNSUPPORTED_TYPE, /* Wechatpay-Signature-Type is not WECHATPAY2-SHA256-RSA2048 */
    /* With WXPAY_ERR_NOTIFY (the signature verified, except for an oversize body): */
    WXPAY_VF_BAD_ENVELOPE,  /* the body is too large, not strict JSON, or lacks a member */
    WXPAY_VF_RESOURCE_TYPE, /* resource_type is not encrypt-resource */
    WXPAY_VF_ALGORITHM,     /* resource.algorithm is not AEAD_AES_256_GCM */
    WXPAY_VF_DECRYPT,       /* the resource does not decrypt: a wrong APIv3 key (or a nonce that
                               is not 12 bytes, a ciphertext that is not base64) */
    WXPAY_VF_PLAINTEXT      /* the decrypted resource is not a JSON object */
};

/* Filled by every call; free with wxpay_result_free. Strings are NUL-terminated, "" when unset. */
struct wxpay_result {
    enum wxpay_result_kind kind;
    long http_status;     /* 0 when no answer came */
    char request_id[128]; /* Request-ID of the answer */
    /* WXPAY_ERR_WECHAT: the APIv3 error envelope, when the body is one. */
    char code[64];
    char message[512];
    char detail_field[128];
    char detail_value[256]; /* a non-string value as its JSON text */
    char detail_issue[256];
    char detail_location[64];
    /* The answer's signature (any status). */
    enum wxpay_signature signature;
    enum wxpay_verify_failure verify_failure;
    char verify_detail[320];
    /* WXPAY_ERR_TRANSPORT */
    int curl_code; /* CURLcode */
    /* Always set when kind != WXPAY_OK: one line saying what went wrong. */
    char error[512];
    /* The raw answer body (owned; NULL when empty). */
    char *body;
    size_t body_len;
    unsigned attempts; /* 1 + retries made */
};

WXPAY_EXPORT void wxpay_result_free(struct wxpay_result *r);
/* "ok", "local", "transport", "verify", "wechat", "notify". */
WXPAY_EXPORT const char *wxpay_result_kind_name(enum wxpay_result_kind k);
/* "none", "valid", "invalid", "unsigned". */
WXPAY_EXPORT const char *wxpay_signature_name(enum wxpay_signature s);
/* "none", "missing_header", "bad_timestamp", "stale", "future", "unknown_serial", "probe",
 * "bad_signature", "unsupported_type", "bad_envelope", "resource_type", "algorithm", "decrypt",
 * "plaintext". */
WXPAY_EXPORT const char *wxpay_verify_failure_name(enum wxpay_verify_failure f);

/* Optional trace of what goes over the wire (for -v); `what` is "signing-string",
 * "request-line", "request-header", "request-body", "response-header", "response-body",
 * "verify-string". `text` is not NUL-terminated. Never called with private key material. */
struct wxpay_trace {
    void (*fn)(void *ud, const char *what, const char *text, size_t len);
    void *ud;
};

/* Retries of 429, 5xx and transport failures with exponential backoff and full jitter: attempt n
 * waits uniform(0, min(max_delay_ms, base_delay_ms * 2^n)). Off when max_retries is 0. A call
 * whose answer failed verification is never retried. Each retry is freshly signed. */
struct wxpay_retry {
    unsigned max_retries;
    long base_delay_ms; /* 0: 200 */
    long max_delay_ms;  /* 0: 5000 */
};

struct wxpay_config {
    const char *base_url;      /* NULL: WXPAY_DEFAULT_BASE_URL; no trailing '/' needed */
    const char *mchid;         /* required */
    const char *mch_serial;    /* required unless mch_cert_file is given: the merchant certificate
                                  serial, hex */
    const char *mch_cert_file; /* optional: the merchant certificate; its serial is used, and it
                                  must match mch_key */
    const char *mch_key_file;  /* the merchant private key (PEM; see wxpay_client_warning), or */
    const char *mch_key_pem;   /* the same as PEM text */
    /* Verification keys: platform certificates (their serials name them) and/or public keys
     * with their PUB_KEY_ID_... ids. NULL-terminated lists; at least one key in all. */
    const char *const *platform_cert_files;
    const char *const *platform_pubkey_files;
    const char *const *platform_pubkey_ids; /* same length as platform_pubkey_files */
    /* The Wechatpay-Serial request header, naming the key we verify with. NULL: the first public
     * key id if any, else the first certificate serial (as wechatpay-go and -java do). "" sends
     * none (as wechatpay-php and the axios plugin do by default). */
    const char *accept_serial;
    const char *ca_file;     /* HTTPS trust anchors; NULL: the system's */
    const char *user_agent;  /* NULL: "libwxpay/<ver> (<os>) curl/<ver>" */
    long connect_timeout_ms; /* 0: 5000 */
    long timeout_ms;         /* 0: 30000 */
    long skew;               /* allowed clock skew for answers, seconds; 0: 300 */
    struct wxpay_retry retry;
    struct wxpay_trace trace;
    /* The merchant's APIv3 key (32 bytes), to decrypt what wxpay_certificates downloads: a file
     * holding it (one trailing newline allowed) or the key itself; at most one of the two. Never
     * shown in a message; wiped by wxpay_client_free. With a key, the lists of platform keys above
     * may be empty: the client can then only download the certificates (trust on first use). */
    const char *apiv3_key_file;
    const char *apiv3_key;
    /* 1: "auto certificate" mode (needs the APIv3 key): the client downloads the platform
     * certificates (wxpay_certificates) before its first call and again every 12 hours, and when
     * a 2xx answer names a Wechatpay-Serial it does not know it downloads once more and verifies
     * that answer again. Downloaded certificates are added to the configured keys. Only the first
     * download, when no platform key is configured at all, is trusted on first use; every later
     * one must verify with a key the client already has, or the call fails (WXPAY_ERR_VERIFY). */
    int auto_certificates;
};

struct wxpay_client;

/* Loads the keys and prepares a curl handle. Returns WXPAY_OK and *out, or WXPAY_ERR_LOCAL with
 * res->error naming the field and the reason (a missing file, a key that is not RSA-2048, a
 * certificate that does not match the key...). `res` must be freed in both cases. */
WXPAY_EXPORT enum wxpay_result_kind wxpay_client_new(const struct wxpay_config *cfg,
                                                     struct wxpay_client **out,
                                                     struct wxpay_result *res);
/* A client that only checks notifications (wxpay_notify_parse): it needs the platform keys
 * (platform_cert_files and/or platform_pubkey_files) and the APIv3 key (apiv3_key_file or
 * apiv3_key), and reads no merchant setting: mchid, mch_serial, mch_cert_file, mch_key_file and
 * mch_key_pem are ignored. auto_certificates is refused (a download must be signed). Every call
 * made with it fails with WXPAY_ERR_LOCAL ("no merchant private key"). Returns as
 * wxpay_client_new, res->error naming what is missing. */
WXPAY_EXPORT enum wxpay_result_kind wxpay_notify_client_new(const struct wxpay_config *cfg,
                                                            struct wxpay_client **out,
                                                            struct wxpay_result *res);
/* NULL-safe. Wipes the private key. */
WXPAY_EXPORT void wxpay_client_free(struct wxpay_client *c);
/* A problem found while loading the configuration that did not stop the client, as one line
 * without a newline, or NULL when there is none. Today: mch_key_file is a regular file whose
 * mode grants anything to its group or to others (mode & 077), e.g. "private key k.pem is
 * readable by others (mode 0644); run chmod 600 k.pem". The published TEST ONLY keys of the
 * repository's fixtures/ are exempt. The library never prints it; `wxpay` prints it on stderr.
 * Borrows from `c`; NULL-safe. */
WXPAY_EXPORT const char *wxpay_client_warning(const struct wxpay_client *c);

/* ---- operations --------------------------------------------------------------------------
 * An operation is one APIv3 call described once in the harness's table: a stable name such as
 * "payscore.permissions.terminate-by-openid", a method, a path template, named parameters (in the
 * path, the query or the body) and a success status (200 with a JSON body, or 204).
 *
 * Every operation call: checks each parameter against its row before anything is sent
 * (WXPAY_ERR_LOCAL, nothing sent, `error` names the parameter and its rule); builds the target
 * (path variables and query values percent-encoded, RFC 3986 unreserved characters kept, the query
 * in the table's order) and the compact JSON body (body parameters in the table's order; a GET has
 * none and is sent without a body and without Content-Type); signs exactly what is sent; verifies
 * the answer's signature (over the body bytes for a 200). Success (WXPAY_OK) is the operation's
 * documented status with a verified signature and, for a 200, a body that is a JSON object
 * carrying each always-present field as a string; its fields are returned in a struct
 * wxpay_fields. A verified answer with another 2xx status or a body that is not the documented one
 * is WXPAY_ERR_WECHAT (`error` says what differs); a 2xx whose signature fails is
 * WXPAY_ERR_VERIFY. */

/* One parameter of a generic call: the name of a row of the operation ("openid", "service_id")
 * and its value, NUL-terminated UTF-8 (NULL: absent). */
struct wxpay_param {
    const char *name;
    const char *value;
};

/* One field of a 200 answer's body: `name` is the table's (static), `value` is owned,
 * NUL-terminated, `len` bytes. */
struct wxpay_field {
    const char *name;
    char *value;
    size_t len;
};

/* The fields of a 200 answer's body that the operation documents, in the table's order; absent
 * optional fields and members the table does not know are left out. Caller-allocated; every
 * operation call zeroes it first (so it may be uninitialised) and fills it only on WXPAY_OK; free
 * it with wxpay_fields_free whatever the outcome. Empty (count 0) for a 204. */
struct wxpay_fields {
    struct wxpay_field *field; /* owned array of `count` */
    size_t count;
};

/* The value of field `name`, or NULL when the answer did not carry it. Borrows from `f`;
 * NULL-safe. */
WXPAY_EXPORT const char *wxpay_fields_get(const struct wxpay_fields *f, const char *name);
/* NULL-safe; leaves *f zeroed. */
WXPAY_EXPORT void wxpay_fields_free(struct wxpay_fields *f);

/* Calls operation `operation` (its name, exact) with `params[0..nparams)`. Each name must be a
 * parameter of the operation and given at most once (else WXPAY_ERR_LOCAL, nothing sent); a
 * parameter not given is absent. `fields` may be NULL when the caller does not want them.
 * Example:
 *     struct wxpay_param p[] = {{"openid", "oUpF8..."}, {"appid", "wxd678efh567hg6787"},
 *                               {"service_id", "500001"}};
 *     wxpay_call(c, "payscore.permissions.query-by-openid", p, 3, &f, &r); */
WXPAY_EXPORT enum wxpay_result_kind wxpay_call(struct wxpay_client *c, const char *operation,
                                               const struct wxpay_param *params, size_t nparams,
                                               struct wxpay_fields *fields,
                                               struct wxpay_result *res);

/* The operations libwxpay knows, for listings and help: the i-th name (from 0), or NULL past the
 * last. The names are stable; the order is the table's. */
WXPAY_EXPORT const char *wxpay_operation_name(size_t i);

/* What an operation is (caller-allocated; a later version adds a new struct rather than growing
 * this one). Strings are static. */
struct wxpay_operation_info {
    const char *name;
    const char *method; /* "GET", "POST" */
    const char *path;   /* the template, variables in braces: ".../openid/{openid}" */
    unsigned success;   /* 200 (a JSON body) or 204 (none) */
    size_t nparams;     /* rows for wxpay_operation_param */
};

/* One parameter of an operation. Strings are static. */
struct wxpay_param_info {
    const char *name;
    const char *location; /* "uri_template" (path), "query" or "body" */
    int required;
    size_t min; /* length bounds, in `unit` */
    size_t max;
    const char *unit; /* "bytes" or "characters" */
    /* "" when any UTF-8 without 4-byte or control characters is allowed; else the allowed
     * characters as ranges, "*, -, 0-9, A-Z, _, a-z, |" (authorization_code). */
    char charset[96];
};

/* Returns 0 and fills *out, or -1 when no operation has that name (or i is past the last
 * parameter). The parameters are in the table's order: path, then query, then body. */
WXPAY_EXPORT int wxpay_operation_info(const char *operation, struct wxpay_operation_info *out);
WXPAY_EXPORT int wxpay_operation_param(const char *operation, size_t i,
                                       struct wxpay_param_info *out);

/* The typed calls: one per operation, the same as wxpay_call with the struct's members as
 * parameters of the same names (NULL: absent). */

/* payscore.permissions.apply (商户预授权): success is a 200 carrying apply_permissions_token. */
struct wxpay_apply {
    const char *service_id;
    const char *appid;
    const char *authorization_code; /* 1..32 of 0-9 A-Z a-z _ - | *, unique per merchant */
    const char *notify_url;         /* optional */
};
WXPAY_EXPORT enum wxpay_result_kind wxpay_payscore_apply(struct wxpay_client *c,
                                                         const struct wxpay_apply *a,
                                                         struct wxpay_fields *fields,
                                                         struct wxpay_result *res);

/* payscore.permissions.query-by-code (查询用户授权记录，授权协议号): a 200 with the authorization
 * (service_id, appid, mchid, authorization_code, authorization_state, and when known openid,
 * notify_url, authorization_success_time, cancel_authorization_time). */
struct wxpay_query_by_code {
    const char *authorization_code;
    const char *service_id;
};
WXPAY_EXPORT enum wxpay_result_kind
wxpay_payscore_query_by_code(struct wxpay_client *c, const struct wxpay_query_by_code *q,
                             struct wxpay_fields *fields, struct wxpay_result *res);

/* payscore.permissions.query-by-openid (查询用户授权记录，openid): a 200 with the authorization. */
struct wxpay_query_by_openid {
    const char *openid;
    const char *appid;
    const char *service_id;
};
WXPAY_EXPORT enum wxpay_result_kind
wxpay_payscore_query_by_openid(struct wxpay_client *c, const struct wxpay_query_by_openid *q,
                               struct wxpay_fields *fields, struct wxpay_result *res);

/* payscore.permissions.terminate-by-code (解除用户授权关系，授权协议号): success is a verified 204.
 */
struct wxpay_terminate_by_code {
    const char *authorization_code;
    const char *service_id;
    const char *reason;
};
WXPAY_EXPORT enum wxpay_result_kind
wxpay_payscore_terminate_by_code(struct wxpay_client *c, const struct wxpay_terminate_by_code *t,
                                 struct wxpay_result *res);

/* payscore.permissions.terminate-by-openid (解除用户授权关系, openid), as in 0.1.0.
 * The inputs are checked against the API's schema first (WXPAY_ERR_LOCAL, nothing sent, error
 * names the field: openid 1..128 bytes, service_id and appid 1..32 bytes, reason 1..50
 * characters, UTF-8 without 4-byte characters). The openid is percent-encoded in the path, and
 * the path signed is exactly the path sent. Success is a 204 whose signature verifies. */
struct wxpay_terminate {
    const char *openid;
    const char *service_id;
    const char *appid;
    const char *reason;
};
WXPAY_EXPORT enum wxpay_result_kind wxpay_payscore_terminate(struct wxpay_client *c,
                                                             const struct wxpay_terminate *t,
                                                             struct wxpay_result *res);

/* Any APIv3 call: METHOD base_url+path[?query] with an optional JSON body (sent as is; it must
 * be valid JSON). `path` starts with '/' and is sent as given (already percent-encoded);
 * `query` (no '?') may be NULL. */
WXPAY_EXPORT enum wxpay_result_kind wxpay_request(struct wxpay_client *c, const char *method,
                                                  const char *path, const char *query,
                                                  const char *json_body, struct wxpay_result *res);

/* What a call would send, without sending it: the target (path[?query] as sent), the compact
 * JSON body ("" for a GET), the signing string and the Authorization value, for a given timestamp
 * and nonce (NULL: a fresh one). For tests and debugging. Free with wxpay_prepared_free. Returns
 * WXPAY_OK or WXPAY_ERR_LOCAL (res->error), with the same input checks as the call. */
struct wxpay_prepared {
    char *target;
    char *body;
    char *signing_string;
    char *authorization;
};
WXPAY_EXPORT enum wxpay_result_kind wxpay_prepare(struct wxpay_client *c, const char *operation,
                                                  const struct wxpay_param *params, size_t nparams,
                                                  long long timestamp, const char *nonce,
                                                  struct wxpay_prepared *out,
                                                  struct wxpay_result *res);
/* wxpay_prepare of terminate-by-openid. */
WXPAY_EXPORT enum wxpay_result_kind wxpay_prepare_terminate(struct wxpay_client *c,
                                                            const struct wxpay_terminate *t,
                                                            long long timestamp, const char *nonce,
                                                            struct wxpay_prepared *out,
                                                            struct wxpay_result *res);
WXPAY_EXPORT void wxpay_prepared_free(struct wxpay_prepared *p);

/* ---- platform certificates ------------------------------------------------------------- */

/* One downloaded platform certificate. Strings NUL-terminated; `pem` owned. */
struct wxpay_cert {
    char serial_no[65];
    char effective_time[40]; /* as listed: "2026-12-01T00:00:00+08:00" */
    char expire_time[40];
    long long not_before; /* the certificate's own validity, Unix seconds (equal to the above) */
    long long not_after;
    char *pem;
    size_t pem_len;
};

struct wxpay_certs {
    struct wxpay_cert *cert; /* owned array of `count` */
    size_t count;
    /* 1: no platform key was configured, and the answer was verified with a certificate listed
     * in this same answer (trust on first use, as the SDKs' first download; check the serial out
     * of band). 0: verified with a configured certificate or public key. */
    int trust_on_first_use;
};

/* GET /v3/certificates: downloads the platform certificates, verifies the answer's signature
 * (with the configured keys; with none, with the listed certificate its Wechatpay-Serial names),
 * decrypts each certificate with AEAD_AES_256_GCM under the APIv3 key, and checks that it is a
 * certificate whose serial is serial_no, whose validity is effective_time..expire_time, and that
 * has not expired. Returns WXPAY_OK and fills *out; WXPAY_ERR_LOCAL (no APIv3 key configured:
 * nothing sent); WXPAY_ERR_VERIFY (the signature fails, or a certificate does not decrypt: `error`
 * says "wrong APIv3 key, or the ciphertext was altered", or fails a check: `error` names the
 * entry); WXPAY_ERR_WECHAT (a 404 RESOURCE_NOT_EXISTS: `error` adds that the merchant has no
 * platform certificate and must use the platform public key); WXPAY_ERR_TRANSPORT. `out` is zeroed
 * first; free it with wxpay_certs_free whatever the outcome. */
WXPAY_EXPORT enum wxpay_result_kind
wxpay_certificates(struct wxpay_client *c, struct wxpay_certs *out, struct wxpay_result *res);
/* NULL-safe; leaves *out zeroed. */
WXPAY_EXPORT void wxpay_certs_free(struct wxpay_certs *out);

/* ---- notifications ----------------------------------------------------------------------
 * What WeChat Pay POSTs to the merchant's notify_url (PAYSCORE.USER_OPEN_SERVICE and the like):
 * a JSON envelope whose resource is encrypted under the APIv3 key, signed over
 * TIMESTAMP\nNONCE\nBODY\n with the platform key (docs/notifications.md). */

/* A notification as received: header values (NULL = absent; need not be NUL-terminated beyond
 * what C strings imply) and the raw body bytes. Borrowed. */
struct wxpay_notify_input {
    const char *timestamp, *nonce, *signature, *serial, *signature_type, *request_id;
    const char *body;
    size_t body_len;
};

/* A verified, decrypted notification; every string owned and NUL-terminated ("" for an absent
 * optional member); free with wxpay_notification_free. */
struct wxpay_notification {
    char *id, *create_time, *event_type, *resource_type, *summary, *original_type;
    char *resource; /* the decrypted resource JSON (an object) */
    size_t resource_len;
    char *algorithm;       /* "AEAD_AES_256_GCM" */
    char *associated_data; /* resource.associated_data, often "" */
};

/* Largest notification body wxpay_notify_parse looks at, in bytes. */
#define WXPAY_NOTIFY_BODY_MAX ((size_t)256 * 1024)

/* Checks a received notification and, only when its signature verifies, decrypts it:
 * Wechatpay-Signature-Type (absent or empty reads as WECHATPAY2-SHA256-RSA2048), the four
 * Wechatpay-* headers, the timestamp within the client's skew window of its clock, a
 * Wechatpay-Serial the client knows (its configured platform certificates and public keys, and in
 * auto_certificates mode the downloaded ones), the RSA signature (a WECHATPAY/SIGNTEST/ probe
 * fails here), then the envelope (strict JSON, resource_type encrypt-resource, algorithm
 * AEAD_AES_256_GCM) and AEAD_AES_256_GCM with the client's APIv3 key; the plaintext must be a
 * JSON object. Request-ID is not required. Returns, and sets res->kind to:
 *   WXPAY_OK             *out filled (free it with wxpay_notification_free); res->signature valid
 *   WXPAY_ERR_VERIFY     treat as forged: res->verify_failure is missing_header, bad_timestamp,
 *                        stale, future, unknown_serial, probe, bad_signature or unsupported_type
 *   WXPAY_ERR_NOTIFY     authentic (res->signature valid) but unusable: bad_envelope,
 *                        resource_type, algorithm, decrypt (most often a wrong APIv3 key) or
 *                        plaintext; also a body over WXPAY_NOTIFY_BODY_MAX (bad_envelope,
 *                        res->signature none: not looked at)
 *   WXPAY_ERR_LOCAL      `in`/`out` NULL, or the client has no APIv3 key (apiv3_key_file)
 *   another kind         auto_certificates only: the download made first failed (its kind)
 * res->error says why in one line (never with key material); res->request_id copies Request-ID.
 * In auto_certificates mode the client downloads the certificates first when it has none yet or
 * they are due (as before a call), and once more when Wechatpay-Serial is unknown, at most once a
 * minute for that reason: the serial comes from whoever sent the request. Not thread-safe with
 * other calls on the same client. *out is zeroed on every failure. */
WXPAY_EXPORT enum wxpay_result_kind wxpay_notify_parse(struct wxpay_client *c,
                                                       const struct wxpay_notify_input *in,
                                                       struct wxpay_notification *out,
                                                       struct wxpay_result *res);
/* NULL-safe; frees every member and leaves *n zeroed. */
WXPAY_EXPORT void wxpay_notification_free(struct wxpay_notification *n);

/* Largest request body libwxpay sends (json_body of wxpay_request), in bytes. */
#define WXPAY_BODY_MAX ((size_t)1024 * 1024)

/* Why a 401 SIGN_ERROR happened. The live API and wxpay-mock echo the string they verified in the
 * error's detail.sign_information (method, url, sign_message_length, truncated_sign_message) and
 * say why in detail.detail.issue ("sign not match"). Comparing that string with the one this
 * client signed, part by part (METHOD\nURL\nTIMESTAMP\nNONCE\nBODY\n), tells which part differs;
 * when none does, the signature itself is wrong: the private key is not the one whose
 * certificate serial_no names. */
enum wxpay_sign_part {
    WXPAY_SP_METHOD = 1 << 0,
    WXPAY_SP_URL = 1 << 1, /* path and query */
    WXPAY_SP_TIMESTAMP = 1 << 2,
    WXPAY_SP_NONCE = 1 << 3,
    WXPAY_SP_BODY = 1 << 4
};

struct wxpay_sign_diag {
    unsigned differs;  /* WXPAY_SP_* bits of the parts known to differ */
    unsigned unknown;  /* bits of the parts the server's copy (cut at some length) does not show
                          whole, without a known difference */
    int strings_equal; /* 1: the server verified exactly the string we signed */
    char verdict[320]; /* one line: what most likely differs and what to check */
    char issue[128];   /* detail.detail.issue, else detail.issue; "" when absent */
    char *ours;        /* the string this client signed (owned, NUL-terminated) */
    size_t ours_len;
    char *theirs; /* what the server shows of the string it verified (owned; maybe cut short) */
    size_t theirs_len;
    size_t theirs_total; /* sign_message_length: the length of the server's whole string */
};

/* Compares `ours`, a signing string, with the error body `body` (an APIv3 envelope carrying
 * detail.sign_information.truncated_sign_message). Returns WXPAY_OK and fills *out, or
 * WXPAY_ERR_LOCAL when `body` carries no such string (out->verdict then says why). Does not take
 * ownership of its inputs; free *out with wxpay_sign_diag_free whatever the return. */
WXPAY_EXPORT enum wxpay_result_kind wxpay_sign_compare(const char *ours, size_t ours_len,
                                                       const char *body, size_t body_len,
                                                       struct wxpay_sign_diag *out);
/* wxpay_sign_compare of the string the last attempt of the last call on `c` signed with that
 * call's answer `r` (r->body). Call it before the next call on `c`. Example:
 *     if (r.http_status == 401 && wxpay_sign_diagnose(c, &r, &d) == WXPAY_OK) puts(d.verdict);
 *     wxpay_sign_diag_free(&d); */
WXPAY_EXPORT enum wxpay_result_kind wxpay_sign_diagnose(const struct wxpay_client *c,
                                                        const struct wxpay_result *r,
                                                        struct wxpay_sign_diag *out);
/* NULL-safe; leaves *d zeroed. */
WXPAY_EXPORT void wxpay_sign_diag_free(struct wxpay_sign_diag *d);

#ifdef __cplusplus
}
#endif

#endif
