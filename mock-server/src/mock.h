/* SPDX-License-Identifier: MIT */
/* mock.h: types and functions shared across the files of wxpay-mock. Nothing here is installed;
 * the `mock_` prefix marks what crosses a file boundary inside the server. */
#ifndef MOCK_H
#define MOCK_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wxp/aead.h"
#include "wxp/buf.h"
#include "wxp/err.h"
#include "wxp/keyfile.h"
#include "wxp/keys.h"
#include "wxp/str.h"

/* ---- limits ---------------------------------------------------------------------------- */
#define MOCK_BODY_MAX ((size_t)64 * 1024)     /* request body cap (413 beyond) */
#define MOCK_HEADERS_MAX 64                   /* request headers kept per request */
#define MOCK_HEADER_VALUE_MAX 8192            /* longer header values are cut in the journal */
#define MOCK_ID_MAX 128                       /* mchid, appid, service_id, openid copies */
#define MOCK_NONCE_CACHE_MAX ((size_t)200000) /* remembered request nonces (replay check) */
/* Authorization records the state holds, configured, loaded and learned together; at the cap a
 * terminate of a new openid answers 500 SYSTEM_ERROR naming it (docs/mock-admin.md#state). */
#define MOCK_STATE_RECORDS_MAX ((size_t)1000000)
/* The largest state document: GET /__admin/state answers a whole dump up to this size (larger
 * ones are paged with ?limit=&offset=), and PUT /__admin/state takes a body up to it, so every
 * whole dump can be put back. */
#define MOCK_STATE_DOC_MAX ((size_t)8 * 1024 * 1024)
#define MOCK_TS_TEXT_MAX 40 /* scripted Wechatpay-Timestamp text, bytes */

/* ---- a request as received -------------------------------------------------------------- */
struct mock_header {
    char *name;
    char *value;
};

struct mock_request {
    uint64_t seq;        /* 1, 2, ... in arrival order */
    int64_t received_ms; /* wall clock, Unix ms */
    char method[16];
    char *target; /* raw request target, path and query exactly as sent */
    struct mock_header headers[MOCK_HEADERS_MAX];
    size_t nheaders;
    struct wxp_buf body; /* raw bytes, capped at mock_request_body_max */
    bool body_too_large;
    size_t body_received; /* every body byte read, also those past MOCK_BODY_MAX (a 413) */
    /* The header block holds bytes libmicrohttpd does not pass on: a NUL cuts a value short
     * (daemon.c headers_cut). Admin requests are refused for it when a token is set. */
    bool headers_cut;
    char remote[64];
    /* An outbound notification attempt journaled beside the requests (notify.c): target is the
     * URL, headers and body are what was sent, remote is "". false for every request received. */
    bool outbound;
    /* The connection's buffer for the request's and the answer's signing strings, kept between
     * requests; NULL (a request made outside the daemon): each use makes its own. */
    struct wxp_buf *scratch;
};

/* The body cap of a request (413 beyond): MOCK_STATE_DOC_MAX for PUT /__admin/state (the path
 * exactly, with or without a query), MOCK_BODY_MAX for everything else. */
size_t mock_request_body_max(const char *method, const char *target);
/* Header value by case-insensitive name; NULL when absent. First occurrence wins. */
const char *mock_request_header(const struct mock_request *r, const char *name);
/* The request's scratch buffer, emptied, or `local` made ready when the request has none; give
 * the same pair back to mock_scratch_done when finished (request.c). */
struct wxp_buf *mock_scratch(const struct mock_request *r, struct wxp_buf *local);
void mock_scratch_done(struct wxp_buf *b, struct wxp_buf *local);

/* ---- a response to send ----------------------------------------------------------------- */
enum mock_sigmode {
    MOCK_SIG_VALID,  /* signed correctly over what is sent */
    MOCK_SIG_FORGED, /* base64 of the right length, signed by the wrong key */
    MOCK_SIG_PROBE,  /* WECHATPAY/SIGNTEST/ + base64 */
    MOCK_SIG_NONE,   /* no Wechatpay-* header at all (Request-ID is still sent) */
};

