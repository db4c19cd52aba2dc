/* SPDX-License-Identifier: MIT */
/* server.c: server mode. Each case of cases/server.json names an operation and a kind; the kind
 * shapes one signed request of that operation (or breaks it on purpose), the request goes to the
 * server under test, and the answer is graded against the case's expectation: status, WeChat code,
 * response signature, plus what the kind checks on its own (Request-ID, detail, message, the 200
 * body). Targets and bodies come from the core's operation table (wxp/op.h): no API path is
 * written here. Nothing assumes our mock, except the end-to-end case that needs a user's consent,
 * which only wxpay-mock's admin API can give (not applicable elsewhere). */
#include <curl/curl.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "conf.h"
#include "wxp/authz.h"
#include "wxp/certlist.h"
#include "wxp/envelope.h"
#include "wxp/keyfile.h"
#include "wxp/keys.h"
#include "wxp/nonce.h"
#include "wxp/op.h"
#include "wxp/query.h"
#include "wxp/sign.h"
#include "wxp/signmsg.h"
#include "wxp/str.h"
#include "wxp/verify.h"

/* TEST ONLY fixtures compiled in (conformance/CMakeLists.txt, wxp_embed). */
extern const char conf_embed_merchant_key[];
extern const char conf_embed_merchant_b_key[];
extern const char conf_embed_wrong_key[];
extern const char conf_embed_platform_cert[];
extern const char conf_embed_platform_pubkey[];

#define PLATFORM_PUBKEY_ID "PUB_KEY_ID_0119000001092025112400000000000001"
#define DEFAULT_REASON "wxpay-conformance"
/* A path variable whose bytes a kind gives raw (not percent-encoded) is built with this marker as
 * its value, then the marker is replaced: the core encodes values, a case may want to send any
 * bytes. Unreserved characters only, so the core keeps it as is. */
#define SEGMENT_MARKER "wxpconfRAWsegmentMARKER"
/* The wxpay-mock admin endpoint that plays the user's consent in WeChat
 * (docs/mock-admin.md). */
#define ADMIN_USER_ACCEPT "/__admin/payscore/user-accept"
#define USER_AGENT "wxpay-conformance/0.1 (server mode)"
#define OPENID_RANDOM 12
#define REQ_BODY_MAX ((size_t)64 * 1024)
#define TARGET_MAX 4096
#define HDRS_MAX 12
#define TEXT_MAX 256

/* The bundled mock's URL, which ctx->base_url points to when we started it; it outlives
 * conf_server_end so that a report written afterwards can still name the target. */
static char mock_url[128];

/* What conf_server_begin sets up for every case. */
static struct {
    struct conf_mock mock;
    bool mock_running;
    struct wxp_key *key;       /* merchant key: --mch-key or the embedded test key */
    struct wxp_key *key_b;     /* another merchant's key */
    struct wxp_key *key_wrong; /* a key no merchant has */
    struct wxp_keystore *platform;
    bool platform_given;                /* the user's platform keys, not the fixtures' */
    char pubkey_id[WXP_KEY_ID_MAX + 1]; /* the first platform public key's id, or "" */
    char serial[WXP_KEY_ID_MAX + 1];    /* the merchant serial the requests name */
    char origin[256];                   /* scheme://host[:port] of the server under test */
    char prefix[256];        /* path part of the base URL, no trailing slash ("" usually) */
    unsigned char apiv3[32]; /* --apiv3-key-file / --apiv3-key (wiped at the end) */
    bool apiv3_given;
} S;

struct hdr {
    char name[32];
    char value[512];
    bool removed; /* sent as "Name:" so that curl drops its default */
};

/* One request, the parts that are signed kept apart from the parts that are sent so that a kind
 * can make them differ ("" or !sign_body_set: signed as sent). */
struct req {
    char method[16], sign_method[16];
    char target[TARGET_MAX], sign_target[TARGET_MAX];
    struct wxp_buf body, sign_body;
    bool sign_body_set;
    bool no_body;
    char ts[64], sign_ts[64];
    char nonce[64], sign_nonce[64];
    const struct wxp_key *key;
    char mchid[64], serial[128];
    /* Authorization shaping */
    bool no_authz;
    char scheme[64], gap[8], sep[8];
    char quote; /* '"', '\'' or 0 (none) */
    const char *const *order;
    char drop[16], dup[16], empty[16], unknown[16];
    char sig[WXP_SIG_B64_MAX];
    bool sig_set;
    bool authz_done;
    char authz[TARGET_MAX];
    struct hdr hdrs[HDRS_MAX];
    size_t nhdrs;
};

enum extra {
    X_NONE,
    X_REQUEST_ID,   /* Request-ID present and not empty */
    X_SIGTYPE,      /* Wechatpay-Signature-Type names the scheme */
    X_SERIAL_ECHO,  /* Wechatpay-Serial equals the one the request asked for */
    X_TS_MESSAGE,   /* the error message is the timestamp one */
    X_DETAIL,       /* PARAM_ERROR detail: location, value, field in the message */
    X_ENVELOPE,     /* the error body is an envelope whatever the code */
    X_CONTENT_TYPE, /* the error body is declared application/json */
    X_BODY,         /* the success body has the operation's fields, with the values sent */
    X_CERTS,        /* every listed certificate decrypts with the APIv3 key and matches */
};

struct run {
    const struct conf_context *ctx;
    const struct conf_case *c;
    const struct wxp_op *op; /* the case's operation */
    struct conf_outcome *out;
    struct req rq;
    struct conf_http_resp resp;
    char openid[TEXT_MAX];
    char code[64];        /* authorization_code: fresh per case, like the openid */
    char setup[TEXT_MAX]; /* why the case could not be set up ("" when it could) */
    /* Set when the server lacks what the case needs (wxpay-mock's admin API): not applicable. */
    char not_applicable[TEXT_MAX];
    enum extra extra;
    char want_location[32], want_value[32], want_field[128], want_serial[128];
    char want_state[32]; /* X_BODY: the authorization_state expected, or "" */
    /* Request shaping of the case's own operation: a path variable sent raw, a query sent as
     * given (instead of the table's), the table's query pairs in reverse order. */
    char raw_var[32];
    char raw_seg[TEXT_MAX];
    bool query_set;
    char query[TARGET_MAX];
    bool query_reverse;
    size_t setup_exchanges; /* exchanges sent before the graded one */
    bool accepted;          /* the user accepted r->code with r->openid (admin API) */
    bool graded_label;      /* "# graded request" already written */
};

typedef int (*prep_fn)(struct run *r, const char *param);

static const char *const ORDER_GO[] = {"mchid",     "nonce_str", "timestamp",
                                       "serial_no", "signature", NULL};
static const char *const ORDER_PHP[] = {"mchid",     "serial_no", "timestamp",
                                        "nonce_str", "signature", NULL};
static const char *const ORDER_POSTMAN[] = {"mchid",     "serial_no", "nonce_str",
                                            "timestamp", "signature", NULL};
static const char *const ORDER_DOC[] = {"mchid",     "nonce_str", "signature",
                                        "timestamp", "serial_no", NULL};

/* ---- small helpers ------------------------------------------------------------------------ */

/* Appends to a report buffer; the report is best effort, so a full buffer just stops growing. */
static void keep(struct wxp_buf *b, const char *p, size_t n)
{
    if (wxp_buf_add(b, p, n) != WXP_OK) {
        return;
    }
}

static void keeps(struct wxp_buf *b, const char *s)
{
    keep(b, s, strlen(s));
}

static void copy(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src != NULL ? src : "");
}

static void setup_fail(struct run *r, const char *fmt, ...) WXP_PRINTF(2, 3);
static void setup_fail(struct run *r, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(r->setup, sizeof r->setup, fmt, ap);
    va_end(ap);
}

static bool fresh_nonce(char out[WXP_NONCE_LEN + 1])
{
    return wxp_nonce(out, NULL) == WXP_OK;
}

/* ctx->openid_prefix + 12 random characters of [A-Za-z0-9]. */
static bool fresh_openid(const struct conf_context *ctx, char *out, size_t cap)
{
    char n[WXP_NONCE_LEN + 1];

    if (!fresh_nonce(n)) {
        return false;
    }
    snprintf(out, cap, "%s%.*s", ctx->openid_prefix ? ctx->openid_prefix : "oConf", OPENID_RANDOM,
             n);
    return true;
}

/* Appends `s` JSON-escaped without the quotes (values spliced into a body template). */
static enum wxp_code add_json_inner(struct wxp_buf *b, const char *s)
{
    struct wxp_buf q;
    enum wxp_code rc;

    wxp_buf_init(&q, REQ_BODY_MAX);
    rc = wxp_json_quote(&q, s, strlen(s), NULL);
    if (rc == WXP_OK) {
        rc = wxp_buf_add(b, q.ptr + 1, q.len - 2);
    }
    wxp_buf_free(&q);
    return rc;
}

/* Expands a template: {openid} {authorization_code} {service_id} {appid} {other_appid} {reason}
 * {mchid}, {lf} (a
 * line feed: catalogue params are one line), {empty} (nothing: params are never empty) and
 * {repeat N TEXT} (TEXT N times). Any other '{' is copied as is (JSON objects). With `json` the
 * context values are JSON-escaped. */
static enum wxp_code expand(const struct run *r, const char *t, bool json, struct wxp_buf *out)
{
    static const char *const names[] = {"openid",      "service_id", "appid",
                                        "other_appid", "reason",     "mchid",
                                        "lf",          "empty",      "authorization_code"};
    const char *values[] = {r->openid,      r->ctx->service_id, r->ctx->appid, r->ctx->other_appid,
                            DEFAULT_REASON, r->ctx->mchid,      "\n",          "",
                            r->code};
    enum wxp_code rc = WXP_OK;

    while (*t != '\0' && rc == WXP_OK) {
        const char *close = *t == '{' ? strchr(t, '}') : NULL;
        size_t i, n = close != NULL ? (size_t)(close - t - 1) : 0;

        if (close == NULL) {
            rc = wxp_buf_add(out, t, 1);
            t++;
            continue;
        }
        for (i = 0; i < sizeof names / sizeof names[0]; i++) {
            if (strlen(names[i]) == n && memcmp(t + 1, names[i], n) == 0) {
                break;
            }
        }
        if (i < sizeof names / sizeof names[0]) {
            const char *v = values[i] != NULL ? values[i] : "";
            /* {lf} is raw: JSON whitespace, not a value */
            rc = json && strcmp(names[i], "lf") != 0 ? add_json_inner(out, v)
                                                     : wxp_buf_addstr(out, v);
            t = close + 1;
            continue;
        }
        if (n > 7 && memcmp(t + 1, "repeat ", 7) == 0) {
            char *end;
            unsigned long times = strtoul(t + 8, &end, 10);
            if (end != t + 8 && *end == ' ' && end < close && times <= 65536) {
                for (unsigned long k = 0; k < times && rc == WXP_OK; k++) {
                    rc = wxp_buf_add(out, end + 1, (size_t)(close - end - 1));
                }
                t = close + 1;
                continue;
            }
        }
        rc = wxp_buf_add(out, t, 1);
        t++;
    }
    return rc;
}

