/* SPDX-License-Identifier: MIT */
/* notify.c: notify mode: sends a merchant's notification handler (--url) the notifications of
 * cases/notify.json, each built with wxp_notify_build and signed with wxp_notify_sign (then made
 * wrong in the one way the case names), and grades the handler's HTTP answers. What the handler
 * did besides answering (acted on a forged notification, acted twice on a repeated id) cannot be
 * seen from here: docs/notifications.md#grading-a-handler. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cJSON.h>
#include <curl/curl.h>

#include "conf.h"
#include "wxp/keyfile.h"
#include "wxp/keys.h"
#include "wxp/mem.h"
#include "wxp/nonce.h"
#include "wxp/notify.h"
#include "wxp/str.h"

/* TEST ONLY fixtures compiled in (conformance/CMakeLists.txt, wxp_embed). */
extern const char conf_embed_platform_key[];
extern const char conf_embed_wrong_key[];
extern const char conf_embed_apiv3_key[];

/* The serial of fixtures/certs/test-platform.cert.pem (fixtures/fixtures.json platform.serial). */
#define TEST_PLATFORM_SERIAL "6D5C4B3A29180F1E2D3C4B5A69788796A5B4C3D2"
/* A serial no platform key has: 40 zeros, as wxpay-mock's unknown_serial fault sends. */
#define UNKNOWN_SERIAL "0000000000000000000000000000000000000000"
#define SIGNTEST_PREFIX "WECHATPAY/SIGNTEST/"
/* rule: a notification is acknowledged within 5 s. src: [SK-CB] [D-NOTIFY]. case: NOTIFY-OK-001 */
#define ACCEPT_WITHIN_MS 5000.0
/* NOTIFY-OK-005 (INFO): a local handler answering in more than this leaves little room. */
#define ANSWER_TIME_INFO_MS 1000.0
/* Longest wait for one answer (or --timeout-ms when smaller): past 5 s the platform has given up
 * on this attempt anyway. */
#define EXCHANGE_TIMEOUT_MS 6000L
#define HEADER_MAX 1200
#define RESOURCE_MAX 2048

static struct {
    struct wxp_key *key;   /* signs: --platform-key, else the TEST platform key */
    struct wxp_key *wrong; /* signs the forged ones: the fixtures' "wrong" key */
    char serial[WXP_KEY_ID_MAX + 1];
    unsigned char apiv3[32];
    unsigned seq;
} N;

int conf_notify_begin(struct conf_context *ctx)
{
    struct wxp_err err;
    enum wxp_code rc;
    size_t n;
    int k;

    wxp_err_clear(&err);
    if (ctx->platform_key_file != NULL) {
        rc = wxp_key_private_file(ctx->platform_key_file, &N.key, &err);
    } else {
        rc = wxp_key_private_pem(conf_embed_platform_key, strlen(conf_embed_platform_key), &N.key,
                                 &err);
    }
    if (rc != WXP_OK) {
        fprintf(stderr, "wxpay-conformance: platform key %s: %s\n",
                ctx->platform_key_file ? wxp_keyfile_shown(ctx->platform_key_file) : "(embedded)",
                err.msg);
        return -1;
    }
    rc = wxp_key_private_pem(conf_embed_wrong_key, strlen(conf_embed_wrong_key), &N.wrong, &err);
    if (rc != WXP_OK) {
        fprintf(stderr, "wxpay-conformance: embedded forging key: %s\n", err.msg);
        return -1;
    }
    n = (size_t)snprintf(N.serial, sizeof N.serial, "%s",
                         ctx->platform_serial != NULL ? ctx->platform_serial
                                                      : TEST_PLATFORM_SERIAL);
    if (n == 0 || n >= sizeof N.serial) {
        fprintf(stderr, "wxpay-conformance: --platform-serial must be 1 to %d characters\n",
                WXP_KEY_ID_MAX);
        return -1;
    }
    k = conf_apiv3_key(ctx, N.apiv3);
    if (k < 0) {
        return -1;
    }
    if (k == 0) {
        /* the TEST merchant's key, as its file holds it: 32 bytes and a newline */
        if (strlen(conf_embed_apiv3_key) < sizeof N.apiv3) {
            fprintf(stderr, "wxpay-conformance: the embedded TEST APIv3 key is too short\n");
            return -1;
        }
        memcpy(N.apiv3, conf_embed_apiv3_key, sizeof N.apiv3);
    }
    return 0;
}