struct mock_response {
    unsigned status;          /* 204, 400, ... */
    struct wxp_buf body;      /* exact bytes sent */
    char code[64];            /* WeChat error code, "" on success (a copy) */
    bool sign;                /* add Wechatpay-* headers; after sending: whether they went out */
    const char *failed_check; /* which check failed, NULL when none: "route", "headers",
                                 "authorization", "merchant", "timestamp", "serial", "replay",
                                 "signature", "internal",
                                 "path", "query", "body", "business", "scenario" */
    const char *operation;    /* the routed operation's name (static), NULL when none */
    /* Tampering applied when signing (scenario actions). */
    enum mock_sigmode sigmode;
    bool unknown_serial; /* Wechatpay-Serial names no key the client has */
    int64_t ts_offset;   /* seconds added to Wechatpay-Timestamp */
    /* When has_ts_text: Wechatpay-Timestamp is this text, sent and signed as is, with "{now}"
     * (at most once) replaced by the clock plus ts_offset: "NaN", "", "{now}.5", "+{now}". */
    bool has_ts_text;
    char ts_text[MOCK_TS_TEXT_MAX + 1];
    char omit_header[48]; /* one Wechatpay-* header left out, "" for none */
    char *sign_over;      /* when set, sign over these bytes instead of the body (owned) */
    bool drop;            /* close the connection without answering */
    long delay_ms;        /* wait this long before answering */
};

void mock_response_init(struct mock_response *resp);
void mock_response_free(struct mock_response *resp);
/* Sets status, code and an APIv3 envelope body; `detail_json` may be NULL. */
enum wxp_code mock_response_error(struct mock_response *resp, unsigned status, const char *code,
                                  const char *message, const char *detail_json);

/* ---- configuration ---------------------------------------------------------------------- */
struct mock_merchant {
    char mchid[32];
    struct wxp_key *cert; /* verifies the merchant's requests; id = serial */
    /* The APIv3 key (AEAD_AES_256_GCM, docs/protocol.md#aead_aes_256_gcm): exactly
     * WXP_AEAD_KEY_LEN bytes, not NUL-terminated; valid when has_apiv3_key. Secret: never logged,
     * journaled or dumped; wiped when the config is freed. */
    unsigned char apiv3_key[WXP_AEAD_KEY_LEN];
    bool has_apiv3_key;
    /* A merchant WeChat has given only the platform public key ("public_key_only" in the
     * config): GET /v3/certificates answers it 404 RESOURCE_NOT_EXISTS, whatever certificates
     * the mock holds for the others. */
    bool public_key_only;
    char **appids;
    size_t nappids;
    char **service_ids;
    size_t nservice_ids;
    /* Where notifications of this merchant go when the record names no notify_url ("notify_url"
     * in the config); "" for none. */
    char notify_url[256];
};

enum mock_auth_state { MOCK_AUTH_AVAILABLE, MOCK_AUTH_UNAVAILABLE, MOCK_AUTH_UNBINDUSER };

#define MOCK_CODE_MAX 32    /* authorization_code, bytes */
#define MOCK_URL_MAX 255    /* notify_url, bytes */
#define MOCK_TOKEN_MAX 300  /* apply_permissions_token, bytes */
#define MOCK_APPLY_TTL 3600 /* seconds an apply_permissions_token is valid ([D-APPLY2]) */

/* One authorization: one per (mchid, service_id, openid) and, when it has a code, one per
 * (mchid, authorization_code). Times are Unix seconds, 0 for "none"; answers render them as
 * RFC 3339 with +08:00 (mock_time_text). */
struct mock_record {
    char mchid[32];
    char openid[MOCK_ID_MAX + 1]; /* "" while a pre-authorization waits for its user */
    char appid[MOCK_ID_MAX + 1];
    char service_id[MOCK_ID_MAX + 1];
    enum mock_auth_state state;
    int64_t terminated_at; /* cancel_authorization_time */
    char reason[256];      /* the terminate's reason */
    char authorization_code[MOCK_CODE_MAX + 1];
    char notify_url[MOCK_URL_MAX + 1];
    int64_t authorized_at;          /* authorization_success_time */
    char token[MOCK_TOKEN_MAX + 1]; /* apply_permissions_token of a pre-authorization */
    int64_t token_expires_at;
};

/* What to do for an (openid, service_id) with no record. */
enum mock_unknown_policy {
    MOCK_UNKNOWN_AUTHORIZED, /* treat as authorized once: the first terminate succeeds */
    MOCK_UNKNOWN_NOT_FOUND,  /* 404 ORDER_NOT_EXIST */
    /* Load tests only, not faithful: treat as authorized every time and remember nothing, so the
     * same terminate succeeds again (docs/mock-server.md#load-test-mode). */
    MOCK_UNKNOWN_ALWAYS_AUTHORIZED
};