static int set_target(struct run *r, char *dst, const char *path_template)
{
    struct wxp_buf b;
    int ret = 0;

    wxp_buf_init(&b, TARGET_MAX - 1);
    if (wxp_buf_addstr(&b, S.prefix) != WXP_OK || expand(r, path_template, false, &b) != WXP_OK) {
        setup_fail(r, "the request target is longer than %s bytes", "4095");
        ret = -1;
    } else {
        copy(dst, TARGET_MAX, wxp_buf_cstr(&b));
    }
    wxp_buf_free(&b);
    return ret;
}

/* The value of each parameter row of `op` (indexed like op->params->fields), by its name: the
 * case's fresh openid and authorization_code, the context's service_id and appid, our reason. A
 * row we have no value for (notify_url) stays absent. */
static void fill_values(const struct run *r, const struct wxp_op *op,
                        const char *vals[WXP_SCHEMA_MAX_FIELDS])
{
    static const char *const NAMES[] = {"openid", "authorization_code", "service_id", "appid",
                                        "reason"};
    const char *const values[] = {r->openid, r->code, r->ctx->service_id, r->ctx->appid,
                                  DEFAULT_REASON};

    for (size_t i = 0; i < WXP_SCHEMA_MAX_FIELDS; i++) {
        vals[i] = NULL;
    }
    for (size_t i = 0; i < op->params->count && i < WXP_SCHEMA_MAX_FIELDS; i++) {
        for (size_t k = 0; k < sizeof NAMES / sizeof NAMES[0]; k++) {
            if (strcmp(op->params->fields[i].name, NAMES[k]) == 0) {
                vals[i] = values[k];
            }
        }
    }
}

static bool has_loc(const struct wxp_op *op, enum wxp_loc loc)
{
    for (size_t i = 0; i < op->params->count; i++) {
        if (op->params->fields[i].loc == loc) {
            return true;
        }
    }
    return false;
}

/* The name of the first path variable of `op`, or NULL. */
static const char *first_path_var(const struct wxp_op *op)
{
    for (size_t i = 0; i < op->params->count; i++) {
        if (op->params->fields[i].loc == WXP_LOC_URI_TEMPLATE) {
            return op->params->fields[i].name;
        }
    }
    return NULL;
}

/* `q` with its name=value pairs in reverse order, into out. */
static enum wxp_code reverse_query(const char *q, struct wxp_buf *out)
{
    struct wxp_query pairs;
    enum wxp_code rc = wxp_query_parse(wxp_str_c(q), &pairs, NULL);

    for (size_t i = pairs.n; rc == WXP_OK && i > 0; i--) {
        const struct wxp_query_pair *p = &pairs.pair[i - 1];
        rc = wxp_buf_addf(out, "%s%.*s=%.*s", i == pairs.n ? "" : "&", (int)p->name.len,
                          p->name.ptr, (int)p->value.len, p->value.ptr);
    }
    return rc;
}

/* Writes into dst the request target of `op` from the table (wxp_op_target), after the base URL's
 * path prefix. For the case's own operation, the kind's shaping applies: a raw path variable, a
 * query given as is, reversed query pairs. */
static int op_target(struct run *r, const struct wxp_op *op, const char *const *given, char *dst)
{
    const char *vals[WXP_SCHEMA_MAX_FIELDS];
    struct wxp_buf b, t;
    struct wxp_err err;
    const char *marker, *qmark;
    enum wxp_code rc;
    bool own = op == r->op;
    int ret = -1;

    memcpy(vals, given, sizeof vals);
    for (size_t i = 0; own && i < op->params->count && i < WXP_SCHEMA_MAX_FIELDS; i++) {
        const struct wxp_field *f = &op->params->fields[i];
        if (f->loc == WXP_LOC_URI_TEMPLATE && strcmp(f->name, r->raw_var) == 0) {
            vals[i] = SEGMENT_MARKER;
        }
        if (f->loc == WXP_LOC_QUERY && r->query_set) {
            vals[i] = NULL;
        }
    }
    wxp_buf_init(&b, TARGET_MAX - 1);
    wxp_buf_init(&t, TARGET_MAX - 1);
    rc = wxp_op_target(op, vals, &t, &err);
    if (rc != WXP_OK) {
        setup_fail(r, "the table cannot build the target of %s: %s", op->name, err.msg);
        goto out;
    }
    marker = strstr(wxp_buf_cstr(&t), SEGMENT_MARKER);
    qmark = strchr(wxp_buf_cstr(&t), '?');
    rc = wxp_buf_addstr(&b, S.prefix);
    if (rc == WXP_OK && marker != NULL) {
        rc = wxp_buf_add(&b, t.ptr, (size_t)(marker - t.ptr));
        if (rc == WXP_OK) {
            rc = wxp_buf_addstr(&b, r->raw_seg);
        }
        if (rc == WXP_OK) {
            rc = wxp_buf_addstr(&b, marker + strlen(SEGMENT_MARKER));
        }
    } else if (rc == WXP_OK && own && r->query_reverse && qmark != NULL) {
        rc = wxp_buf_add(&b, t.ptr, (size_t)(qmark - t.ptr) + 1);
        if (rc == WXP_OK) {
            rc = reverse_query(qmark + 1, &b);
        }
    } else if (rc == WXP_OK) {
        rc = wxp_buf_add(&b, t.ptr, t.len);
    }
    if (rc == WXP_OK && own && r->query_set && r->query[0] != '\0') {
        rc = wxp_buf_addf(&b, "?%s", r->query);
    }
    if (rc != WXP_OK) {
        setup_fail(r, "the request target is longer than %s bytes", "4095");
        goto out;
    }
    copy(dst, TARGET_MAX, wxp_buf_cstr(&b));
    ret = 0;
out:
    wxp_buf_free(&b);
    wxp_buf_free(&t);
    return ret;
}

/* The body of `op` from the table (wxp_op_body): the body rows that have a value, in order. */
static int op_body(struct run *r, const struct wxp_op *op, const char *const *vals,
                   struct wxp_buf *dst)
{
    struct wxp_err err;

    wxp_buf_reset(dst);
    if (wxp_op_body(op, vals, dst, &err) != WXP_OK) {
        setup_fail(r, "the table cannot build the body of %s: %s", op->name, err.msg);
        return -1;
    }
    return 0;
}

/* Target and body of the case's operation with the case's values. */
static int own_request(struct run *r, char *target, struct wxp_buf *body)
{
    const char *vals[WXP_SCHEMA_MAX_FIELDS];

    fill_values(r, r->op, vals);
    if (op_target(r, r->op, vals, target) != 0) {
        return -1;
    }
    return body != NULL ? op_body(r, r->op, vals, body) : 0;
}

static int set_body(struct run *r, struct wxp_buf *dst, const char *body_template)
{
    wxp_buf_reset(dst);
    if (expand(r, body_template, true, dst) != WXP_OK) {
        setup_fail(r, "the body template does not fit in %s bytes", "65536");
        return -1;
    }
    return 0;
}

static struct hdr *find_hdr(struct req *q, const char *name)
{
    for (size_t i = 0; i < q->nhdrs; i++) {
        if (strcasecmp(q->hdrs[i].name, name) == 0) {
            return &q->hdrs[i];
        }
    }
    return NULL;
}

/* "Name: value" replaces or adds a header; "-Name" removes it. */
static int set_header(struct run *r, const char *spec)
{
    struct req *q = &r->rq;
    bool remove = spec[0] == '-';
    const char *name = remove ? spec + 1 : spec;
    const char *colon = strchr(name, ':');
    size_t nlen = remove ? strlen(name) : (colon != NULL ? (size_t)(colon - name) : 0);
    char nm[32];
    struct hdr *h;

    if (nlen == 0 || nlen >= sizeof nm) {
        setup_fail(r, "header spec \"%s\" is not \"Name: value\" or \"-Name\"", spec);
        return -1;
    }
    memcpy(nm, name, nlen);
    nm[nlen] = '\0';
    h = find_hdr(q, nm);
    if (h == NULL) {
        if (q->nhdrs == HDRS_MAX) {
            setup_fail(r, "too many headers for %s", nm);
            return -1;
        }
        h = &q->hdrs[q->nhdrs++];
        copy(h->name, sizeof h->name, nm);
    }
    h->removed = remove;
    if (!remove) {
        const char *v = colon + 1;
        while (*v == ' ') {
            v++;
        }
        copy(h->value, sizeof h->value, v);
    }
    return 0;
}

/* A valid request of `op` for the case's fresh openid and authorization_code, signed with the
 * merchant key, now. An operation without body rows (a GET) is sent without a body and without
 * Content-Type. */
static int req_init(struct run *r, const struct wxp_op *op)
{
    struct req *q = &r->rq;
    const struct conf_context *ctx = r->ctx;
    const char *vals[WXP_SCHEMA_MAX_FIELDS];
    bool body = has_loc(op, WXP_LOC_BODY);

    memset(q, 0, sizeof *q);
    wxp_buf_init(&q->body, REQ_BODY_MAX);
    wxp_buf_init(&q->sign_body, REQ_BODY_MAX);
    copy(q->method, sizeof q->method, op->method);
    snprintf(q->ts, sizeof q->ts, "%lld", (long long)time(NULL));
    q->key = S.key;
    copy(q->mchid, sizeof q->mchid, ctx->mchid);
    copy(q->serial, sizeof q->serial, S.serial);
    copy(q->scheme, sizeof q->scheme, WXP_AUTHZ_SCHEME);
    copy(q->gap, sizeof q->gap, " ");
    copy(q->sep, sizeof q->sep, ",");
    q->quote = '"';
    q->order = ORDER_GO;
    q->no_body = !body;
    if (!fresh_nonce(q->nonce)) {
        setup_fail(r, "no random bytes for a nonce");
        return -1;
    }
    fill_values(r, op, vals);
    if (op_target(r, op, vals, q->target) != 0 || op_body(r, op, vals, &q->body) != 0) {
        return -1;
    }
    if (set_header(r, "Accept: application/json") != 0 ||
        set_header(r, "User-Agent: " USER_AGENT) != 0 ||
        (body && set_header(r, "Content-Type: application/json") != 0)) {
        return -1;
    }
    return 0;
}

static void req_free(struct req *q)
{
    wxp_buf_free(&q->body);
    wxp_buf_free(&q->sign_body);
}