/* memset through a volatile pointer: not optimised away for a buffer about to die. */
static void wipe(void *p, size_t n)
{
    volatile unsigned char *v = p;
    while (n-- > 0) {
        *v++ = 0;
    }
}

void conf_notify_end(struct conf_context *ctx)
{
    (void)ctx;
    wxp_key_free(N.key);
    wxp_key_free(N.wrong);
    N.key = NULL;
    N.wrong = NULL;
    wipe(N.apiv3, sizeof N.apiv3);
}

/* ---- building ------------------------------------------------------------------------------ */

static void set_verdict(struct conf_outcome *out, enum conf_verdict v, const char *fmt, ...)
    WXP_PRINTF(3, 4);

static void set_verdict(struct conf_outcome *out, enum conf_verdict v, const char *fmt, ...)
{
    va_list ap;
    /* the first reason found stands */
    if (out->verdict != CONF_PASS) {
        return;
    }
    out->verdict = v;
    va_start(ap, fmt);
    vsnprintf(out->reason, sizeof out->reason, fmt, ap);
    va_end(ap);
}

/* The decrypted resource of a Pay Score authorisation event: appid, mchid, out_request_no,
 * service_id, openid, user_service_status, openorclose_time (compact, China time).
 * rule: the resource's fields. src: docs/notifications.md#verifying-and-decrypting-a-notification
 * [C-6110-MODEL] */
static char *resource_json(const struct conf_context *ctx, const char *status)
{
    char nonce[WXP_NONCE_LEN + 1];
    char openid[128], out_request_no[64], when[16];
    time_t t = time(NULL) + 8 * 3600;
    struct tm tm;
    cJSON *o = cJSON_CreateObject();
    char *text = NULL;
    struct wxp_err err;

    if (o == NULL || wxp_nonce(nonce, &err) != WXP_OK || gmtime_r(&t, &tm) == NULL ||
        strftime(when, sizeof when, "%Y%m%d%H%M%S", &tm) == 0) {
        goto out;
    }
    snprintf(openid, sizeof openid, "%.64s%.12s", ctx->openid_prefix, nonce);
    snprintf(out_request_no, sizeof out_request_no, "conf%u%.12s", ++N.seq, nonce + 12);
    if (cJSON_AddStringToObject(o, "appid", ctx->appid) != NULL &&
        cJSON_AddStringToObject(o, "mchid", ctx->mchid) != NULL &&
        cJSON_AddStringToObject(o, "out_request_no", out_request_no) != NULL &&
        cJSON_AddStringToObject(o, "service_id", ctx->service_id) != NULL &&
        cJSON_AddStringToObject(o, "openid", openid) != NULL &&
        cJSON_AddStringToObject(o, "user_service_status", status) != NULL &&
        cJSON_AddStringToObject(o, "openorclose_time", when) != NULL) {
        text = cJSON_PrintUnformatted(o);
    }
out:
    cJSON_Delete(o);
    return text;
}

/* A fresh notification of `status` (USER_OPEN_SERVICE or USER_CLOSE_SERVICE) into `body`, the
 * resource labelled `algorithm` (NULL: AEAD_AES_256_GCM). Returns false with out's verdict set. */
static bool build(const struct conf_context *ctx, const char *status, const char *algorithm,
                  struct wxp_buf *body, struct conf_outcome *out)
{
    char event[64];
    char *plain = resource_json(ctx, status);
    struct wxp_notify_spec spec;
    struct wxp_err err;
    enum wxp_code rc;