struct mock_platform {
    struct wxp_key *key;         /* private key that signs responses */
    char id[WXP_KEY_ID_MAX + 1]; /* certificate serial or PUB_KEY_ID_... */
    /* A certificate signer: its certificate as PEM text (owned, NUL-terminated) and its validity,
     * Unix seconds (notBefore, notAfter). A PUB_KEY_ID signer: NULL and 0, 0. */
    char *cert_pem;
    int64_t not_before;
    int64_t not_after;
};

/* How notifications are delivered (docs/notifications.md#delivery-and-retries). */
#define MOCK_NOTIFY_SCHEDULE_MAX 64
struct mock_notify_config {
    /* Seconds to wait before each attempt: [0] before the first, [k] between attempt k and k+1. */
    double schedule[MOCK_NOTIFY_SCHEDULE_MAX];
    size_t nschedule;
    double repeat_s;    /* after the list: again every repeat_s seconds; 0 = stop after it */
    double give_up_s;   /* no attempt later than this after the first; 0 = no such limit */
    double time_scale;  /* every wait of the schedule is multiplied by this (1 = real time) */
    long timeout_ms;    /* one attempt's limit (5000) */
    size_t queue_max;   /* notifications waiting to be delivered */
    size_t queue_bytes; /* bytes of their envelopes */
    bool terminate_sends_close; /* a merchant's terminate sends USER_CLOSE_SERVICE too */
    bool allow_remote;          /* targets need not be loopback addresses (--allow-remote) */
};
/* The Pay Score schedule ([W-6_1_10]) into *n. */
void mock_notify_schedule_payscore(struct mock_notify_config *n);
/* The payment-notification schedule ([C-NOTIFYRULE]) into *n. */
void mock_notify_schedule_payment(struct mock_notify_config *n);

struct mock_config {
    struct mock_merchant *merchants;
    size_t nmerchants;
    /* Response signers: [0] is the default. When a request's Wechatpay-Serial names one of them,
     * that one signs ([D-ECHO], [C-PK-GRAY]). Both a certificate signer and a PUB_KEY_ID signer
     * may be configured at once. */
    struct mock_platform *signers;
    size_t nsigners;
    struct mock_record *records; /* initial authorization records */
    size_t nrecords;
    enum mock_unknown_policy unknown_policy;
    int64_t skew; /* request timestamp window, seconds */
    bool replay_check;
    bool sign_errors;
    bool allow_spaces_in_authz; /* accept SP after commas in Authorization */
    size_t journal_size;
    size_t journal_bytes; /* the journal's byte budget; 0: MOCK_JOURNAL_BYTES_DEFAULT */
    char *admin_token;    /* NULL: admin API open */
    struct mock_notify_config notify;
    /* "" or one line: a private key file of the config is open to others (wxp_keyfile_warning).
     * main.c prints it; the loader never prints. */
    char key_warning[WXP_KEYFILE_WARNING_MAX];
};

/* Defaults: the embedded test merchant 1900000109 and platform key. */
enum wxp_code mock_config_defaults(struct mock_config *c, struct wxp_err *err);
/* Applies a JSON config file on top of `c`. Errors name the file and the field. */
enum wxp_code mock_config_load(struct mock_config *c, const char *path, struct wxp_err *err);
/* The same from a document in memory, text[0..len); `origin` names it in errors and relative key
 * paths resolve against its directory. mock_config_load reads the file and calls this. */
enum wxp_code mock_config_load_text(struct mock_config *c, const char *text, size_t len,
                                    const char *origin, struct wxp_err *err);
void mock_config_free(struct mock_config *c);
const struct mock_merchant *mock_config_merchant(const struct mock_config *c, struct wxp_str mchid);

/* ---- authorization state (thread-safe) ---------------------------------------------------- */
struct mock_state;

struct mock_state *mock_state_new(const struct mock_config *c);
void mock_state_free(struct mock_state *s);
/* Back to the config's records. */
void mock_state_reset(struct mock_state *s);

enum mock_term_result {
    MOCK_TERM_OK,
    MOCK_TERM_NOT_FOUND, /* no record and policy says so */
    MOCK_TERM_ALREADY,   /* record exists and is not AVAILABLE */
    MOCK_TERM_FULL,      /* unknown and authorized by policy, but the state holds its cap */
};
/* Atomically: if (openid, service_id) of mchid is AVAILABLE (or unknown and the policy treats it
 * as authorized), mark it UNAVAILABLE and return MOCK_TERM_OK. */