static const char *or_sent(const char *signed_part, const char *sent)
{
    return signed_part[0] != '\0' ? signed_part : sent;
}

static enum wxp_code add_param(struct wxp_buf *b, const struct req *q, bool *first,
                               const char *name, const char *value)
{
    enum wxp_code rc = wxp_buf_addf(b, "%s%s=", *first ? "" : q->sep, name);
    *first = false;
    if (rc == WXP_OK && q->quote != 0) {
        rc = wxp_buf_add(b, &q->quote, 1);
    }
    if (rc == WXP_OK) {
        rc = wxp_buf_addstr(b, value);
    }
    if (rc == WXP_OK && q->quote != 0) {
        rc = wxp_buf_add(b, &q->quote, 1);
    }
    return rc;
}

/* Signs what the request says is signed and writes the Authorization value the kind shaped.
 * rule: METHOD\nTARGET\nTS\nNONCE\nBODY\n signed with the merchant key; five key="value"
 * parameters after one space. src: docs/protocol.md#request-signing-string,
 * docs/protocol.md#authorization-header. case: AUTH-003..AUTH-031 */
static int req_finish(struct run *r)
{
    struct req *q = &r->rq;
    struct wxp_buf msg, hv;
    const struct wxp_buf *sb = q->sign_body_set ? &q->sign_body : &q->body;
    char sig[WXP_SIG_B64_MAX], other[WXP_NONCE_LEN + 1];
    size_t siglen = 0;
    struct wxp_err err;
    enum wxp_code rc;
    bool first = true;
    int ret = -1;

    if (q->authz_done || q->no_authz) {
        return 0;
    }
    wxp_buf_init(&msg, WXP_SIGNMSG_MAX);
    wxp_buf_init(&hv, sizeof q->authz - 1);
    rc = wxp_signmsg_request(&msg, wxp_str_c(or_sent(q->sign_method, q->method)),
                             wxp_str_c(or_sent(q->sign_target, q->target)),
                             wxp_str_c(or_sent(q->sign_ts, q->ts)),
                             wxp_str_c(or_sent(q->sign_nonce, q->nonce)),
                             (struct wxp_str){wxp_buf_cstr(sb), sb->len}, &err);
    if (rc == WXP_OK) {
        rc = wxp_sign(q->key, msg.ptr, msg.len, sig, sizeof sig, &siglen, &err);
    }
    if (rc != WXP_OK) {
        setup_fail(r, "cannot sign the request: %s", err.msg);
        goto out;
    }
    if (q->sig_set) {
        copy(sig, sizeof sig, q->sig);
    }
    rc = wxp_buf_addf(&hv, "%s%s", q->scheme, q->gap);
    for (size_t i = 0; q->order[i] != NULL && rc == WXP_OK; i++) {
        const char *name = q->order[i];
        const char *value = strcmp(name, "mchid") == 0       ? q->mchid
                            : strcmp(name, "nonce_str") == 0 ? q->nonce
                            : strcmp(name, "timestamp") == 0 ? q->ts
                            : strcmp(name, "serial_no") == 0 ? q->serial
                                                             : sig;
        if (strcmp(name, q->drop) == 0) {
            continue;
        }
        rc = add_param(&hv, q, &first, name, strcmp(name, q->empty) == 0 ? "" : value);
    }
    if (rc == WXP_OK && q->dup[0] != '\0') {
        /* The repeated parameter carries a different value: which one would a lenient parser
         * take? */
        if (!fresh_nonce(other)) {
            setup_fail(r, "no random bytes for a nonce");
            goto out;
        }
        if (strcmp(q->dup, "timestamp") == 0) {
            snprintf(other, sizeof other, "%lld", (long long)time(NULL) - 1);
        }
        rc = add_param(&hv, q, &first, q->dup, other);
    }
    if (rc == WXP_OK && q->unknown[0] != '\0') {
        rc = add_param(&hv, q, &first, q->unknown, "conformance");
    }
    if (rc != WXP_OK) {
        setup_fail(r, "the Authorization header does not fit");
        goto out;
    }
    copy(q->authz, sizeof q->authz, wxp_buf_cstr(&hv));
    q->authz_done = true;
    ret = 0;
out:
    wxp_buf_free(&msg);
    wxp_buf_free(&hv);
    return ret;
}

/* Sends the request; records it and the answer in the outcome. `label` heads a preliminary
 * exchange in the report. */
static int req_send(struct run *r, const char *label)
{
    struct req *q = &r->rq;
    char lines[HDRS_MAX + 1][600];
    char authz_line[TARGET_MAX + 32];
    const char *list[HDRS_MAX + 3];
    char url[TARGET_MAX + 300];
    size_t n = 0;
    struct wxp_buf *rb = &r->out->request, *ab = &r->out->response;

    if (req_finish(r) != 0) {
        return -1;
    }
    for (size_t i = 0; i < q->nhdrs; i++) {
        const struct hdr *h = &q->hdrs[i];
        if (h->removed) {
            snprintf(lines[i], sizeof lines[i], "%s:", h->name);
        } else {
            snprintf(lines[i], sizeof lines[i], "%s: %s", h->name, h->value);
        }
        list[n++] = lines[i];
    }
    if (!q->no_authz) {
        snprintf(authz_line, sizeof authz_line, "Authorization: %s", q->authz);
        list[n++] = authz_line;
    }
    list[n] = NULL;
    snprintf(url, sizeof url, "%s%s", S.origin, q->target);

    if (label != NULL) {
        keeps(rb, label);
        keeps(ab, label);
    }
    keeps(rb, q->method);
    keeps(rb, " ");
    keeps(rb, q->target);
    keeps(rb, " HTTP/1.1\n");
    for (size_t i = 0; i < n; i++) {
        if (list[i][strlen(list[i]) - 1] == ':') {
            continue; /* a removed header is not sent */
        }
        keeps(rb, list[i]);
        keeps(rb, "\n");
    }
    keeps(rb, "\n");
    if (!q->no_body) {
        keep(rb, wxp_buf_cstr(&q->body), q->body.len);
    }
    keeps(rb, "\n");

    conf_http(q->method, url, list, q->no_body ? NULL : wxp_buf_cstr(&q->body),
              q->no_body ? 0 : q->body.len, r->ctx->timeout_ms > 0 ? r->ctx->timeout_ms : 10000L,
              &r->resp);
    if (r->resp.status == 0) {
        keeps(ab, "(no answer: ");
        keeps(ab, curl_easy_strerror((CURLcode)r->resp.curl_code));
        keeps(ab, ")\n");
    } else {
        keep(ab, wxp_buf_cstr(&r->resp.head), r->resp.head.len);
        keep(ab, wxp_buf_cstr(&r->resp.body), r->resp.body.len);
        keeps(ab, "\n");
    }
    return 0;
}

/* Waits, when the current second is more than half gone, for the next one to begin, so that a
 * timestamp computed now is still in the same second when the server reads its clock (±301 s
 * must not become ±300 s on the way). src: docs/protocol.md#timestamp-window. case: TS-001..TS-004,
 * TS-007
 */
static void align_to_second(void)
{
    struct timespec now, pause;

    if (clock_gettime(CLOCK_REALTIME, &now) != 0 || now.tv_nsec < 500000000L) {
        return;
    }
    pause.tv_sec = 0;
    pause.tv_nsec = 1000000000L - now.tv_nsec + 20000000L;
    if (pause.tv_nsec >= 1000000000L) {
        pause.tv_sec = 1;
        pause.tv_nsec -= 1000000000L;
    }
    while (nanosleep(&pause, &pause) != 0 && errno == EINTR) {
    }
}

static void graded_label(struct run *r)
{
    keeps(&r->out->request, "# graded request\n");
    keeps(&r->out->response, "# graded request\n");
    r->graded_label = true;
}

/* A valid exchange before the graded one (replay, second terminate); it must get the operation's
 * success status. */
static int first_exchange(struct run *r, const char *what)
{
    if (req_send(r, "# first request (setup)\n") != 0) {
        return -1;
    }
    graded_label(r);
    if (r->resp.status != (long)r->op->success) {
        char got[32];
        snprintf(got, sizeof got, "%ld", r->resp.status);
        setup_fail(r, "the first, valid request got %s instead of %u, so %s cannot be tested",
                   r->resp.status == 0 ? "no answer" : got, r->op->success, what);
        return -1;
    }
    return 0;
}

/* Whether a success body of `op` reads authorization_state `want`. */
static bool body_state_is(const struct wxp_op *op, const struct wxp_buf *body, const char *want)
{
    struct wxp_values v;
    bool ok;

    memset(&v, 0, sizeof v);
    ok = wxp_op_response_parse(op, wxp_buf_cstr(body), body->len, &v, NULL) == WXP_OK &&
         wxp_str_eq(wxp_values_get(&v, "authorization_state"), wxp_str_c(want));
    wxp_values_free(&v);
    return ok;
}

/* A valid request of another operation before the graded one (apply before a query, say), with
 * the case's values; it must get that operation's success status and, when `want_state` is not
 * NULL, a body in that authorization_state. The graded request is kept. */
static int setup_exchange(struct run *r, const struct wxp_op *op, const char *want_state)
{
    struct req saved = r->rq;
    char label[160];
    int ret = -1;

    snprintf(label, sizeof label, "# setup: %s\n", op->name);
    if (req_init(r, op) == 0 && req_send(r, label) == 0) {
        ret = 0;
        if (r->resp.status != (long)op->success) {
            setup_fail(r, "the setup request %s got %ld instead of %u", op->name, r->resp.status,
                       op->success);
            ret = -1;
        } else if (want_state != NULL && !body_state_is(op, &r->resp.body, want_state)) {
            setup_fail(r, "%s after that step does not read authorization_state %s: %.120s",
                       op->name, want_state, wxp_buf_cstr(&r->resp.body));
            ret = -1;
        }
    }
    req_free(&r->rq);
    r->rq = saved;
    conf_http_free(&r->resp);
    conf_http_init(&r->resp);
    r->setup_exchanges++;
    return ret;
}

/* Whether the server has the admin endpoint at all: a GET on it answers 405 (the path exists, for
 * another method) where it is offered, a 404 (or a 401 behind an admin token) where it is not. */
static bool admin_offered(struct run *r, const char *url)
{
    const char *hdrs[] = {"Accept: application/json", "User-Agent: " USER_AGENT, NULL};
    bool offered;

    conf_http("GET", url, hdrs, NULL, 0, r->ctx->timeout_ms > 0 ? r->ctx->timeout_ms : 10000L,
              &r->resp);
    offered = r->resp.status == 405;
    conf_http_free(&r->resp);
    conf_http_init(&r->resp);
    return offered;
}