    if (plain == NULL) {
        set_verdict(out, CONF_ERROR, "could not build the resource (out of memory or randomness)");
        return false;
    }
    memset(&spec, 0, sizeof spec);
    snprintf(event, sizeof event, "PAYSCORE.%s", status);
    spec.event_type = event;
    /* rule: the summaries: 授权成功 for USER_OPEN_SERVICE; the close text is not published, so
     * wxpay-mock's 解除授权成功 is used. src: [D-NOTIFY] */
    spec.summary = strcmp(status, "USER_CLOSE_SERVICE") == 0 ? "解除授权成功" : "授权成功";
    spec.algorithm = algorithm;
    spec.plaintext = wxp_str_c(plain);
    wxp_buf_reset(body);
    wxp_err_clear(&err);
    rc = wxp_notify_build(&spec, (struct wxp_str){(const char *)N.apiv3, sizeof N.apiv3}, body,
                          &err);
    cJSON_free(plain);
    if (rc != WXP_OK) {
        set_verdict(out, CONF_ERROR, "wxp_notify_build: %s", err.msg);
        return false;
    }
    return true;
}

/* Flips the top bit of one base64 digit of resource.ciphertext in place: the first digit (the
 * first byte of the ciphertext) or the last one before the padding (the last byte of the GCM
 * tag; its top bit is always a data bit). The envelope is otherwise the core's, byte for byte. */
static bool tamper(struct wxp_buf *body, bool tag)
{
    static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    static const char KEY[] = "\"ciphertext\":\"";
    char *s = body->ptr;
    char *start = s != NULL ? strstr(s, KEY) : NULL;
    char *end, *at;
    const char *pos;

    if (start == NULL) {
        return false;
    }
    start += sizeof KEY - 1;
    end = strchr(start, '"');
    if (end == NULL || end == start) {
        return false;
    }
    at = start;
    if (tag) {
        at = end - 1;
        while (at > start && *at == '=') {
            at--;
        }
    }
    pos = strchr(B64, *at);
    if (*at == '\0' || pos == NULL) {
        return false;
    }
    *at = B64[(pos - B64) ^ 32];
    return true;
}

/* The envelope without its resource member (the rest as the core wrote it, compact). */
static bool drop_resource(struct wxp_buf *body)
{
    cJSON *root = cJSON_ParseWithLength(body->ptr, body->len);
    char *text = NULL;
    bool ok = false;

    if (root == NULL) {
        return false;
    }
    cJSON_DeleteItemFromObjectCaseSensitive(root, "resource");
    text = cJSON_PrintUnformatted(root);
    wxp_buf_reset(body);
    ok = text != NULL && wxp_buf_addstr(body, text) == WXP_OK;
    cJSON_free(text);
    cJSON_Delete(root);
    return ok;
}

static struct wxp_str as_str(const struct wxp_buf *b)
{
    return (struct wxp_str){wxp_buf_cstr(b), b->len};
}

/* ---- sending ------------------------------------------------------------------------------- */

/* How one notification goes out. */
struct how {
    const struct wxp_key *key; /* NULL: the platform key */
    const char *serial;        /* NULL: the platform serial */
    long ts_offset;            /* seconds added to now */
    bool probe;                /* WECHATPAY/SIGNTEST/ before the signature */
    bool no_type;              /* no Wechatpay-Signature-Type */
    const char *omit;          /* a Wechatpay-* header left out, or NULL */
};

/* One answer. */
struct answer {
    long status; /* 0: none */
    double ms;
    char error[256];
    bool unreachable; /* connection refused or host unknown: the run cannot go on */
    char *body;       /* owned, NUL-terminated */
};