enum mock_term_result mock_state_terminate(struct mock_state *s, const char *mchid,
                                           const char *openid, const char *appid,
                                           const char *service_id, const char *reason, int64_t now);
/* What a state operation found. */
enum mock_st {
    MOCK_ST_OK,
    MOCK_ST_NOT_FOUND, /* no such record, and the unknown_openid policy supplies none */
    MOCK_ST_STATE,     /* the record's state does not allow the transition */
    MOCK_ST_AVAILABLE, /* user-accept: the (mchid, service_id, openid) is already AVAILABLE */
    MOCK_ST_DUPLICATE, /* apply: the merchant already used this authorization_code */
    MOCK_ST_EXPIRED,   /* user-accept by code: the apply token's hour is over */
    MOCK_ST_FULL,      /* no room (the record cap, memory) or a value too long to store */
};

/* Each operation below is atomic (the state's one mutex) and, on MOCK_ST_OK and when `out` is not
 * NULL, copies the record as it is afterwards into *out. Strings are NUL-terminated; optional ones
 * may be NULL. */

/* Pre-authorization: a new UNBINDUSER record of in->mchid with in->service_id, appid,
 * authorization_code, notify_url and token, the token valid MOCK_APPLY_TTL seconds from `now`.
 * MOCK_ST_DUPLICATE when the merchant already has a record with that code. */
enum mock_st mock_state_apply(struct mock_state *s, const struct mock_record *in, int64_t now,
                              struct mock_record *out);
/* The record of (mchid, code); MOCK_ST_NOT_FOUND when there is none or it belongs to another
 * service_id. The unknown_openid policy does not apply: a code exists only once applied. */
enum mock_st mock_state_query_code(struct mock_state *s, const char *mchid, const char *code,
                                   const char *service_id, struct mock_record *out);
/* The record of (mchid, service_id, openid). An unknown triple under the "authorized" policy reads
 * as AVAILABLE (with `appid`, no times, no code) and nothing is stored. */
enum mock_st mock_state_query_openid(struct mock_state *s, const char *mchid, const char *openid,
                                     const char *service_id, const char *appid,
                                     struct mock_record *out);
/* Terminate by code: AVAILABLE -> UNAVAILABLE with `reason` and terminated_at = now.
 * MOCK_ST_NOT_FOUND as for mock_state_query_code; MOCK_ST_STATE when not AVAILABLE. */
enum mock_st mock_state_terminate_code(struct mock_state *s, const char *mchid, const char *code,
                                       const char *service_id, const char *reason, int64_t now,
                                       struct mock_record *out);
/* The user accepts in WeChat (admin API). With `code`: the UNBINDUSER record of (mchid, code) and
 * service_id is bound to `openid` and becomes AVAILABLE (MOCK_ST_NOT_FOUND: no such code for that
 * service; MOCK_ST_STATE: already bound; MOCK_ST_EXPIRED: its token's hour is over). Without:
 * the record of the triple is created or reopened as AVAILABLE. Either way MOCK_ST_AVAILABLE when
 * the triple is already AVAILABLE; an older UNAVAILABLE or UNBINDUSER record of the triple is
 * replaced by the bound one. authorized_at = now; `appid` (may be NULL) replaces the stored one. */
enum mock_st mock_state_user_accept(struct mock_state *s, const char *mchid, const char *service_id,
                                    const char *openid, const char *appid, const char *code,
                                    int64_t now, struct mock_record *out);
/* The user ends the authorization in WeChat (admin API): AVAILABLE -> UNAVAILABLE, terminated_at =
 * now, no reason. MOCK_ST_STATE when not AVAILABLE; an unknown triple follows the unknown_openid
 * policy as a terminate does. */
enum mock_st mock_state_user_close(struct mock_state *s, const char *mchid, const char *service_id,
                                   const char *openid, int64_t now, struct mock_record *out);
/* One record as the state dump writes it (appended to out). */
enum wxp_code mock_state_record_json(struct wxp_buf *out, const struct mock_record *r);
/* "AVAILABLE", "UNAVAILABLE", "UNBINDUSER". */
const char *mock_state_name(enum mock_auth_state st);
/* Unix seconds as RFC 3339 in China Standard Time, "2026-12-04T17:20:00+08:00" (26 bytes and the
 * NUL; dst must hold MOCK_TIME_TEXT). */
#define MOCK_TIME_TEXT 32
void mock_time_text(int64_t t, char dst[MOCK_TIME_TEXT]);