/* The user accepts the pre-authorization of r->code in WeChat, played by wxpay-mock's admin API.
 * rule: the consent happens in WeChat, out of the merchant's reach; only wxpay-mock offers it,
 * so a server that does not (the POST fails and a GET on the same path is not a 405) makes the
 * case not applicable, never a pass; a server that offers it and refuses is a failure.
 * src: docs/mock-admin.md, docs/conformance.md#not-applicable. case: LIFE-001 */
static int admin_user_accept(struct run *r)
{
    const char *hdrs[] = {"Content-Type: application/json", "Accept: application/json",
                          "User-Agent: " USER_AGENT, NULL};
    struct wxp_buf body, *rb = &r->out->request, *ab = &r->out->response;
    char url[TARGET_MAX + 300];
    long st;
    enum wxp_code rc;
    int ret = -1;

    wxp_buf_init(&body, REQ_BODY_MAX);
    rc = wxp_buf_addstr(&body, "{\"service_id\":\"");
    if (rc == WXP_OK) {
        rc = add_json_inner(&body, r->ctx->service_id);
    }
    if (rc == WXP_OK) {
        rc = wxp_buf_addf(&body, "\",\"appid\":\"");
    }
    if (rc == WXP_OK) {
        rc = add_json_inner(&body, r->ctx->appid);
    }
    if (rc == WXP_OK) {
        rc = wxp_buf_addf(&body, "\",\"mchid\":\"");
    }
    if (rc == WXP_OK) {
        rc = add_json_inner(&body, r->ctx->mchid);
    }
    if (rc == WXP_OK) {
        rc = wxp_buf_addf(&body, "\",\"openid\":\"%s\",\"authorization_code\":\"%s\"}", r->openid,
                          r->code);
    }
    if (rc != WXP_OK) {
        setup_fail(r, "the admin request does not fit");
        goto out;
    }
    snprintf(url, sizeof url, "%s%s%s", S.origin, S.prefix, ADMIN_USER_ACCEPT);
    keeps(rb, "# setup: the user accepts (wxpay-mock admin API)\nPOST ");
    keeps(rb, S.prefix);
    keeps(rb, ADMIN_USER_ACCEPT " HTTP/1.1\n\n");
    keep(rb, body.ptr, body.len);
    keeps(rb, "\n");
    keeps(ab, "# setup: the user accepts (wxpay-mock admin API)\n");
    conf_http("POST", url, hdrs, wxp_buf_cstr(&body), body.len,
              r->ctx->timeout_ms > 0 ? r->ctx->timeout_ms : 10000L, &r->resp);
    keep(ab, wxp_buf_cstr(&r->resp.head), r->resp.head.len);
    keep(ab, wxp_buf_cstr(&r->resp.body), r->resp.body.len);
    keeps(ab, "\n");
    st = r->resp.status;
    if (st == 200) {
        r->accepted = true;
        ret = 0;
    } else {
        char why[160];
        snprintf(why, sizeof why, "%.120s", wxp_buf_cstr(&r->resp.body));
        conf_http_free(&r->resp);
        conf_http_init(&r->resp);
        if (admin_offered(r, url)) {
            setup_fail(r, "the admin API refused the user's consent: %ld %s", st, why);
        } else {
            snprintf(r->not_applicable, sizeof r->not_applicable,
                     "the server does not offer %s (answered %ld), which plays the user's consent",
                     ADMIN_USER_ACCEPT, st);
        }
    }
    conf_http_free(&r->resp);
    conf_http_init(&r->resp);
    r->setup_exchanges++;
out:
    wxp_buf_free(&body);
    return ret;
}

/* What an operation needs to exist before a valid request of it can succeed: a pre-authorization
 * (apply) for the by-code operations, the user's consent too before terminating by code. */
static int op_setup(struct run *r)
{
    switch (r->op->id) {
    case WXP_OP_PERMISSIONS_QUERY_BY_CODE:
        return setup_exchange(r, &WXP_OPS[WXP_OP_PERMISSIONS_APPLY], NULL);
    case WXP_OP_PERMISSIONS_TERMINATE_BY_CODE:
        if (setup_exchange(r, &WXP_OPS[WXP_OP_PERMISSIONS_APPLY], NULL) != 0) {
            return -1;
        }
        return admin_user_accept(r);
    case WXP_OP_PERMISSIONS_APPLY:
    case WXP_OP_PERMISSIONS_QUERY_BY_OPENID:
    case WXP_OP_PERMISSIONS_TERMINATE_BY_OPENID:
    case WXP_OP_PLATFORM_CERTIFICATES_LIST:
    case WXP_OP_COUNT:
        break;
    }
    return 0;
}

/* ---- kinds: each shapes r->rq from the case's param ------------------------------------- */

static int prep_valid(struct run *r, const char *param)
{
    (void)r;
    (void)param;
    return 0;
}

/* The param is the fixtures' public key id; with the user's platform keys, their first public
 * key's id (none given: not applicable). */
static int prep_pubkey_serial(struct run *r, const char *param)
{
    char line[200];
    const char *id = param != NULL ? param : PLATFORM_PUBKEY_ID;

    if (S.platform_given && S.pubkey_id[0] == '\0') {
        copy(r->not_applicable, sizeof r->not_applicable,
             "no platform public key was given (--platform-public-key with "
             "--platform-public-key-id, or platform_public_keys in --config)");
        return -1;
    }
    if (S.platform_given) {
        id = S.pubkey_id;
    }

    snprintf(line, sizeof line, "Wechatpay-Serial: %s", id);
    copy(r->want_serial, sizeof r->want_serial, id);
    return set_header(r, line);
}

/* The body sent, as given (on a GET too: the body is then sent and signed). */
static int prep_body(struct run *r, const char *param)
{
    r->rq.no_body = false;
    return set_body(r, &r->rq.body, param);
}

/* A number N: a fresh openid of exactly N bytes; otherwise a template ({openid} = fresh). */
static int prep_openid(struct run *r, const char *param)
{
    char *end;
    unsigned long len = strtoul(param, &end, 10);

    if (end != param && *end == '\0') {
        size_t have = strlen(r->openid);
        if (len == 0 || len >= sizeof r->openid) {
            setup_fail(r, "openid length %s is outside 1..255", param);
            return -1;
        }
        for (size_t i = have; i < len; i++) {
            r->openid[i] = (char)('a' + (char)(i % 26));
        }
        r->openid[len] = '\0';
    } else {
        struct wxp_buf b;
        wxp_buf_init(&b, sizeof r->openid - 1);
        if (expand(r, param, false, &b) != WXP_OK) {
            wxp_buf_free(&b);
            setup_fail(r, "openid template too long");
            return -1;
        }
        copy(r->raw_seg, sizeof r->raw_seg, wxp_buf_cstr(&b));
        copy(r->raw_var, sizeof r->raw_var, "openid");
        wxp_buf_free(&b);
    }
    /* The body does not name the openid, but rebuild it in case the operation's does. */
    return own_request(r, r->rq.target, r->rq.no_body ? NULL : &r->rq.body);
}

/* The openid sent raw as prep_openid sends it (percent-encoded bytes), but signed over the
 * percent-decoded path, as a server that verifies the decoded path would compute it.
 * rule: the signed URL is the raw request target; a signature over the decoded path must not
 * verify. src: docs/protocol.md#request-signing-string [GB-SIGN] [GO-CLIENT]. case: SIG-008 */
static int prep_openid_decoded(struct run *r, const char *param)
{
    struct req *q = &r->rq;
    const char *qmark;
    size_t plen, n = 0;

    if (prep_openid(r, param) != 0) {
        return -1;
    }
    qmark = strchr(q->target, '?');
    plen = qmark != NULL ? (size_t)(qmark - q->target) : strlen(q->target);
    if (!wxp_pct_decode((struct wxp_str){q->target, plen}, false, q->sign_target,
                        sizeof q->sign_target, &n) ||
        n + (qmark != NULL ? strlen(qmark) : 0) >= sizeof q->sign_target) {
        setup_fail(r, "the path \"%.*s\" does not percent-decode", (int)plen, q->target);
        return -1;
    }
    if (qmark != NULL) {
        copy(q->sign_target + n, sizeof q->sign_target - n, qmark);
    }
    if (strcmp(q->sign_target, q->target) == 0) {
        setup_fail(r, "the openid \"%s\" has nothing percent-encoded", param);
        return -1;
    }
    return 0;
}

/* The operation's first path variable sent as given (a template, not percent-encoded). */
static int prep_segment(struct run *r, const char *param)
{
    const char *var = first_path_var(r->op);
    struct wxp_buf b;

    if (var == NULL) {
        setup_fail(r, "%s has no path variable", r->op->name);
        return -1;
    }
    wxp_buf_init(&b, sizeof r->raw_seg - 1);
    if (expand(r, param, false, &b) != WXP_OK) {
        wxp_buf_free(&b);
        setup_fail(r, "segment template too long");
        return -1;
    }
    copy(r->raw_seg, sizeof r->raw_seg, wxp_buf_cstr(&b));
    copy(r->raw_var, sizeof r->raw_var, var);
    wxp_buf_free(&b);
    return own_request(r, r->rq.target, NULL);
}

/* The query sent as given (a template; empty: no '?'), in place of the table's pairs. */
static int prep_query(struct run *r, const char *param)
{
    struct wxp_buf b;

    wxp_buf_init(&b, sizeof r->query - 1);
    if (expand(r, param, false, &b) != WXP_OK) {
        wxp_buf_free(&b);
        setup_fail(r, "query template too long");
        return -1;
    }
    copy(r->query, sizeof r->query, wxp_buf_cstr(&b));
    r->query_set = true;
    wxp_buf_free(&b);
    return own_request(r, r->rq.target, NULL);
}

/* The table's query pairs in reverse order ("service_id first" when the table has appid first):
 * the signature covers the target as sent, whatever the order. */
static int prep_query_order(struct run *r, const char *param)
{
    if (strcmp(param, "reverse") != 0) {
        setup_fail(r, "query order \"%s\" is not reverse", param);
        return -1;
    }
    if (!has_loc(r->op, WXP_LOC_QUERY)) {
        setup_fail(r, "%s has no query parameters", r->op->name);
        return -1;
    }
    r->query_reverse = true;
    return own_request(r, r->rq.target, NULL);
}

/* A valid request whose success body is checked: the operation's fields, the values sent, and
 * (param) the authorization_state expected. */
/* Needs the merchant's APIv3 key: without one the case is not applicable. */
static int prep_certs_decrypt(struct run *r, const char *param)
{
    (void)param;
    if (!S.apiv3_given) {
        copy(r->not_applicable, sizeof r->not_applicable,
             "no APIv3 key given (--apiv3-key-file or --apiv3-key): the certificates cannot be "
             "decrypted");
        return -1;
    }
    return 0;
}

static int prep_valid_body(struct run *r, const char *param)
{
    copy(r->want_state, sizeof r->want_state, param != NULL ? param : "");
    return 0;
}