static void answer_free(struct answer *a)
{
    wxp_free(a->body);
    a->body = NULL;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static void record(struct wxp_buf *b, const char *text, size_t len)
{
    /* a report cut short is still a report: the buffers are capped */
    if (wxp_buf_add(b, text, len) != WXP_OK) {
        return;
    }
}

/* Signs `signed_body` as `h` says, POSTs `sent_body` to the handler and records both sides. */
static bool send_one(const struct conf_context *ctx, const struct how *h,
                     struct wxp_str signed_body, struct wxp_str sent_body, struct conf_outcome *out,
                     struct answer *a)
{
    struct wxp_notify_headers nh;
    char lines[6][HEADER_MAX];
    const char *hdrs[10];
    size_t nh_ = 0;
    char rid[WXP_NONCE_LEN + 1];
    char sig[sizeof nh.signature + sizeof SIGNTEST_PREFIX];
    struct conf_http_resp resp;
    struct wxp_err err;
    enum wxp_code rc;
    long timeout = ctx->timeout_ms < EXCHANGE_TIMEOUT_MS ? ctx->timeout_ms : EXCHANGE_TIMEOUT_MS;
    double t0;

    memset(a, 0, sizeof *a);
    wxp_err_clear(&err);
    rc = wxp_notify_sign(h->key != NULL ? h->key : N.key, h->serial != NULL ? h->serial : N.serial,
                         (int64_t)time(NULL) + h->ts_offset, NULL, signed_body, &nh, &err);
    if (rc == WXP_OK) {
        rc = wxp_nonce(rid, &err);
    }
    if (rc != WXP_OK) {
        set_verdict(out, CONF_ERROR, "could not sign the notification: %s", err.msg);
        return false;
    }
    snprintf(sig, sizeof sig, "%s%s", h->probe ? SIGNTEST_PREFIX : "", nh.signature);
    hdrs[nh_++] = "Content-Type: application/json";
    hdrs[nh_++] = "Accept: */*";
    hdrs[nh_++] = "User-Agent: Mozilla/4.0";
    snprintf(lines[0], sizeof lines[0], "Wechatpay-Timestamp: %s", nh.timestamp);
    snprintf(lines[1], sizeof lines[1], "Wechatpay-Nonce: %s", nh.nonce);
    snprintf(lines[2], sizeof lines[2], "Wechatpay-Serial: %s", nh.serial);
    snprintf(lines[3], sizeof lines[3], "Wechatpay-Signature: %s", sig);
    snprintf(lines[4], sizeof lines[4], "Wechatpay-Signature-Type: %s", nh.signature_type);
    snprintf(lines[5], sizeof lines[5], "Request-ID: %s", rid);
    for (size_t i = 0; i < 6; i++) {
        size_t nl = strcspn(lines[i], ":");
        if (h->omit != NULL && strlen(h->omit) == nl && strncmp(lines[i], h->omit, nl) == 0) {
            continue;
        }
        if (i == 4 && h->no_type) {
            continue;
        }
        hdrs[nh_++] = lines[i];
    }
    hdrs[nh_] = NULL;

    if (out->request.len > 0) {
        record(&out->request, "\n", 1);
    }
    record(&out->request, "POST ", 5);
    record(&out->request, ctx->notify_url, strlen(ctx->notify_url));
    record(&out->request, "\n", 1);
    for (size_t i = 0; i < nh_; i++) {
        record(&out->request, hdrs[i], strlen(hdrs[i]));
        record(&out->request, "\n", 1);
    }
    record(&out->request, "\n", 1);
    record(&out->request, sent_body.ptr, sent_body.len);
    record(&out->request, "\n", 1);

    conf_http_init(&resp);
    t0 = now_ms();
    conf_http("POST", ctx->notify_url, hdrs, sent_body.ptr, sent_body.len, timeout, &resp);
    a->ms = now_ms() - t0;
    a->status = resp.status;
    snprintf(a->error, sizeof a->error, "%s", resp.error);
    a->unreachable = resp.status == 0 && (resp.curl_code == CURLE_COULDNT_CONNECT ||
                                          resp.curl_code == CURLE_COULDNT_RESOLVE_HOST);
    a->body = wxp_strndup(wxp_buf_cstr(&resp.body), resp.body.len);

    if (out->response.len > 0) {
        record(&out->response, "\n", 1);
    }
    if (resp.status == 0) {
        char line[320];
        int n = snprintf(line, sizeof line, "(no answer after %.0f ms: %s)\n", a->ms, resp.error);
        record(&out->response, line, n > 0 ? strlen(line) : 0);
    } else {
        char line[64];
        snprintf(line, sizeof line, "HTTP %ld (%.0f ms)\n", resp.status, a->ms);
        record(&out->response, line, strlen(line));
        record(&out->response, wxp_buf_cstr(&resp.head), resp.head.len);
        record(&out->response, "\n", 1);
        record(&out->response, wxp_buf_cstr(&resp.body), resp.body.len);
        record(&out->response, "\n", 1);
    }
    conf_http_free(&resp);
    if (a->unreachable) {
        set_verdict(out, CONF_ERROR, "the handler at %s could not be reached: %s", ctx->notify_url,
                    a->error);
        out->stop_run = true;
        return false;
    }
    return true;
}

/* ---- grading ------------------------------------------------------------------------------- */

static void want_accept(struct conf_outcome *out, const struct answer *a, double within_ms)
{
    if (a->status == 0) {
        set_verdict(out, CONF_FAIL, "expected a 2xx, got no answer within %.0f ms (%s)", a->ms,
                    a->error);
    } else if (a->status < 200 || a->status > 299) {
        set_verdict(out, CONF_FAIL, "expected a 2xx, got %ld: the platform would send it again",
                    a->status);
    } else if (a->ms > within_ms) {
        set_verdict(out, CONF_FAIL, "answered %ld after %.0f ms, more than %.0f ms", a->status,
                    a->ms, within_ms);
    }
}

/* rule: a failed reception is answered 4xx or 5xx with {"code":"FAIL","message":"..."}.
 * src: [C-NOTIFYRULE]. case: NOTIFY-FAIL-001 */
static void want_reject(struct conf_outcome *out, const struct answer *a, bool fail_body)
{
    cJSON *root;
    const cJSON *code, *msg;

    if (a->status == 0) {
        set_verdict(out, CONF_FAIL, "expected a 4xx or 5xx, got no answer within %.0f ms (%s)",
                    a->ms, a->error);
        return;
    }
    if (a->status < 400 || a->status > 599) {
        set_verdict(out, CONF_FAIL,
                    "expected a 4xx or 5xx, got %ld: the handler accepted a notification it "
                    "must refuse",
                    a->status);
        return;
    }
    if (!fail_body) {
        return;
    }
    root = a->body != NULL ? cJSON_Parse(a->body) : NULL;
    code = cJSON_GetObjectItemCaseSensitive(root, "code");
    msg = cJSON_GetObjectItemCaseSensitive(root, "message");
    if (!cJSON_IsObject(root) || !cJSON_IsString(code) || strcmp(code->valuestring, "FAIL") != 0 ||
        !cJSON_IsString(msg)) {
        set_verdict(out, CONF_FAIL,
                    "refused with %ld, but the body is not {\"code\":\"FAIL\",\"message\":string}",
                    a->status);
    }
    cJSON_Delete(root);
}

static long status_class(long status)
{
    return status / 100;
}

void conf_run_notify_case(const struct conf_context *ctx, const struct conf_case *c,
                          struct conf_outcome *out)
{
    const char *k = c->kind;
    const char *p = c->param != NULL ? c->param : "";
    const char *status = strcmp(p, "USER_CLOSE_SERVICE") == 0 ? p : "USER_OPEN_SERVICE";
    bool fail_body = c->expect_code != NULL;
    struct wxp_buf body, other;
    struct how h;
    struct answer a = {0}, b = {0};
    long off = 0;

    memset(&h, 0, sizeof h);
    wxp_buf_init(&body, WXP_NOTIFY_BODY_MAX);
    wxp_buf_init(&other, WXP_NOTIFY_BODY_MAX);
    if (!build(ctx, status, strcmp(k, "wrong_algorithm") == 0 ? p : NULL, &body, out)) {
        goto out;
    }
    if (strcmp(k, "valid") == 0 || strcmp(k, "valid_no_type") == 0 ||
        strcmp(k, "answer_time") == 0 || strcmp(k, "duplicate") == 0) {
        h.no_type = strcmp(k, "valid_no_type") == 0;
        if (!send_one(ctx, &h, as_str(&body), as_str(&body), out, &a)) {
            goto out;
        }
        want_accept(out, &a,
                    strcmp(k, "answer_time") == 0 ? ANSWER_TIME_INFO_MS : ACCEPT_WITHIN_MS);
        if (strcmp(k, "duplicate") == 0 && out->verdict == CONF_PASS) {
            /* rule: a retry carries the same body (same id), newly signed. src: [SK-CB]. case:
             * NOTIFY-OK-003 */
            if (send_one(ctx, &h, as_str(&body), as_str(&body), out, &b)) {
                want_accept(out, &b, ACCEPT_WITHIN_MS);
                if (out->verdict != CONF_PASS) {
                    snprintf(out->reason + strlen(out->reason),
                             sizeof out->reason - strlen(out->reason),
                             " (for the second delivery of the same id)");
                }
            }
        }
        goto out;
    }
    if (strcmp(k, "forged_signature") == 0) {
        h.key = N.wrong;
    } else if (strcmp(k, "signtest") == 0) {
        h.probe = true;
    } else if (strcmp(k, "signtest_same") == 0) {
        /* rule: a probe is verified like any notification, never skipped: it gets the answer a
         * forged signature gets. src: [SK-SIGN] [SK-QC] [SK-FAQ]. case: NOTIFY-SIG-002 */
        struct how forged = {.key = N.wrong};
        if (!send_one(ctx, &forged, as_str(&body), as_str(&body), out, &b) ||
            !build(ctx, status, NULL, &body, out)) {
            goto out;
        }
        h.probe = true;
        if (!send_one(ctx, &h, as_str(&body), as_str(&body), out, &a)) {
            goto out;
        }
        if (a.status == 0 || b.status == 0) {
            set_verdict(out, CONF_FAIL, "no answer to the %s (%s)",
                        b.status == 0 ? "forged notification" : "probe",
                        b.status == 0 ? b.error : a.error);
        } else if (status_class(a.status) != status_class(b.status)) {
            set_verdict(out, CONF_FAIL,
                        "the probe was answered %ld, a forged signature %ld: the probe is "
                        "treated differently from a forgery (skipped or special-cased)",
                        a.status, b.status);
        }
        goto out;
    } else if (strcmp(k, "timestamp") == 0) {
        /* param: seconds from now, signed ("-600") */
        if (!wxp_parse_long(p[0] == '-' ? p + 1 : p, 0, 86400, &off)) {
            set_verdict(out, CONF_ERROR, "param '%s' is not a number of seconds", p);
            goto out;
        }
        h.ts_offset = p[0] == '-' ? -off : off;
    } else if (strcmp(k, "unknown_serial") == 0) {
        h.serial = UNKNOWN_SERIAL;
    } else if (strcmp(k, "missing_header") == 0) {
        h.omit = p;
    } else if (strcmp(k, "other_body") == 0) {
        /* signed over one notification, sent with another's body */
        if (!build(ctx, status, NULL, &other, out)) {
            goto out;
        }
        if (send_one(ctx, &h, as_str(&other), as_str(&body), out, &a)) {
            want_reject(out, &a, fail_body);
        }
        goto out;
    } else if (strcmp(k, "tamper") == 0) {
        if (!tamper(&body, strcmp(p, "tag") == 0)) {
            set_verdict(out, CONF_ERROR, "the envelope has no ciphertext to tamper with");
            goto out;
        }
    } else if (strcmp(k, "wrong_algorithm") == 0) {
        /* built above with the label `p` */
    } else if (strcmp(k, "envelope") == 0 && strcmp(p, "not_json") == 0) {
        wxp_buf_reset(&body);
        if (wxp_buf_addstr(&body, "<xml><return_code>SUCCESS</return_code></xml>") != WXP_OK) {
            set_verdict(out, CONF_ERROR, "out of memory");
            goto out;
        }
    } else if (strcmp(k, "envelope") == 0 && strcmp(p, "no_resource") == 0) {
        if (!drop_resource(&body)) {
            set_verdict(out, CONF_ERROR, "could not remove the resource member");
            goto out;
        }
    } else {
        set_verdict(out, CONF_ERROR, "unknown notify kind '%s' (param '%s')", k, p);
        goto out;
    }
    if (send_one(ctx, &h, as_str(&body), as_str(&body), out, &a)) {
        want_reject(out, &a, fail_body);
    }
out:
    out->seconds = 0;
    answer_free(&a);
    answer_free(&b);
    wxp_buf_free(&body);
    wxp_buf_free(&other);
}