/* The records as a JSON array (appended to out). */
enum wxp_code mock_state_dump(struct mock_state *s, struct wxp_buf *out);
/* The records from the offset-th (0-based, in dump order: stored records, then learned ones in
 * the order they were learned) on, at most `limit` of them (0 = all), as a JSON array appended to
 * out; *total (may be NULL) gets the number of records in the whole dump. On an error (such as
 * WXP_E_TOO_LARGE from out's cap) out is left as it was. */
enum wxp_code mock_state_dump_page(struct mock_state *s, size_t offset, size_t limit,
                                   struct wxp_buf *out, size_t *total);
/* Lowers the record cap (at most MOCK_STATE_RECORDS_MAX) so that tests reach it quickly. */
void mock_state_set_max(struct mock_state *s, size_t max);
/* Replaces all records from a JSON array as produced by mock_state_dump. */
enum wxp_code mock_state_load_json(struct mock_state *s, const char *json, size_t len,
                                   struct wxp_err *err);

/* ---- nonce cache (replay check, thread-safe) -------------------------------------------- */
struct mock_nonces;
struct mock_nonces *mock_nonces_new(size_t max);
void mock_nonces_free(struct mock_nonces *n);
/* true when (mchid, nonce) was seen with a timestamp still inside the window; otherwise
 * remembers it and returns false. Entries older than the window are forgotten. */
bool mock_nonces_seen(struct mock_nonces *n, struct wxp_str mchid, struct wxp_str nonce, int64_t ts,
                      int64_t now, int64_t window);
void mock_nonces_clear(struct mock_nonces *n);

/* ---- journal (bounded ring, thread-safe) ------------------------------------------------ */
/* Bytes the journal may hold by default (--journal-mb): each entry is charged its copy of the
 * request and its JSON form. */
#define MOCK_JOURNAL_BYTES_DEFAULT ((size_t)32 * 1024 * 1024)
struct mock_journal;
/* A journal of at most `cap` entries (0 means 1) and MOCK_JOURNAL_BYTES_DEFAULT bytes. */
struct mock_journal *mock_journal_new(size_t cap);
/* Sets the byte budget: from the next add on, the oldest entries are dropped while the entries
 * hold more than `bytes` (the newest one always stays). */
void mock_journal_set_budget(struct mock_journal *j, size_t bytes);
/* Bytes the entries hold now (never more than the budget, but for a lone entry larger than it). */
size_t mock_journal_bytes(struct mock_journal *j);
/* The largest answer mock_journal_dump can write: the budget plus the largest single entry. */
size_t mock_journal_dump_max(struct mock_journal *j);
void mock_journal_free(struct mock_journal *j);
void mock_journal_add(struct mock_journal *j, const struct mock_request *req,
                      const struct mock_response *resp);
void mock_journal_clear(struct mock_journal *j);
/* Entries as a JSON array, oldest first, filtered (NULL = any): method, path prefix, status,
 * failed_check; at most `limit` newest (0 = all). */
struct mock_journal_filter {
    const char *method;
    const char *path;
    unsigned status;
    const char *failed_check;
    size_t limit;
};
enum wxp_code mock_journal_dump(struct mock_journal *j, const struct mock_journal_filter *f,
                                struct wxp_buf *out);

/* ---- scenarios (thread-safe) ------------------------------------------------------------ */
struct mock_scenarios;
struct mock_scenarios *mock_scenarios_new(void);
void mock_scenarios_free(struct mock_scenarios *s);
/* Adds the rules of a scenario document (a JSON array of rules, or {"rules":[...]}).
 * `origin` names the file or "admin" in errors. All-or-nothing. */
enum wxp_code mock_scenarios_add_json(struct mock_scenarios *s, const char *json, size_t len,
                                      const char *origin, struct wxp_err *err);
void mock_scenarios_clear(struct mock_scenarios *s);
/* Rules with their remaining counts, as JSON. */
enum wxp_code mock_scenarios_dump(struct mock_scenarios *s, struct wxp_buf *out);
/* Finds the first rule that matches `req` (counting it) and applies its action to `resp`:
 * returns true when the action answers by itself (respond/drop/malformed body), so the normal
 * checks must be skipped; false when it only tampers with (or delays) the normal answer, or when
 * no rule matched (resp untouched). `openid` is the decoded path openid or NULL, `mchid` the
 * Authorization mchid or NULL. */
bool mock_scenarios_apply(struct mock_scenarios *s, const struct mock_request *req,
                          const char *openid, const char *mchid, struct mock_response *resp);