/* The lifecycle end to end (the case's operation is the final query by code): apply (set up
 * already), the user accepts (admin API), query (AVAILABLE), terminate by code (204), and the
 * graded query must show UNAVAILABLE. */
static int prep_lifecycle(struct run *r, const char *param)
{
    const struct wxp_op *query = r->op;

    (void)param;
    if (r->op->id != WXP_OP_PERMISSIONS_QUERY_BY_CODE) {
        setup_fail(r, "the lifecycle case is graded on query-by-code, not %s", r->op->name);
        return -1;
    }
    if (admin_user_accept(r) != 0) {
        return -1;
    }
    if (setup_exchange(r, query, "AVAILABLE") != 0) {
        return -1;
    }
    if (setup_exchange(r, &WXP_OPS[WXP_OP_PERMISSIONS_TERMINATE_BY_CODE], NULL) != 0) {
        return -1;
    }
    copy(r->want_state, sizeof r->want_state, "UNAVAILABLE");
    return 0;
}

/* "location|value|field|rest": the PARAM_ERROR detail to expect, then the inner param. */
static const char *split_detail(struct run *r, const char *param)
{
    char *fields[3] = {r->want_location, r->want_value, r->want_field};
    const size_t caps[3] = {sizeof r->want_location, sizeof r->want_value, sizeof r->want_field};
    const char *p = param;

    for (size_t i = 0; i < 3; i++) {
        const char *bar = strchr(p, '|');
        size_t n;
        if (bar == NULL) {
            return NULL;
        }
        n = (size_t)(bar - p);
        if (n >= caps[i]) {
            return NULL;
        }
        memcpy(fields[i], p, n);
        fields[i][n] = '\0';
        p = bar + 1;
    }
    return p;
}

static int prep_body_detail(struct run *r, const char *param)
{
    const char *rest = split_detail(r, param);
    if (rest == NULL) {
        setup_fail(r, "param \"%s\" is not location|value|field|body", param);
        return -1;
    }
    return prep_body(r, rest);
}

static int prep_openid_detail(struct run *r, const char *param)
{
    const char *rest = split_detail(r, param);
    if (rest == NULL) {
        setup_fail(r, "param \"%s\" is not location|value|field|openid", param);
        return -1;
    }
    return prep_openid(r, rest);
}

static int prep_segment_detail(struct run *r, const char *param)
{
    const char *rest = split_detail(r, param);
    if (rest == NULL) {
        setup_fail(r, "param \"%s\" is not location|value|field|segment", param);
        return -1;
    }
    return prep_segment(r, rest);
}

static int prep_query_detail(struct run *r, const char *param)
{
    const char *rest = split_detail(r, param);
    if (rest == NULL) {
        setup_fail(r, "param \"%s\" is not location|value|field|query", param);
        return -1;
    }
    return prep_query(r, rest);
}

static int prep_authz_missing(struct run *r, const char *param)
{
    (void)param;
    r->rq.no_authz = true;
    return 0;
}

static int prep_authz_scheme(struct run *r, const char *param)
{
    copy(r->rq.scheme, sizeof r->rq.scheme, param);
    return 0;
}

static int prep_authz_after_scheme(struct run *r, const char *param)
{
    copy(r->rq.gap, sizeof r->rq.gap, param);
    return 0;
}

static int prep_authz_separator(struct run *r, const char *param)
{
    copy(r->rq.sep, sizeof r->rq.sep, param);
    return 0;
}

static int prep_authz_missing_param(struct run *r, const char *param)
{
    copy(r->rq.drop, sizeof r->rq.drop, param);
    return 0;
}

static int prep_authz_duplicate_param(struct run *r, const char *param)
{
    copy(r->rq.dup, sizeof r->rq.dup, param);
    return 0;
}

static int prep_authz_unknown_param(struct run *r, const char *param)
{
    copy(r->rq.unknown, sizeof r->rq.unknown, param);
    return 0;
}

static int prep_authz_empty_value(struct run *r, const char *param)
{
    copy(r->rq.empty, sizeof r->rq.empty, param);
    return 0;
}

static int prep_authz_quote(struct run *r, const char *param)
{
    if (strcmp(param, "single") == 0) {
        r->rq.quote = '\'';
    } else if (strcmp(param, "none") == 0) {
        r->rq.quote = 0;
    } else {
        setup_fail(r, "quote \"%s\" is not single or none", param);
        return -1;
    }
    return 0;
}

static int prep_authz_order(struct run *r, const char *param)
{
    static const struct {
        const char *name;
        const char *const *order;
    } orders[] = {
        {"go", ORDER_GO}, {"php", ORDER_PHP}, {"postman", ORDER_POSTMAN}, {"doc", ORDER_DOC}};

    for (size_t i = 0; i < sizeof orders / sizeof orders[0]; i++) {
        if (strcmp(orders[i].name, param) == 0) {
            r->rq.order = orders[i].order;
            return 0;
        }
    }
    setup_fail(r, "order \"%s\" is not go, php, postman or doc", param);
    return -1;
}

/* The timestamp sent and signed: "ms" (milliseconds now) or the literal text. */
static int prep_authz_timestamp(struct run *r, const char *param)
{
    if (strcmp(param, "ms") == 0) {
        struct timespec now;
        if (clock_gettime(CLOCK_REALTIME, &now) != 0) {
            setup_fail(r, "no clock");
            return -1;
        }
        snprintf(r->rq.ts, sizeof r->rq.ts, "%lld",
                 (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000);
    } else {
        copy(r->rq.ts, sizeof r->rq.ts, param);
    }
    return 0;
}

static int prep_authz_mchid(struct run *r, const char *param)
{
    copy(r->rq.mchid, sizeof r->rq.mchid, param);
    return 0;
}

static int prep_authz_serial(struct run *r, const char *param)
{
    copy(r->rq.serial, sizeof r->rq.serial, param);
    return 0;
}

static int prep_authz_signature(struct run *r, const char *param)
{
    copy(r->rq.sig, sizeof r->rq.sig, param);
    r->rq.sig_set = true;
    return 0;
}

static int prep_sign_wrong_key(struct run *r, const char *param)
{
    (void)param;
    r->rq.key = S.key_wrong;
    return 0;
}

/* Signed, consistently, by another merchant's key with that merchant's serial (param). */
static int prep_sign_other_merchant(struct run *r, const char *param)
{
    r->rq.key = S.key_b;
    copy(r->rq.serial, sizeof r->rq.serial, param);
    return 0;
}

/* What is sent differs from what was signed in one part. */
static int prep_tamper(struct run *r, const char *param)
{
    struct req *q = &r->rq;

    if (strcmp(param, "body") == 0) {
        /* Signed: the table's body; sent: the same with its last value "tampered". */
        const char *vals[WXP_SCHEMA_MAX_FIELDS];
        size_t last = WXP_SCHEMA_MAX_FIELDS;
        fill_values(r, r->op, vals);
        if (op_body(r, r->op, vals, &q->sign_body) != 0) {
            return -1;
        }
        q->sign_body_set = true;
        for (size_t i = 0; i < r->op->params->count && i < WXP_SCHEMA_MAX_FIELDS; i++) {
            if (r->op->params->fields[i].loc == WXP_LOC_BODY && vals[i] != NULL) {
                last = i;
            }
        }
        if (last == WXP_SCHEMA_MAX_FIELDS) {
            setup_fail(r, "%s has no body to tamper with", r->op->name);
            return -1;
        }
        vals[last] = "tampered";
        return op_body(r, r->op, vals, &q->body);
    }
    if (strcmp(param, "path") == 0) {
        /* Signed: the target of another openid (and code); sent: the case's. */
        char sent[TEXT_MAX], sent_code[sizeof r->code];
        int ret;
        copy(sent, sizeof sent, r->openid);
        copy(sent_code, sizeof sent_code, r->code);
        if (!fresh_openid(r->ctx, r->openid, sizeof r->openid) ||
            !fresh_openid(r->ctx, r->code, sizeof r->code)) {
            return -1;
        }
        ret = own_request(r, q->sign_target, NULL);
        copy(r->openid, sizeof r->openid, sent);
        copy(r->code, sizeof r->code, sent_code);
        return ret;
    }
    if (strcmp(param, "query") == 0) {
        /* Signed: the target without its query; sent: with it. */
        char *qmark;
        copy(q->sign_target, sizeof q->sign_target, q->target);
        qmark = strchr(q->sign_target, '?');
        if (qmark == NULL) {
            setup_fail(r, "%s sends no query to leave out of the signature", r->op->name);
            return -1;
        }
        *qmark = '\0';
        return 0;
    }
    if (strcmp(param, "method") == 0) {
        copy(q->sign_method, sizeof q->sign_method, "PUT");
        return 0;
    }
    if (strcmp(param, "timestamp") == 0) {
        snprintf(q->sign_ts, sizeof q->sign_ts, "%lld", (long long)time(NULL) - 1);
        return 0;
    }
    if (strcmp(param, "nonce") == 0) {
        return fresh_nonce(q->sign_nonce) ? 0 : -1;
    }
    setup_fail(r, "tamper \"%s\" is not body, path, query, method, timestamp or nonce", param);
    return -1;
}

static int parse_offset(struct run *r, const char *param, long long *off)
{
    char *end;

    errno = 0;
    *off = strtoll(param, &end, 10);
    if (end == param || *end != '\0' || errno != 0) {
        setup_fail(r, "offset \"%s\" is not a number of seconds", param);
        return -1;
    }
    return 0;
}

/* The timestamp is now + param seconds, at the start of a second. */
static int prep_skew(struct run *r, const char *param)
{
    long long off;

    if (parse_offset(r, param, &off) != 0) {
        return -1;
    }
    align_to_second();
    snprintf(r->rq.ts, sizeof r->rq.ts, "%lld", (long long)time(NULL) + off);
    return 0;
}

/* Out of the window and signed with the wrong key: which check answers first? */
static int prep_skew_bad_signature(struct run *r, const char *param)
{
    r->rq.key = S.key_wrong;
    return prep_skew(r, param);
}

static int prep_replay(struct run *r, const char *param)
{
    struct req *q = &r->rq;

    if (strcmp(param, "exact") != 0 && strcmp(param, "renonce") != 0) {
        setup_fail(r, "replay \"%s\" is not exact or renonce", param);
        return -1;
    }
    if (first_exchange(r, "a replay") != 0) {
        return -1;
    }
    if (strcmp(param, "exact") == 0) {
        return 0; /* the same bytes again */
    }
    /* Another openid, freshly signed, with the nonce already used. */
    if (!fresh_openid(r->ctx, r->openid, sizeof r->openid) ||
        own_request(r, q->target, NULL) != 0) {
        return -1;
    }
    q->authz_done = false;
    return 0;
}

static int prep_twice(struct run *r, const char *param)
{
    (void)param;
    if (first_exchange(r, "a second request") != 0) {
        return -1;
    }
    if (!fresh_nonce(r->rq.nonce)) {
        return -1;
    }
    snprintf(r->rq.ts, sizeof r->rq.ts, "%lld", (long long)time(NULL));
    r->rq.authz_done = false;
    return 0;
}

static int prep_header(struct run *r, const char *param)
{
    return set_header(r, param);
}

static int prep_route_path(struct run *r, const char *param)
{
    return set_target(r, r->rq.target, param);
}

/* Another method on the operation's path, signed as sent, without a body. */
static int prep_route_method(struct run *r, const char *param)
{
    copy(r->rq.method, sizeof r->rq.method, param);
    wxp_buf_reset(&r->rq.body);
    r->rq.no_body = true;
    return set_header(r, "-Content-Type");
}

/* ---- the kind table ---------------------------------------------------------------------- */

struct kind {
    const char *name;
    prep_fn prep;
    enum extra extra;
    bool needs_param;
};

/* rows sorted by name only for reading; lookup is linear */
static const struct kind KINDS[] = {
    {"authz_after_scheme", prep_authz_after_scheme, X_NONE, true},
    {"certs_decrypt", prep_certs_decrypt, X_CERTS, false},
    {"authz_duplicate_param", prep_authz_duplicate_param, X_NONE, true},
    {"authz_empty_value", prep_authz_empty_value, X_NONE, true},
    {"authz_mchid", prep_authz_mchid, X_NONE, true},
    {"authz_missing", prep_authz_missing, X_NONE, false},
    {"authz_missing_param", prep_authz_missing_param, X_NONE, true},
    {"authz_order", prep_authz_order, X_NONE, true},
    {"authz_quote", prep_authz_quote, X_NONE, true},
    {"authz_scheme", prep_authz_scheme, X_NONE, true},
    {"authz_separator", prep_authz_separator, X_NONE, true},
    {"authz_serial", prep_authz_serial, X_NONE, true},
    {"authz_signature", prep_authz_signature, X_NONE, true},
    {"authz_timestamp", prep_authz_timestamp, X_NONE, true},
    {"authz_unknown_param", prep_authz_unknown_param, X_NONE, true},
    {"body", prep_body, X_NONE, true},
    {"body_detail", prep_body_detail, X_DETAIL, true},
    {"header", prep_header, X_NONE, true},
    {"lifecycle", prep_lifecycle, X_BODY, false},
    {"openid", prep_openid, X_NONE, true},
    {"openid_decoded", prep_openid_decoded, X_NONE, true},
    {"openid_detail", prep_openid_detail, X_DETAIL, true},
    {"pubkey_serial", prep_pubkey_serial, X_SERIAL_ECHO, false},
    {"query", prep_query, X_NONE, true},
    {"query_detail", prep_query_detail, X_DETAIL, true},
    {"query_order", prep_query_order, X_BODY, true},
    {"replay", prep_replay, X_NONE, true},
    {"route_method", prep_route_method, X_NONE, true},
    {"route_path", prep_route_path, X_NONE, true},
    {"segment", prep_segment, X_NONE, true},
    {"segment_detail", prep_segment_detail, X_DETAIL, true},
    {"sign_other_merchant", prep_sign_other_merchant, X_NONE, true},
    {"sign_wrong_key", prep_sign_wrong_key, X_NONE, false},
    {"skew", prep_skew, X_NONE, true},
    {"skew_bad_signature", prep_skew_bad_signature, X_TS_MESSAGE, true},
    {"tamper", prep_tamper, X_NONE, true},
    {"terminate_twice", prep_twice, X_NONE, false},
    {"twice", prep_twice, X_NONE, false},
    {"valid", prep_valid, X_NONE, false},
    {"valid_body", prep_valid_body, X_BODY, false},
    {"valid_request_id", prep_valid, X_REQUEST_ID, false},
    {"valid_signature_type", prep_valid, X_SIGTYPE, false},
};

/* Wrappers: param "inner_kind" or "inner_kind:inner_param"; they add one check to the inner
 * kind's request. */
static const struct {
    const char *name;
    enum extra extra;
} WRAPPERS[] = {
    {"error_envelope", X_ENVELOPE},
    {"error_request_id", X_REQUEST_ID},
    {"error_content_type", X_CONTENT_TYPE},
};

static const struct kind *find_kind(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof KINDS / sizeof KINDS[0]; i++) {
        if (strlen(KINDS[i].name) == len && memcmp(KINDS[i].name, name, len) == 0) {
            return &KINDS[i];
        }
    }
    return NULL;
}

