/* SPDX-License-Identifier: MIT */
/* sign.c: the Wechatpay-* headers of a response, and the tampering scenarios ask for. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "embed.h"
#include "mock.h"
#include "wxp/mem.h"
#include "wxp/nonce.h"
#include "wxp/sign.h"
#include "wxp/signmsg.h"
#include "wxp/verify.h"

/* The embedded wrong key signs MOCK_SIG_FORGED and MOCK_SIG_PROBE answers. It is parsed on the
 * first such answer, not at start-up (docs/performance.md#start-up), once per process: every
 * server in a process forges with the same embedded key. */
static pthread_once_t forge_once = PTHREAD_ONCE_INIT;
static struct wxp_key *forge_key;
static struct wxp_err forge_err;

static void forge_load(void)
{
    if (wxp_key_private_pem(mock_embed_wrong_key, strlen(mock_embed_wrong_key), &forge_key,
                            &forge_err) != WXP_OK) {
        forge_key = NULL;
    }
}

static enum wxp_code forge(const struct wxp_key **k, struct wxp_err *err)
{
    pthread_once(&forge_once, forge_load);
    *k = forge_key;
    if (forge_key == NULL) {
        /* forge_err is empty once mock_sign_cleanup has run: never sign after it. */
        return wxp_err_set(err, forge_err.code != WXP_OK ? forge_err.code : WXP_E_INVALID_ARG, NULL,
                           "no forging key: %s",
                           forge_err.msg[0] ? forge_err.msg : "freed at exit");
    }
    return WXP_OK;
}

void mock_sign_cleanup(void)
{
    wxp_key_free(forge_key);
    forge_key = NULL;
}

/* Bodies longer than this are never cached (a 204's is empty; errors are short). */
#define CACHE_BODY_MAX 1024

struct cache_entry {
    bool used;
    int64_t ts;
    size_t body_len;
    char body[CACHE_BODY_MAX];
    char nonce[40];
    char signature[800];
};

/* One entry per signer: the hot path (a 204 signed by the default key) always hits the same one. */
struct mock_sign_cache {
    pthread_mutex_t lock;
    size_t n;
    struct cache_entry *e;
};

struct mock_sign_cache *mock_sign_cache_new(size_t nsigners)
{
    struct mock_sign_cache *c = wxp_malloc(sizeof *c);
    if (c == NULL) {
        return NULL;
    }
    c->n = nsigners ? nsigners : 1;
    c->e = wxp_malloc(c->n * sizeof *c->e);
    if (c->e == NULL) {
        wxp_free(c);
        return NULL;
    }
    memset(c->e, 0, c->n * sizeof *c->e);
    pthread_mutex_init(&c->lock, NULL);
    return c;
}

void mock_sign_cache_free(struct mock_sign_cache *c)
{
    if (c == NULL) {
        return;
    }
    pthread_mutex_destroy(&c->lock);
    wxp_free(c->e);
    wxp_free(c);
}

/* Copies a cached nonce and signature into `out` when (signer, second, body) match. */
static bool cache_get(struct mock_sign_cache *c, size_t slot, int64_t ts, struct wxp_str body,
                      struct mock_out_headers *out)
{
    bool hit;
    struct cache_entry *e = &c->e[slot];

    pthread_mutex_lock(&c->lock);
    hit = e->used && e->ts == ts && e->body_len == body.len &&
          (body.len == 0 || memcmp(e->body, body.ptr, body.len) == 0);
    if (hit) {
        memcpy(out->nonce, e->nonce, sizeof out->nonce);
        memcpy(out->signature, e->signature, sizeof out->signature);
    }
    pthread_mutex_unlock(&c->lock);
    return hit;
}

static void cache_put(struct mock_sign_cache *c, size_t slot, int64_t ts, struct wxp_str body,
                      const struct mock_out_headers *h)
{
    struct cache_entry *e = &c->e[slot];

    if (body.len > CACHE_BODY_MAX) {
        return;
    }
    pthread_mutex_lock(&c->lock);
    e->used = true;
    e->ts = ts;
    e->body_len = body.len;
    if (body.len > 0) {
        memcpy(e->body, body.ptr, body.len);
    }
    memcpy(e->nonce, h->nonce, sizeof e->nonce);
    memcpy(e->signature, h->signature, sizeof e->signature);
    pthread_mutex_unlock(&c->lock);
}

/* A serial no client knows: not any fixture's. */
#define UNKNOWN_SERIAL "7F00000000000000000000000000000000000001"

/* rule: sign with the key the request's Wechatpay-Serial names when we hold it (a certificate
 * only inside its validity); otherwise the current signer, which a rotation moves.
 * src: docs/mock-server.md#response-signing ([D-ECHO], [C-PK-GRAY], [GB-CERTS]) */
static const struct mock_platform *pick_signer(const struct mock_server *srv,
                                               const struct mock_request *req)
{
    const char *want = mock_request_header(req, "Wechatpay-Serial");
    int64_t now = (int64_t)time(NULL);

    for (size_t i = 0; want != NULL && i < srv->cfg.nsigners; i++) {
        const struct mock_platform *p = &srv->cfg.signers[i];
        if (strcmp(p->id, want) == 0 && (p->cert_pem == NULL || mock_platform_cert_valid(p, now))) {
            return p;
        }
    }
    return mock_platform_current(srv);
}