/* What a rule may match besides the request itself: the routed operation's name (NULL when the
 * request routes to none), its path parameters decoded (a value NULL when its percent-encoding
 * is bad), and the Authorization mchid (or NULL). Borrowed for the call. */
#define MOCK_MATCH_PARAMS_MAX 4
struct mock_match {
    const char *operation;
    const char *name[MOCK_MATCH_PARAMS_MAX];
    const char *value[MOCK_MATCH_PARAMS_MAX];
    size_t nparams;
    const char *mchid;
};
/* mock_scenarios_apply with everything a rule can match; mock_scenarios_apply is this with only
 * the path openid and the mchid. */
bool mock_scenarios_apply_match(struct mock_scenarios *s, const struct mock_request *req,
                                const struct mock_match *m, struct mock_response *resp);
/* Tests only (NULL in the programs): called by every mock_scenarios_apply_match after it has
 * taken its snapshot of the rules and released the lock, before it matches. */
extern void (*mock_scenarios_test_hook)(void);

/* ---- response signature cache (--sign-cache, thread-safe) ------------------------------- */
/* A throughput mode: the timestamp, nonce and signature of a response are reused for identical
 * response bytes signed by the same key within the same second. Off by default (every answer
 * then has a fresh nonce, as the real server's do). */
struct mock_sign_cache;
struct mock_notifier;
struct mock_sign_cache *mock_sign_cache_new(size_t nsigners);
void mock_sign_cache_free(struct mock_sign_cache *c);

/* ---- the server ------------------------------------------------------------------------ */
struct mock_server {
    struct mock_config cfg;
    struct mock_state *state;
    struct mock_nonces *nonces;
    struct mock_journal *journal;
    struct mock_scenarios *scenarios;
    struct mock_sign_cache *sign_cache; /* NULL unless --sign-cache */
    struct mock_notifier *notifier;     /* notifications to the merchant (notify.c) */
    pthread_mutex_t seq_lock;
    uint64_t seq;
    uint64_t user_events[2]; /* by enum mock_user_event, under seq_lock (notify.c) */
    /* The index in cfg.signers of the signer that answers by default: 0 at start and after a
     * reset, moved by POST /__admin/platform/rotate (platform.c). */
    atomic_size_t signer;
    int log_json;
    int quiet;
};

/* Makes *srv a server for the configuration *cfg (server.c). It takes over what *cfg holds (the
 * caller's *cfg is zeroed, whatever the result), then makes the authorization state from its
 * records, a nonce cache of at most nonce_max entries, a journal of cfg->journal_size entries
 * (at least 1), an empty scenario list and, when sign_cache (--sign-cache), a response signature
 * cache. log_json and quiet start at 0 and seq at 0; set them afterwards. Returns WXP_OK, or
 * WXP_E_NOMEM. Whatever it returns, release *srv with mock_server_free, which frees the
 * configuration too (so records, keys and strings in *cfg must come from wxp_malloc, as the
 * config loader's do). Example:
 *     struct mock_config cfg;          filled by mock_config_defaults, mock_config_load
 *     struct mock_server srv;
 *     enum wxp_code rc = mock_server_init(&srv, &cfg, MOCK_NONCE_CACHE_MAX, false, &err);
 *     if (rc == WXP_OK) { ... mock_handle(&srv, &req, &resp) ... }
 *     mock_server_free(&srv); */
enum wxp_code mock_server_init(struct mock_server *srv, struct mock_config *cfg, size_t nonce_max,
                               bool sign_cache, struct wxp_err *err) WXP_MUST_CHECK;
/* The next request number, 1, 2, ... (thread-safe). */
uint64_t mock_server_next_seq(struct mock_server *srv);
/* Frees what mock_server_init made and the configuration it took; leaves *srv zeroed. Only for a
 * server mock_server_init has seen; never while a daemon still serves it. */
void mock_server_free(struct mock_server *srv);
/* The clocks every module reads, in milliseconds (server.c): wall time (Unix epoch) for what is
 * shown, monotonic time for deadlines and latencies. */
int64_t mock_wall_ms(void);
int64_t mock_mono_ms(void);

/* ---- platform certificates (platform.c) ----------------------------------------------- */
/* Reads a certificate (a file `path`, or else PEM text `pem`) into p->cert_pem, p->not_before and
 * p->not_after. Returns WXP_OK, WXP_E_KEY_PEM (not a PEM certificate, or a validity it cannot
 * read), WXP_E_NOMEM, WXP_E_IO (the file). Messages name the file, never PEM text. */