/* ---- grading ----------------------------------------------------------------------------- */

static struct wxp_str header_slice(const struct conf_http_resp *resp, const char *name, char *buf,
                                   size_t cap)
{
    return wxp_str_c(conf_http_header(resp, name, buf, cap));
}

/* "valid", "unsigned" or "invalid: why" for whatever came back.
 * rule: a 2xx is signed over TIMESTAMP\nNONCE\nBODY\n by a known platform key (exact serial
 * match), within 300 s. src: docs/protocol.md#response-verification. case: SIG-002 */
static bool signature_state(const struct conf_http_resp *resp, char *state, size_t cap)
{
    char ts[64], nonce[128], sig[1024], serial[160];
    struct wxp_resp wr;
    struct wxp_resp_policy pol = {(int64_t)time(NULL), WXP_SKEW_DEFAULT, false};
    struct wxp_err err;

    memset(&wr, 0, sizeof wr);
    wr.timestamp = header_slice(resp, "Wechatpay-Timestamp", ts, sizeof ts);
    wr.nonce = header_slice(resp, "Wechatpay-Nonce", nonce, sizeof nonce);
    wr.signature = header_slice(resp, "Wechatpay-Signature", sig, sizeof sig);
    wr.serial = header_slice(resp, "Wechatpay-Serial", serial, sizeof serial);
    wr.body = (struct wxp_str){wxp_buf_cstr(&resp->body), resp->body.len};
    if (wr.timestamp.ptr == NULL && wr.nonce.ptr == NULL && wr.signature.ptr == NULL &&
        wr.serial.ptr == NULL) {
        copy(state, cap, "unsigned");
        return false;
    }
    if (wxp_resp_verify(S.platform, &wr, &pol, &err) != WXP_OK) {
        snprintf(state, cap, "invalid (%s%s%s)%s", err.field, err.field[0] ? ": " : "", err.msg,
                 err.code == WXP_E_SERIAL_UNKNOWN
                     ? "; give the server's platform certificate with --platform-cert FILE, or "
                       "its public key with --platform-public-key FILE --platform-public-key-id "
                       "ID, or in --config"
                     : "");
        return false;
    }
    snprintf(state, cap, "valid (Wechatpay-Serial %s)", serial);
    return true;
}

/* "401 SIGN_ERROR" (or "a 4xx", "204"); `code` may be NULL. */
static void describe_expected(const struct conf_case *c, char *buf, size_t cap)
{
    char st[16];

    snprintf(st, sizeof st, "%d", c->expect_status);
    snprintf(buf, cap, "%s%s%s", c->expect_status == 0 ? "a 4xx" : st, c->expect_code ? " " : "",
             c->expect_code ? c->expect_code : "");
}

static void describe_got(const struct conf_http_resp *resp, const struct wxp_envelope *env,
                         bool env_ok, char *buf, size_t cap)
{
    if (env_ok) {
        snprintf(buf, cap, "%ld %s \"%.120s\"", resp->status, env->code, env->message);
    } else if (resp->status < 400) {
        snprintf(buf, cap, "%ld", resp->status);
    } else if (resp->body.len == 0) {
        snprintf(buf, cap, "%ld with an empty body", resp->status);
    } else {
        snprintf(buf, cap, "%ld with a body that is not an error envelope: %.80s", resp->status,
                 wxp_buf_cstr(&resp->body));
    }
}

static void fail(struct run *r, const char *fmt, ...) WXP_PRINTF(2, 3);
static void fail(struct run *r, const char *fmt, ...)
{
    va_list ap;

    r->out->verdict = CONF_FAIL;
    va_start(ap, fmt);
    vsnprintf(r->out->reason, sizeof r->out->reason, fmt, ap);
    va_end(ap);
}

/* rule: a 200 carries the operation's response body: strict JSON, every required field a string,
 * the values the request named echoed (service_id, appid, authorization_code, openid, mchid), the
 * authorization_state the lifecycle has reached, and the time of the last transition.
 * src: docs/protocol.md#permissions-entity ([D-GETCODE], [D-APPLY2]). case: APPLY-001, QCODE-001,
 * QOPENID-001, QOPENID-002, LIFE-001 */
static bool check_body(struct run *r)
{
    const char *vals[WXP_SCHEMA_MAX_FIELDS];
    struct wxp_values v;
    struct wxp_err err;
    struct wxp_str got;
    bool ok = false;

    memset(&v, 0, sizeof v);
    if (r->op->response == NULL) {
        fail(r, "%s has no success body to check", r->op->name);
        return false;
    }
    if (wxp_op_response_parse(r->op, wxp_buf_cstr(&r->resp.body), r->resp.body.len, &v, &err) !=
        WXP_OK) {
        fail(r, "the %u body is not %s's: %s%s%s", r->op->success, r->op->name, err.field,
             err.field[0] ? ": " : "", err.msg);
        goto out;
    }
    fill_values(r, r->op, vals);
    for (size_t i = 0; i < r->op->params->count && i < WXP_SCHEMA_MAX_FIELDS; i++) {
        const char *name = r->op->params->fields[i].name;
        got = wxp_values_get(&v, name);
        if (vals[i] != NULL && got.ptr != NULL && !wxp_str_eq(got, wxp_str_c(vals[i]))) {
            fail(r, "the body's %s is \"%.*s\", the request named \"%s\"", name, (int)got.len,
                 got.ptr, vals[i]);
            goto out;
        }
    }
    got = wxp_values_get(&v, "mchid");
    if (got.ptr != NULL && !wxp_str_eq(got, wxp_str_c(r->ctx->mchid))) {
        fail(r, "the body's mchid is \"%.*s\", not %s", (int)got.len, got.ptr, r->ctx->mchid);
        goto out;
    }
    got = wxp_values_get(&v, "openid");
    if (r->accepted && !wxp_str_eq(got, wxp_str_c(r->openid))) {
        fail(r, "the body's openid is \"%.*s\", the user who accepted is %s",
             (int)(got.ptr ? got.len : 0), got.ptr ? got.ptr : "", r->openid);
        goto out;
    }
    got = wxp_values_get(&v, "authorization_state");
    if (r->want_state[0] != '\0' && !wxp_str_eq(got, wxp_str_c(r->want_state))) {
        fail(r, "authorization_state is \"%.*s\", expected %s", (int)(got.ptr ? got.len : 0),
             got.ptr ? got.ptr : "absent", r->want_state);
        goto out;
    }
    if (strcmp(r->want_state, "UNAVAILABLE") == 0 &&
        wxp_values_get(&v, "cancel_authorization_time").ptr == NULL) {
        fail(r, "an UNAVAILABLE authorization has no cancel_authorization_time");
        goto out;
    }
    if (strcmp(r->want_state, "AVAILABLE") == 0 &&
        wxp_values_get(&v, "authorization_success_time").ptr == NULL) {
        fail(r, "an AVAILABLE authorization has no authorization_success_time");
        goto out;
    }
    ok = true;
out:
    wxp_values_free(&v);
    return ok;
}