/* The scripted Wechatpay-Timestamp text with "{now}" (at most once) replaced by `ts`: sent and
 * signed as is, so that only the client's reading of the value is tested. `cap` holds the
 * template (MOCK_TS_TEXT_MAX) plus 20 digits and a sign. src:
 * docs/mock-scenarios.md#members-that-tamper */
static void timestamp_text(const char *tmpl, int64_t ts, char *dst, size_t cap)
{
    const char *now = strstr(tmpl, "{now}");
    if (now == NULL) {
        snprintf(dst, cap, "%s", tmpl);
        return;
    }
    snprintf(dst, cap, "%.*s%lld%s", (int)(now - tmpl), tmpl, (long long)ts, now + 5);
}

enum wxp_code mock_sign_response(const struct mock_server *srv, const struct mock_request *req,
                                 const struct mock_response *resp, struct mock_out_headers *out,
                                 struct wxp_err *err)
{
    const struct mock_platform *signer = pick_signer(srv, req);
    unsigned char rnd[18];
    struct wxp_buf local, *msg;
    struct wxp_str body;
    size_t off = 0;
    enum wxp_code rc;

    memset(out, 0, sizeof *out);
    /* rule: every answer carries a unique Request-ID, shaped like the live ones (uppercase hex,
     * '-', a counter). src: docs/mock-server.md#response-signing ([D-BASIC-M], [D-VERIFY-PK]) */
    if (RAND_bytes(rnd, 18) != 1) {
        return wxp_err_openssl(err, WXP_E_CRYPTO, "RAND_bytes failed");
    }
    for (size_t i = 0; i < 18; i++) {
        static const char HEX[] = "0123456789ABCDEF";
        out->request_id[2 * i] = HEX[rnd[i] >> 4];
        out->request_id[2 * i + 1] = HEX[rnd[i] & 15];
    }
    snprintf(out->request_id + 36, sizeof out->request_id - 36, "-%llu",
             (unsigned long long)req->seq);
    /* "signature":"none" overrides both the 2xx rule and --sign-errors: an answer with no
     * signature at all, which a client must treat as forged on a 2xx.
     * src: docs/mock-scenarios.md#members-that-tamper ([EXT-SIGNRULE]) */
    if (resp->sigmode == MOCK_SIG_NONE ||
        !(resp->sign || (srv->cfg.sign_errors && resp->status >= 400))) {
        return WXP_OK;
    }
    int64_t ts = (int64_t)time(NULL) + resp->ts_offset;
    size_t slot = (size_t)(signer - srv->cfg.signers);
    /* Only untampered answers are cached: scripted faults stay per response. */
    bool cacheable = srv->sign_cache != NULL && resp->sigmode == MOCK_SIG_VALID &&
                     resp->ts_offset == 0 && !resp->has_ts_text && resp->sign_over == NULL &&
                     !resp->unknown_serial && slot < srv->sign_cache->n;

    snprintf(out->timestamp, sizeof out->timestamp, "%lld", (long long)ts);
    if (resp->has_ts_text) {
        timestamp_text(resp->ts_text, ts, out->timestamp, sizeof out->timestamp);
    }
    snprintf(out->serial, sizeof out->serial, "%s",
             resp->unknown_serial ? UNKNOWN_SERIAL : signer->id);
    body.ptr = resp->sign_over ? resp->sign_over : resp->body.ptr;
    body.len = resp->sign_over ? strlen(resp->sign_over) : resp->body.len;
    if (body.ptr == NULL) {
        body.ptr = "";
    }
    if (cacheable && cache_get(srv->sign_cache, slot, ts, body, out)) {
        out->has_sig = true;
        return WXP_OK;
    }
    rc = wxp_nonce(out->nonce, err);
    if (rc != WXP_OK) {
        return rc;
    }
    msg = mock_scratch(req, &local);
    rc = wxp_signmsg_response(msg, wxp_str_c(out->timestamp), wxp_str_c(out->nonce), body, err);
    if (rc == WXP_OK && resp->sigmode == MOCK_SIG_PROBE) {
        memcpy(out->signature, WXP_PROBE_PREFIX, sizeof WXP_PROBE_PREFIX - 1);
        off = sizeof WXP_PROBE_PREFIX - 1;
    }
    const struct wxp_key *k = signer->key;
    if (rc == WXP_OK && resp->sigmode != MOCK_SIG_VALID) {
        rc = forge(&k, err);
    }
    if (rc == WXP_OK) {
        rc = wxp_sign(k, msg->ptr, msg->len, out->signature + off, sizeof out->signature - off,
                      NULL, err);
    }
    if (rc == WXP_OK && cacheable) {
        cache_put(srv->sign_cache, slot, ts, body, out);
    }
    mock_scratch_done(msg, &local);
    out->has_sig = rc == WXP_OK;
    return rc;
}