enum wxp_code mock_platform_cert(struct mock_platform *p, const char *path, const char *pem,
                                 struct wxp_err *err) WXP_MUST_CHECK;
/* Whether p is a certificate signer inside its validity at `now` (notBefore <= now < notAfter). */
bool mock_platform_cert_valid(const struct mock_platform *p, int64_t now);
/* The signer that answers by default now. */
const struct mock_platform *mock_platform_current(const struct mock_server *srv);
/* Makes the next certificate signer after the current one (config order, no wrap), valid at
 * `now`, the default signer and returns it; NULL (nothing changes) when there is none. */
const struct mock_platform *mock_platform_rotate(struct mock_server *srv, int64_t now);
/* Back to the configured default signer (index 0). */
void mock_platform_reset(struct mock_server *srv);

/* ---- operations (ops.c) ----------------------------------------------------------------- */
struct wxp_route;
struct wxp_values;
/* What a business handler sees: the request after every common check passed. */
struct mock_op_ctx {
    struct mock_server *srv;
    const struct mock_request *req;
    const struct mock_merchant *m; /* the Authorization's merchant */
    const struct wxp_route *route; /* route->op is the operation */
    const struct wxp_values *vals; /* its parameters, checked, decoded (wxp_op_check_request) */
    int64_t now;                   /* Unix seconds */
};
/* Runs the business handler of c->route->op: its rules, the state change, and the answer (a
 * signed 200 with the operation's response body, a signed 204, or a business error). */
void mock_op_run(const struct mock_op_ctx *c, struct mock_response *resp);

/* The whole checking order for one request (check.c). Fills `resp`. */
void mock_handle(struct mock_server *srv, const struct mock_request *req,
                 struct mock_response *resp);
/* Signs `resp` in place per its flags, adding the Wechatpay-* headers to `hdrs` (sign.c). */
struct mock_out_headers {
    char request_id[64];
    char timestamp[MOCK_TS_TEXT_MAX + 24]; /* ts_text with {now} expanded, or the seconds */
    char nonce[40];
    char serial[WXP_KEY_ID_MAX + 1];
    char signature[800];
    bool has_sig;
};
enum wxp_code mock_sign_response(const struct mock_server *srv, const struct mock_request *req,
                                 const struct mock_response *resp, struct mock_out_headers *out,
                                 struct wxp_err *err);
/* Frees the key forged answers are signed with, parsed on first use (sign.c); for exit. */
void mock_sign_cleanup(void);
/* ---- notifications to the merchant (notify.c; docs/notifications.md) ------------------- */
/* The user-side events of the permissions lifecycle. */
enum mock_user_event {
    MOCK_USER_OPEN_SERVICE,  /* the user accepted: PAYSCORE.USER_OPEN_SERVICE */
    MOCK_USER_CLOSE_SERVICE, /* the user ended it in WeChat: PAYSCORE.USER_CLOSE_SERVICE */
    MOCK_USER_EVENTS
};
/* Called once for each user-side transition (and a merchant's terminate when
 * notify.terminate_sends_close), after the state changed, with the record as it is now: the one
 * place the USER_OPEN_SERVICE / USER_CLOSE_SERVICE notifications come from. Counts the event in
 * srv->user_events and queues the notification (or records why it was not sent). */
void mock_notify_user_event(struct mock_server *srv, enum mock_user_event ev,
                            const struct mock_record *r);

/* Faults a notification can carry (docs/mock-scenarios.md#notification-faults). */
enum mock_nfault {
    MOCK_NF_NONE,
    MOCK_NF_SIGNTEST,          /* Wechatpay-Signature: WECHATPAY/SIGNTEST/ + base64 */
    MOCK_NF_STALE_TIMESTAMP,   /* signed with a timestamp 10 minutes old */
    MOCK_NF_UNKNOWN_SERIAL,    /* Wechatpay-Serial names no platform key */
    MOCK_NF_TAMPER_CIPHERTEXT, /* one bit of the ciphertext flipped (then signed) */
    MOCK_NF_TAMPER_TAG,        /* one bit of the GCM tag flipped (then signed) */
    MOCK_NF_WRONG_ALGORITHM,   /* resource.algorithm AEAD_SM4_GCM */
    MOCK_NF_NO_SIGNATURE_TYPE, /* no Wechatpay-Signature-Type header */
    MOCK_NF_DUPLICATE,         /* delivered once more (same id) after it succeeded */
    MOCK_NF_OUT_OF_ORDER,      /* held back until the next notification has been sent */
    MOCK_NF_DELAY,             /* waits delay_ms before the first attempt */
    MOCK_NF_COUNT
};
/* "signtest", ... (the names the admin API takes); NULL beyond the table. */
const char *mock_nfault_name(enum mock_nfault f);
/* The fault of that name; false when there is none. */
bool mock_nfault_parse(const char *name, enum mock_nfault *out);