/* rule: each certificate of the list decrypts (AEAD_AES_256_GCM under the APIv3 key, with the
 * entry's nonce and associated_data), is a certificate whose serial is serial_no and whose
 * validity is effective_time..expire_time, and has not expired.
 * src: docs/protocol.md#platform-certificates [GB-CERTS]. case: CERTS-005 */
static bool check_certs(struct run *r)
{
    struct wxp_certlist l;
    struct wxp_err err;
    enum wxp_code rc;

    wxp_certlist_init(&l);
    wxp_err_clear(&err);
    rc = wxp_certlist_parse(&l, wxp_buf_cstr(&r->resp.body), r->resp.body.len,
                            (struct wxp_str){(const char *)S.apiv3, sizeof S.apiv3},
                            (int64_t)time(NULL), &err);
    if (rc != WXP_OK) {
        fail(r, "the certificate list does not check out with the APIv3 key: %s: %s", err.field,
             err.msg);
    } else {
        snprintf(r->out->reason, sizeof r->out->reason, "%zu certificate%s decrypted and checked",
                 l.count, l.count == 1 ? "" : "s");
    }
    wxp_certlist_free(&l);
    return rc == WXP_OK;
}

/* The kind's own check, after status, code and signature passed. True when it passed. */
static bool check_extra(struct run *r, const struct wxp_envelope *env, bool env_ok)
{
    char v[512];
    const struct conf_http_resp *resp = &r->resp;

    switch (r->extra) {
    case X_NONE:
        return true;
    case X_REQUEST_ID:
        if (conf_http_header(resp, "Request-ID", v, sizeof v) == NULL || v[0] == '\0') {
            fail(r, "the answer has no Request-ID header");
            return false;
        }
        return true;
    case X_SIGTYPE:
        if (conf_http_header(resp, "Wechatpay-Signature-Type", v, sizeof v) == NULL) {
            fail(r, "the answer has no Wechatpay-Signature-Type header");
            return false;
        }
        if (strcmp(v, WXP_AUTHZ_SCHEME) != 0) {
            fail(r, "Wechatpay-Signature-Type is \"%s\", not %s", v, WXP_AUTHZ_SCHEME);
            return false;
        }
        return true;
    case X_SERIAL_ECHO:
        if (conf_http_header(resp, "Wechatpay-Serial", v, sizeof v) == NULL) {
            fail(r, "the answer has no Wechatpay-Serial header");
            return false;
        }
        if (strcmp(v, r->want_serial) != 0) {
            fail(r, "the answer is signed by \"%s\", not by the key the request named (%s)", v,
                 r->want_serial);
            return false;
        }
        return true;
    case X_TS_MESSAGE:
        if (!env_ok || env->message == NULL || strstr(env->message, "timestamp") == NULL) {
            fail(r,
                 "the message is \"%.200s\", not the timestamp one (was the signature checked "
                 "first?)",
                 env_ok ? env->message : "");
            return false;
        }
        return true;
    case X_DETAIL:
        if (!env_ok) {
            fail(r, "the answer is not an error envelope");
            return false;
        }
        if (r->want_location[0] != '\0' &&
            (env->location == NULL || strcmp(env->location, r->want_location) != 0)) {
            fail(r, "detail.location is %s, expected \"%s\"",
                 env->location ? env->location : "absent", r->want_location);
            return false;
        }
        if (r->want_value[0] != '\0' &&
            (env->value == NULL || strcmp(env->value, r->want_value) != 0)) {
            fail(r, "detail.value is %s, expected %s", env->value ? env->value : "absent",
                 r->want_value);
            return false;
        }
        if (r->want_field[0] != '\0' && strstr(env->message, r->want_field) == NULL) {
            fail(r, "the message \"%.200s\" does not name %s", env->message, r->want_field);
            return false;
        }
        return true;
    case X_ENVELOPE:
        if (!env_ok) {
            char got[300];
            describe_got(resp, env, env_ok, got, sizeof got);
            fail(r, "expected an error envelope {\"code\",\"message\"}, got %s", got);
            return false;
        }
        return true;
    case X_CONTENT_TYPE:
        if (conf_http_header(resp, "Content-Type", v, sizeof v) == NULL ||
            strncasecmp(v, "application/json", 16) != 0) {
            fail(r, "the error body's Content-Type is %s, not application/json",
                 conf_http_header(resp, "Content-Type", v, sizeof v) ? v : "absent");
            return false;
        }
        return true;
    case X_BODY:
        return check_body(r);
    case X_CERTS:
        return check_certs(r);
    }
    return true;
}

static void grade(struct run *r)
{
    const struct conf_case *c = r->c;
    const struct conf_http_resp *resp = &r->resp;
    struct wxp_envelope env;
    struct wxp_err err;
    bool env_ok = false, status_ok, signed_ok;
    char want[96], got[300], sig[400];

    memset(&env, 0, sizeof env);
    if (resp->status == 0) {
        fail(r, "no answer: %s", curl_easy_strerror((CURLcode)resp->curl_code));
        return;
    }
    if (resp->status >= 400 && resp->body.len > 0) {
        env_ok =
            wxp_envelope_parse(wxp_buf_cstr(&resp->body), resp->body.len, &env, &err) == WXP_OK;
    }
    status_ok = c->expect_status == 0 ? resp->status >= 400 && resp->status <= 499
                                      : resp->status == c->expect_status;
    describe_expected(c, want, sizeof want);
    describe_got(resp, &env, env_ok, got, sizeof got);
    if (!status_ok ||
        (c->expect_code != NULL && (!env_ok || strcmp(env.code, c->expect_code) != 0))) {
        bool refused = c->expect_status >= 200 && c->expect_status < 300 && resp->status == 401;
        /* A valid request refused: say which merchant the runner signed as, and how to give
         * the one the server knows. */
        fail(r, "expected %s, got %s%s%s%s%s%s", want, got,
             refused ? " (does the server know the merchant the runner signs as, " : "",
             refused ? (r->ctx->merchant_given ? "mchid " : "the TEST merchant ") : "",
             refused ? r->ctx->mchid : "", refused ? " with serial " : "",
             refused ? (S.serial[0] != '\0' ? S.serial : "?") : "");
        if (refused) {
            size_t l = strlen(r->out->reason);
            snprintf(r->out->reason + l, sizeof r->out->reason - l, "%s",
                     "? give it with --mchid, --mch-key and --mch-serial or --mch-cert, or in "
                     "--config)");
        }
        goto out;
    }
    /* rule: 401s are not signed by the live server, so only a case expecting 1 fails on it. src:
     * docs/mock-server.md#response-signing ([TP-PROBE]). case: ERR-008 */
    signed_ok = signature_state(resp, sig, sizeof sig);
    if (c->expect_signed == 1 && !signed_ok) {
        fail(r, "expected a valid response signature; signed: %s", sig);
        goto out;
    }
    if (!check_extra(r, &env, env_ok)) {
        goto out;
    }
    if (c->expect_signed != 1) {
        snprintf(r->out->reason, sizeof r->out->reason, "signed: %s", sig);
    }
out:
    wxp_envelope_free(&env);
}

/* ---- entry points ------------------------------------------------------------------------ */

void conf_run_server_case(const struct conf_context *ctx, const struct conf_case *c,
                          struct conf_outcome *out)
{
    struct run *r = NULL;
    const struct kind *k;
    const char *param = c->param;
    struct timespec t0, t1;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    out->verdict = CONF_PASS;
    out->reason[0] = '\0';
    r = calloc(1, sizeof *r);
    if (r == NULL) {
        out->verdict = CONF_ERROR;
        copy(out->reason, sizeof out->reason, "out of memory");
        return;
    }
    r->ctx = ctx;
    r->c = c;
    r->op = c->op;
    r->out = out;
    conf_http_init(&r->resp);

    k = find_kind(c->kind, strlen(c->kind));
    for (size_t i = 0; k == NULL && i < sizeof WRAPPERS / sizeof WRAPPERS[0]; i++) {
        const char *colon;
        size_t n;
        if (strcmp(WRAPPERS[i].name, c->kind) != 0) {
            continue;
        }
        if (param == NULL) {
            break;
        }
        colon = strchr(param, ':');
        n = colon != NULL ? (size_t)(colon - param) : strlen(param);
        k = find_kind(param, n);
        param = colon != NULL ? colon + 1 : NULL;
        r->extra = WRAPPERS[i].extra;
    }
    if (k == NULL) {
        out->verdict = CONF_ERROR;
        snprintf(out->reason, sizeof out->reason, "unknown kind \"%s\"%s%s", c->kind,
                 c->param ? " with param " : "", c->param ? c->param : "");
        goto out;
    }
    if (r->extra == X_NONE) {
        r->extra = k->extra;
    }
    if (k->needs_param && param == NULL) {
        out->verdict = CONF_ERROR;
        snprintf(out->reason, sizeof out->reason, "kind \"%s\" needs a param", k->name);
        goto out;
    }
    if (S.key == NULL || S.origin[0] == '\0') {
        out->verdict = CONF_ERROR;
        copy(out->reason, sizeof out->reason, "server mode was not set up (conf_server_begin)");
        goto out;
    }
    if (!fresh_openid(ctx, r->openid, sizeof r->openid) ||
        !fresh_openid(ctx, r->code, sizeof r->code)) {
        fail(r, "setup: no random bytes for an openid");
        goto out;
    }
    if (req_init(r, r->op) != 0 || op_setup(r) != 0 || k->prep(r, param) != 0) {
        if (r->not_applicable[0] != '\0') {
            /* rule: not applicable is a skip with its reason, never a pass.
             * src: docs/conformance.md#not-applicable */
            out->verdict = CONF_SKIP;
            snprintf(out->reason, sizeof out->reason, "not applicable: %s", r->not_applicable);
            goto out;
        }
        fail(r, "setup: %s", r->setup[0] ? r->setup : "cannot build the request");
        goto out;
    }
    if (r->setup_exchanges > 0 && !r->graded_label) {
        graded_label(r);
    }
    if (req_send(r, NULL) != 0) {
        fail(r, "setup: %s", r->setup[0] ? r->setup : "cannot build the request");
        goto out;
    }
    grade(r);
out:
    /* The reason is one line: answers quoted in it may hold line breaks. */
    for (char *p = out->reason; *p != '\0'; p++) {
        if ((unsigned char)*p < 0x20 || *p == 0x7F) {
            *p = ' ';
        }
    }
    req_free(&r->rq);
    conf_http_free(&r->resp);
    free(r);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    out->seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
}