/* A notification to send (POST /__admin/notifications, or made from a record). */
struct mock_notify_req {
    const char *mchid;           /* the merchant whose APIv3 key encrypts it; NULL: the first one */
    const char *url;             /* NULL or "": the merchant's notify_url */
    const char *id;              /* NULL: a fresh UUID-form id */
    const char *event_type;      /* required */
    const char *summary;         /* required */
    const char *original_type;   /* NULL: "payscore" */
    const char *associated_data; /* NULL: "" */
    struct wxp_str plaintext;    /* the resource JSON to encrypt */
    enum mock_nfault fault;      /* MOCK_NF_NONE: the next queued fault, if any */
    long delay_ms;               /* MOCK_NF_DELAY */
    unsigned count;              /* 0 or 1: one; 2..MOCK_NOTIFY_BATCH_MAX: a batch (id NULL) */
};
/* The most notifications one request may ask for (POST /__admin/notifications "count"). */
#define MOCK_NOTIFY_BATCH_MAX 1000
/* What became of a request to send. */
enum mock_nsent {
    MOCK_NSENT_QUEUED,   /* queued; *n_out is its number */
    MOCK_NSENT_NO_URL,   /* recorded, not sent: no notify_url */
    MOCK_NSENT_REMOTE,   /* recorded, not sent: the URL is not loopback (no --allow-remote) */
    MOCK_NSENT_BAD_URL,  /* recorded, not sent: not an http(s) URL */
    MOCK_NSENT_FULL,     /* recorded, not sent: the queue is full (count or bytes) */
    MOCK_NSENT_NO_CURL,  /* recorded, not sent: libcurl could not be loaded */
    MOCK_NSENT_MERCHANT, /* not recorded: no such merchant, or it has no APIv3 key */
    MOCK_NSENT_ERROR,    /* not recorded: the envelope could not be built (err says why) */
};
/* Records and (when it can) queues one notification; thread-safe. `why` (cap bytes) gets a one
 * line reason when it is not queued; id_out (at least 64 bytes, may be NULL) its envelope id.
 * With rq->count > 1, queues that many, each with its own fresh id, envelope and signature, with
 * consecutive numbers from *n_out (id_out: the first one's id), or none at all: a batch that
 * does not fit in the queue is MOCK_NSENT_FULL, and a refused batch is not recorded. */
enum mock_nsent mock_notify_send(struct mock_server *srv, const struct mock_notify_req *rq,
                                 uint64_t *n_out, char *id_out, char *why, size_t why_cap);
/* The next `count` notifications carry fault f (delay_ms for MOCK_NF_DELAY). false when the
 * table of pending fault rules (16) is full. */
bool mock_notify_fault_next(struct mock_server *srv, enum mock_nfault f, unsigned count,
                            long delay_ms);
/* Every notification with every attempt, as a JSON array, oldest first; at most `limit` newest
 * (0 = all). */
enum wxp_code mock_notify_dump(struct mock_server *srv, size_t limit, struct wxp_buf *out);
/* Forgets every notification and queued fault (an attempt in flight is finished, not kept). */
void mock_notify_clear(struct mock_server *srv);
/* Starts the sender thread (wxpay-mock; in-process tests without it only queue). */
enum wxp_code mock_notify_start(struct mock_server *srv, struct wxp_err *err);
/* Stops it: waits for the attempt in flight (at most notify.timeout_ms) and never for the
 * schedule. Safe when not started. */
void mock_notify_stop(struct mock_server *srv);
/* The notifier behind srv->notifier (server.c). */
struct mock_notifier *mock_notifier_new(struct mock_server *srv);
void mock_notifier_free(struct mock_notifier *n);
/* Whether `host` (a numeric IPv4 or IPv6 address, brackets removed, or "localhost") is a
 * loopback address: 127.0.0.0/8, ::1, localhost. Names other than localhost are not. */
bool mock_host_is_loopback(const char *host);

/* /__admin/ endpoints (admin.c). */
void mock_admin_handle(struct mock_server *srv, const struct mock_request *req,
                       struct mock_response *resp);

#endif