/* Splits the base URL into origin and path prefix. */
static int set_base(const char *url)
{
    const char *host = strstr(url, "://");
    const char *path;
    size_t olen, plen;

    if (host == NULL) {
        fprintf(stderr, "wxpay-conformance: base URL \"%s\" has no scheme (http://...)\n", url);
        return -1;
    }
    path = strchr(host + 3, '/');
    olen = path != NULL ? (size_t)(path - url) : strlen(url);
    plen = path != NULL ? strlen(path) : 0;
    while (plen > 0 && path[plen - 1] == '/') {
        plen--;
    }
    if (olen >= sizeof S.origin || plen >= sizeof S.prefix) {
        fprintf(stderr, "wxpay-conformance: base URL \"%s\" is too long\n", url);
        return -1;
    }
    memcpy(S.origin, url, olen);
    S.origin[olen] = '\0';
    if (plen > 0) {
        memcpy(S.prefix, path, plen);
    }
    S.prefix[plen] = '\0';
    return 0;
}

/* The merchant key and the serial the requests name: --mch-key (else the embedded TEST key),
 * --mch-serial or --mch-cert's serial. A certificate must hold the key's public half and, with
 * --mch-serial too, have that serial. */
static int load_merchant(const struct conf_context *ctx)
{
    struct wxp_err err;
    struct wxp_key *cert = NULL;
    enum wxp_code rc;
    int ret = -1;

    if (ctx->mch_key_file != NULL) {
        rc = wxp_key_private_file(ctx->mch_key_file, &S.key, &err);
    } else {
        rc = wxp_key_private_pem(conf_embed_merchant_key, strlen(conf_embed_merchant_key), &S.key,
                                 &err);
    }
    if (rc != WXP_OK) {
        fprintf(stderr, "wxpay-conformance: merchant key %s: %s\n",
                ctx->mch_key_file ? wxp_keyfile_shown(ctx->mch_key_file) : "(embedded)", err.msg);
        goto out;
    }
    if (ctx->mch_key_file != NULL) {
        char warn[WXP_KEYFILE_WARNING_MAX];
        if (wxp_keyfile_warning(ctx->mch_key_file, warn, sizeof warn)) {
            fprintf(stderr, "wxpay-conformance: warning: %s\n", warn);
        }
    }
    copy(S.serial, sizeof S.serial, ctx->mch_serial);
    if (ctx->mch_cert_file == NULL) {
        ret = 0;
        goto out;
    }
    if (wxp_key_cert_file(ctx->mch_cert_file, &cert, &err) != WXP_OK) {
        fprintf(stderr, "wxpay-conformance: merchant certificate %s: %s\n",
                wxp_keyfile_shown(ctx->mch_cert_file), err.msg);
        goto out;
    }
    /* rule: the serial_no names the certificate of the key that signs. src:
     * docs/protocol.md#authorization-header [GB-SIGN] */
    if (!wxp_key_same_public(S.key, cert)) {
        fprintf(stderr,
                "wxpay-conformance: the merchant key %s does not match the certificate %s "
                "(serial %s)\n",
                ctx->mch_key_file ? wxp_keyfile_shown(ctx->mch_key_file) : "(embedded TEST key)",
                wxp_keyfile_shown(ctx->mch_cert_file), wxp_key_id(cert));
        goto out;
    }
    if (ctx->mch_serial != NULL && strcasecmp(ctx->mch_serial, wxp_key_id(cert)) != 0) {
        fprintf(stderr,
                "wxpay-conformance: --mch-serial %s differs from the serial of the certificate "
                "%s (%s)\n",
                ctx->mch_serial, wxp_keyfile_shown(ctx->mch_cert_file), wxp_key_id(cert));
        goto out;
    }
    copy(S.serial, sizeof S.serial, wxp_key_id(cert));
    ret = 0;
out:
    wxp_key_free(cert);
    return ret;
}

/* Adds a key to S.platform (which takes it, on failure too); 0 or -1 with the reason printed. */
static int add_platform(struct wxp_key *k, const char *what)
{
    struct wxp_err err;

    if (wxp_keystore_add(S.platform, k, &err) != WXP_OK) {
        fprintf(stderr, "wxpay-conformance: platform key %s: %s\n", what, err.msg);
        return -1;
    }
    return 0;
}

/* The platform keys answers are verified with: the user's, or the embedded TEST ones. */
static int load_platform(const struct conf_context *ctx)
{
    struct wxp_err err;
    struct wxp_key *k = NULL;

    S.platform = wxp_keystore_new();
    if (S.platform == NULL) {
        fprintf(stderr, "wxpay-conformance: out of memory\n");
        return -1;
    }
    S.platform_given = ctx->nplatform_certs > 0 || ctx->nplatform_pubkeys > 0;
    for (size_t i = 0; i < ctx->nplatform_certs; i++) {
        if (wxp_key_cert_file(ctx->platform_certs[i], &k, &err) != WXP_OK) {
            fprintf(stderr, "wxpay-conformance: platform certificate %s: %s\n",
                    wxp_keyfile_shown(ctx->platform_certs[i]), err.msg);
            return -1;
        }
        if (add_platform(k, ctx->platform_certs[i]) != 0) {
            return -1;
        }
    }
    for (size_t i = 0; i < ctx->nplatform_pubkeys; i++) {
        if (wxp_key_pubkey_file(ctx->platform_pubkeys[i], ctx->platform_pubkey_ids[i], &k, &err) !=
            WXP_OK) {
            fprintf(stderr, "wxpay-conformance: platform public key %s (id %s): %s\n",
                    wxp_keyfile_shown(ctx->platform_pubkeys[i]), ctx->platform_pubkey_ids[i],
                    err.msg);
            return -1;
        }
        if (i == 0) {
            copy(S.pubkey_id, sizeof S.pubkey_id, ctx->platform_pubkey_ids[0]);
        }
        if (add_platform(k, ctx->platform_pubkeys[i]) != 0) {
            return -1;
        }
    }
    if (S.platform_given) {
        return 0;
    }
    if (wxp_key_cert_pem(conf_embed_platform_cert, strlen(conf_embed_platform_cert), &k, &err) !=
            WXP_OK ||
        add_platform(k, "(embedded)") != 0) {
        fprintf(stderr, "wxpay-conformance: embedded test platform certificate: %s\n", err.msg);
        return -1;
    }
    if (wxp_key_pubkey_pem(conf_embed_platform_pubkey, strlen(conf_embed_platform_pubkey),
                           PLATFORM_PUBKEY_ID, &k, &err) != WXP_OK ||
        add_platform(k, "(embedded)") != 0) {
        fprintf(stderr, "wxpay-conformance: embedded test platform key: %s\n", err.msg);
        return -1;
    }
    return 0;
}

static int load_keys(const struct conf_context *ctx)
{
    struct wxp_err err;
    enum wxp_code rc;

    if (load_merchant(ctx) != 0) {
        return -1;
    }
    rc = wxp_key_private_pem(conf_embed_merchant_b_key, strlen(conf_embed_merchant_b_key), &S.key_b,
                             &err);
    if (rc == WXP_OK) {
        rc = wxp_key_private_pem(conf_embed_wrong_key, strlen(conf_embed_wrong_key), &S.key_wrong,
                                 &err);
    }
    if (rc != WXP_OK) {
        fprintf(stderr, "wxpay-conformance: embedded test keys: %s\n", err.msg);
        return -1;
    }
    return load_platform(ctx);
}

/* rule: a server that does not answer at all is not graded case after case: one connection to
 * the base URL first; any HTTP answer (a 404 too) counts as reachable.
 * src: docs/conformance.md#exit-status */
static int check_reachable(const struct conf_context *ctx)
{
    struct conf_http_resp resp;
    int rc = 0;

    conf_http_init(&resp);
    conf_http("GET", ctx->base_url, NULL, NULL, 0, ctx->timeout_ms > 0 ? ctx->timeout_ms : 10000L,
              &resp);
    if (resp.status == 0 && resp.curl_code != CURLE_OK) {
        fprintf(stderr, "wxpay-conformance: cannot reach %s: %s\n", ctx->base_url, resp.error);
        rc = -1;
    }
    conf_http_free(&resp);
    return rc;
}

int conf_server_begin(struct conf_context *ctx)
{
    char why[512];

    memset(&S, 0, sizeof S);
    if (ctx->base_url == mock_url) {
        ctx->base_url = NULL; /* a previous run's mock, stopped since */
    }
    if (load_keys(ctx) != 0) {
        conf_server_end(ctx);
        return -1;
    }
    switch (conf_apiv3_key(ctx, S.apiv3)) {
    case 1:
        S.apiv3_given = true;
        break;
    case 0:
        break;
    default:
        conf_server_end(ctx);
        return -1;
    }
    if (ctx->base_url == NULL) {
        if (ctx->mock_bin == NULL) {
            fprintf(stderr, "wxpay-conformance: no --base-url and no wxpay-mock to start\n");
            conf_server_end(ctx);
            return -1;
        }
        if (conf_mock_start(&S.mock, ctx->mock_bin, NULL, why, sizeof why) != 0) {
            fprintf(stderr, "wxpay-conformance: cannot start the bundled mock: %s\n", why);
            conf_server_end(ctx);
            return -1;
        }
        S.mock_running = true;
        copy(mock_url, sizeof mock_url, S.mock.url);
        ctx->base_url = mock_url;
    }
    if (set_base(ctx->base_url) != 0 || (!S.mock_running && check_reachable(ctx) != 0)) {
        conf_server_end(ctx);
        return -1;
    }
    return 0;
}

void conf_server_end(struct conf_context *ctx)
{
    (void)ctx; /* ctx->base_url may keep pointing at mock_url, which stays valid */
    if (S.mock_running) {
        conf_mock_stop(&S.mock);
        S.mock_running = false;
    }
    wxp_key_free(S.key);
    wxp_key_free(S.key_b);
    wxp_key_free(S.key_wrong);
    wxp_keystore_free(S.platform);
    /* a volatile write per byte: the key is not left behind */
    for (size_t i = 0; i < sizeof S.apiv3; i++) {
        ((volatile unsigned char *)S.apiv3)[i] = 0;
    }
    memset(&S, 0, sizeof S);
}
