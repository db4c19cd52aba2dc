/* SPDX-License-Identifier: MIT */
/* notify.c: the notifications the mock sends to the merchant: the Pay Score user events
 * (USER_OPEN_SERVICE, USER_CLOSE_SERVICE) and any the admin API asks for, built and signed by the
 * core (wxp/notify.h), delivered by one sender thread over libcurl on a retry schedule, each
 * attempt recorded for GET /__admin/notifications and the journal. Reference:
 * docs/notifications.md. */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "libcurl.h"
#include "log.h"
#include "mock.h"
#include "wxp/base64.h"
#include "wxp/envelope.h"
#include "wxp/mem.h"
#include "wxp/notify.h"
#include "wxp/utf8.h"

/* Attempts kept per notification: the Pay Score schedule over its 3 days makes about 80. */
#define ATTEMPTS_MAX 128
/* Bytes of the merchant's answer kept per attempt. */
#define ANSWER_MAX ((size_t)1024)
/* Notifications kept for the listing (delivered, failed and refused ones included); the oldest
 * finished ones go first. */
#define KEEP_MAX ((size_t)4096)
/* An envelope's cap: a resource of up to 8 KiB, encrypted and base64-encoded, plus the rest. */
#define ENVELOPE_MAX ((size_t)16 * 1024)
#define PLAINTEXT_MAX ((size_t)8 * 1024)
/* Queued fault rules ("the next N notifications"). */
#define FAULT_RULES_MAX 16
/* How long an out-of-order notification waits for the next one before it goes anyway. */
#define HOLD_MAX_MS 10000
/* How old a stale timestamp is: twice the ±300 s window. */
#define STALE_S 600
/* The User-Agent of every attempt (the live server's is not documented). */
#define NOTIFY_UA "wxpay-mock-notify/1"
#define UNKNOWN_SERIAL_TEXT "0000000000000000000000000000000000000000"
/* A notification whose first attempt is due within this many ms of being queued is signed then,
 * on the queuing thread, so that the sender thread's loop is the HTTP exchange alone and the RSA
 * work of the next notifications runs beside it (docs/notifications.md#delivery-and-retries). */
#define PRESIGN_WITHIN_MS 1000
/* A signature made when queued is used only this many seconds after it was made; an attempt later
 * than that (a busy queue) signs again, so its timestamp stays close to the time it is sent. */
#define PRESIGN_MAX_AGE_S 5

enum nstate { N_PENDING, N_DELIVERED, N_FAILED, N_NOT_SENT };

static const char *const NSTATE_NAMES[] = {"pending", "delivered", "failed", "not_sent"};

struct attempt {
    int64_t at_ms; /* wall clock, Unix ms */
    long status;   /* HTTP status, 0 when none came */
    int64_t latency_ms;
    char answer[ANSWER_MAX + 1]; /* the merchant's answer body, cut */
    size_t answer_len;           /* as received */
    char error[160];             /* "" or why there was no answer */
    bool duplicate;              /* the second delivery of MOCK_NF_DUPLICATE */
};

/* The first attempt's headers, signed when the notification was queued, at Unix time ts. */
struct presigned {
    struct wxp_notify_headers h;
    int64_t ts;
};

struct note {
    uint64_t n; /* 1, 2, ... */
    char id[64];
    char event_type[64];
    char mchid[32];
    char url[MOCK_URL_MAX + 1];
    int64_t created_ms;
    enum nstate st;
    char reason[200];
    char *body; /* the envelope; NULL once finished */
    size_t body_len;
    enum mock_nfault fault;
    long delay_ms;
    bool duplicated; /* MOCK_NF_DUPLICATE: the second delivery is done or queued */
    bool held;       /* MOCK_NF_OUT_OF_ORDER: waiting for the next notification */
    size_t tries;    /* attempts made (the schedule's index) */
    int64_t due;     /* monotonic ms of the next attempt */
    int64_t first;   /* monotonic ms of the first attempt */
    struct attempt *attempts;
    size_t nattempts;
    struct presigned *pre; /* NULL when none was made, or once the first attempt took it */
};

struct fault_rule {
    enum mock_nfault f;
    unsigned left;
    long delay_ms;
};

struct mock_notifier {
    struct mock_server *srv;
    pthread_mutex_t lock;
    pthread_cond_t cond; /* CLOCK_MONOTONIC */
    pthread_t thread;
    bool running;
    bool stop;
    struct note **v; /* oldest first */
    size_t n;
    size_t pending;
    size_t pending_bytes;
    size_t reserved;       /* room held for batches being built (send_batch) */
    size_t reserved_bytes; /* and their envelopes' bytes */
    uint64_t next_n;
    struct fault_rule rules[FAULT_RULES_MAX];
    size_t nrules;
};

static const char *const FAULT_NAMES[MOCK_NF_COUNT] = {
    [MOCK_NF_NONE] = "none",
    [MOCK_NF_SIGNTEST] = "signtest",
    [MOCK_NF_STALE_TIMESTAMP] = "stale_timestamp",
    [MOCK_NF_UNKNOWN_SERIAL] = "unknown_serial",
    [MOCK_NF_TAMPER_CIPHERTEXT] = "tampered_ciphertext",
    [MOCK_NF_TAMPER_TAG] = "tampered_tag",
    [MOCK_NF_WRONG_ALGORITHM] = "wrong_algorithm",
    [MOCK_NF_NO_SIGNATURE_TYPE] = "no_signature_type",
    [MOCK_NF_DUPLICATE] = "duplicate",
    [MOCK_NF_OUT_OF_ORDER] = "out_of_order",
    [MOCK_NF_DELAY] = "delay",
};

const char *mock_nfault_name(enum mock_nfault f)
{
    return (size_t)f < MOCK_NF_COUNT ? FAULT_NAMES[f] : NULL;
}

bool mock_nfault_parse(const char *name, enum mock_nfault *out)
{
    for (size_t i = 0; i < MOCK_NF_COUNT; i++) {
        if (strcmp(name, FAULT_NAMES[i]) == 0) {
            *out = (enum mock_nfault)i;
            return true;
        }
    }
    return false;
}

/* ---- schedules ------------------------------------------------------------------------- */

static void schedule_set(struct mock_notify_config *n, const double *s, size_t k, double repeat_s,
                         double give_up_s)
{
    memcpy(n->schedule, s, k * sizeof *s);
    n->nschedule = k;
    n->repeat_s = repeat_s;
    n->give_up_s = give_up_s;
}

void mock_notify_schedule_payscore(struct mock_notify_config *n)
{
    /* rule: the Pay Score authorization callbacks are retried at 0s/15s/15s/30s/180s/1800s x4/
     * 3600s, then every 3600 s, and not after 3 days.
     * src: docs/notifications.md#delivery-and-retries ([W-6_1_10]) */
    static const double S[] = {0, 15, 15, 30, 180, 1800, 1800, 1800, 1800, 3600};
    schedule_set(n, S, sizeof S / sizeof S[0], 3600, 3.0 * 86400);
}

void mock_notify_schedule_payment(struct mock_notify_config *n)
{
    /* rule: payment notifications: at once, then 15s/15s/30s/3m/10m/20m/30m/30m/30m/60m/3h/3h/3h/
     * 6h/6h (24h4m in all). src: docs/notifications.md#delivery-and-retries ([C-NOTIFYRULE],
     * [JSORG-NOTIFY]) */
    static const double S[] = {0,    15,   15,   30,    180,   600,   1200,  1800,
                               1800, 1800, 3600, 10800, 10800, 10800, 21600, 21600};
    schedule_set(n, S, sizeof S / sizeof S[0], 0, 0);
}

/* ---- small helpers --------------------------------------------------------------------- */

static int64_t scaled_ms(const struct mock_notify_config *c, double seconds)
{
    double ms = seconds * 1000.0 * c->time_scale;
    return ms < 1.0 && seconds > 0 ? 1 : (int64_t)ms;
}

bool mock_host_is_loopback(const char *host)
{
    struct in_addr a4;
    struct in6_addr a6;

    if (strcasecmp(host, "localhost") == 0) {
        return true;
    }
    if (inet_pton(AF_INET, host, &a4) == 1) {
        return (ntohl(a4.s_addr) >> 24) == 127;
    }
    if (inet_pton(AF_INET6, host, &a6) == 1) {
        return IN6_IS_ADDR_LOOPBACK(&a6);
    }
    return false;
}

/* An http(s) URL, and whether its host is loopback. false with `why` when it is not a URL. */
static bool url_check(const struct mock_curl *mc, const char *url, bool *loopback, char *why,
                      size_t cap)
{
    CURLU *u = mc->url();
    char *scheme = NULL, *host = NULL;
    bool ok = false;

    *loopback = false;
    if (u == NULL) {
        snprintf(why, cap, "out of memory");
        return false;
    }
    if (mc->url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        mc->url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        mc->url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
        snprintf(why, cap, "not an absolute http(s) URL");
        goto out;
    }
    if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) {
        snprintf(why, cap, "scheme %.16s: only http and https", scheme);
        goto out;
    }
    if (host[0] == '[') {
        size_t hl = strlen(host);
        if (hl > 2 && host[hl - 1] == ']') {
            host[hl - 1] = '\0';
            *loopback = mock_host_is_loopback(host + 1);
        }
    } else {
        *loopback = mock_host_is_loopback(host);
    }
    ok = true;
out:
    mc->free(scheme);
    mc->free(host);
    mc->url_cleanup(u);
    return ok;
}

static void note_free(struct note *t)
{
    if (t == NULL) {
        return;
    }
    wxp_free(t->body);
    wxp_free(t->attempts);
    wxp_free(t->pre);
    wxp_free(t);
}

/* Under the lock: a finished note gives back its queue room. */
static void note_finish(struct mock_notifier *q, struct note *t, enum nstate st, const char *why)
{
    if (t->st == N_PENDING) {
        q->pending--;
        q->pending_bytes -= t->body_len;
    }
    t->st = st;
    snprintf(t->reason, sizeof t->reason, "%s", why);
    wxp_free(t->body);
    t->body = NULL;
}

/* Under the lock: room for one more kept note, dropping the oldest finished one at KEEP_MAX. */
static bool keep_room(struct mock_notifier *q)
{
    if (q->n < KEEP_MAX) {
        return true;
    }
    for (size_t i = 0; i < q->n; i++) {
        if (q->v[i]->st != N_PENDING) {
            note_free(q->v[i]);
            memmove(&q->v[i], &q->v[i + 1], (q->n - i - 1) * sizeof *q->v);
            q->n--;
            return true;
        }
    }
    return false;
}

struct mock_notifier *mock_notifier_new(struct mock_server *srv)
{
    struct mock_notifier *q = wxp_malloc(sizeof *q);
    pthread_condattr_t ca;

    if (q == NULL) {
        return NULL;
    }
    memset(q, 0, sizeof *q);
    q->srv = srv;
    q->v = wxp_malloc(KEEP_MAX * sizeof *q->v);
    if (q->v == NULL) {
        wxp_free(q);
        return NULL;
    }
    pthread_mutex_init(&q->lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&q->cond, &ca);
    pthread_condattr_destroy(&ca);
    return q;
}

static void drop_all(struct mock_notifier *q)
{
    for (size_t i = 0; i < q->n; i++) {
        note_free(q->v[i]);
    }
    q->n = 0;
    q->pending = 0;
    q->pending_bytes = 0;
    q->nrules = 0;
}

void mock_notifier_free(struct mock_notifier *q)
{
    if (q == NULL) {
        return;
    }
    drop_all(q);
    wxp_free(q->v);
    pthread_cond_destroy(&q->cond);
    pthread_mutex_destroy(&q->lock);
    wxp_free(q);
}

/* ---- building -------------------------------------------------------------------------- */

/* Flips one bit of the ciphertext (tag = false: its first byte) or of the GCM tag (tag = true:
 * the last byte) inside the envelope text, re-encoding the base64 in place. */
static bool tamper(struct wxp_buf *env, bool tag)
{
    static const char KEY[] = "\"ciphertext\":\"";
    const char *p = env->ptr ? strstr(wxp_buf_cstr(env), KEY) : NULL;
    const char *end;
    unsigned char raw[ENVELOPE_MAX];
    char enc[ENVELOPE_MAX];
    size_t n = 0, elen = 0, off;

    if (p == NULL) {
        return false;
    }
    p += sizeof KEY - 1;
    end = strchr(p, '"');
    if (end == NULL || wxp_base64_decode(p, (size_t)(end - p), raw, sizeof raw, &n) != WXP_OK ||
        n == 0) {
        return false;
    }
    raw[tag ? n - 1 : 0] ^= 0x01;
    if (wxp_base64_encode(raw, n, enc, sizeof enc, &elen) != WXP_OK || elen != (size_t)(end - p)) {
        return false;
    }
    off = (size_t)(p - env->ptr);
    memcpy(env->ptr + off, enc, elen);
    return true;
}

/* Under the lock: the fault a new notification takes from the queued rules. */
static void take_rule(struct mock_notifier *q, enum mock_nfault *f, long *delay_ms)
{
    if (q->nrules == 0) {
        return;
    }
    *f = q->rules[0].f;
    *delay_ms = q->rules[0].delay_ms;
    if (--q->rules[0].left == 0) {
        memmove(&q->rules[0], &q->rules[1], (q->nrules - 1) * sizeof q->rules[0]);
        q->nrules--;
    }
}

static const struct mock_merchant *merchant_of(const struct mock_server *srv, const char *mchid)
{
    if (mchid == NULL || mchid[0] == '\0') {
        return srv->cfg.nmerchants > 0 ? &srv->cfg.merchants[0] : NULL;
    }
    return mock_config_merchant(&srv->cfg, wxp_str_c(mchid));
}

static enum wxp_code add_q(struct wxp_buf *b, const char *s, size_t len)
{
    /* Answers are arbitrary bytes: only their valid UTF-8 prefix is shown. */
    return wxp_json_quote(b, s, wxp_utf8_prefix_len(s, len), NULL);
}

/* One log line per attempt or refusal, beside the request lines: text, or JSON with
 * --log-format json (docs/notifications.md#admin-api), escaped by the log writer (log.c). */
static void log_out(const struct mock_server *srv, uint64_t n, const char *id, const char *url,
                    long status, long long latency_ms, enum mock_nfault f, const char *error)
{
    struct mock_log_notify o = {n, id, url, status, latency_ms, mock_nfault_name(f), error};
    struct wxp_buf line;

    if (srv->quiet) {
        return;
    }
    wxp_buf_init(&line, 8192);
    if (mock_log_notify_line(&line, srv->log_json != 0, &o) == WXP_OK) {
        fputs(wxp_buf_cstr(&line), stderr);
    }
    wxp_buf_free(&line);
}

/* Signs the first attempt of t (its envelope in env) now, as the sender would. On failure t->pre
 * stays NULL and the sender signs when it sends. */
static void presign(struct mock_server *srv, struct note *t, const struct wxp_buf *env)
{
    const struct mock_platform *signer = mock_platform_current(srv);
    struct presigned *p = wxp_malloc(sizeof *p);

    if (p == NULL) {
        return;
    }
    p->ts = (int64_t)time(NULL);
    if (wxp_notify_sign(signer->key, signer->id, p->ts, NULL, (struct wxp_str){env->ptr, env->len},
                        &p->h, NULL) != WXP_OK) {
        wxp_free(p);
        return;
    }
    t->pre = p;
}

/* Checks what every notification of a request needs: a merchant with an APIv3 key and a resource
 * within PLAINTEXT_MAX. MOCK_NSENT_QUEUED when both hold. */
static enum mock_nsent check_req(const struct mock_notify_req *rq, const struct mock_merchant *m,
                                 char *why, size_t why_cap)
{
    if (m == NULL || !m->has_apiv3_key) {
        snprintf(why, why_cap, "merchant %.31s %s", rq->mchid ? rq->mchid : "(default)",
                 m == NULL ? "is not configured" : "has no APIv3 key to encrypt with");
        return MOCK_NSENT_MERCHANT;
    }
    if (rq->plaintext.len > PLAINTEXT_MAX) {
        snprintf(why, why_cap, "the resource is longer than %zu bytes", PLAINTEXT_MAX);
        return MOCK_NSENT_ERROR;
    }
    return MOCK_NSENT_QUEUED;
}

/* Whether notifications may go to `url`: MOCK_NSENT_QUEUED, or why not (NO_URL, BAD_URL,
 * REMOTE) in `why`. */
static enum mock_nsent check_url(const struct mock_server *srv, const char *url, char *why,
                                 size_t why_cap)
{
    const struct mock_curl *mc;
    bool loopback = false;

    if (url[0] == '\0') {
        snprintf(why, why_cap, "not sent: no notify_url (neither the record's nor the merchant's)");
        return MOCK_NSENT_NO_URL;
    }
    mc = mock_curl(why, why_cap);
    if (mc == NULL) {
        return MOCK_NSENT_NO_CURL;
    }
    if (!url_check(mc, url, &loopback, why, why_cap)) {
        return MOCK_NSENT_BAD_URL;
    }
    if (!loopback && !srv->cfg.notify.allow_remote) {
        /* rule: notifications go to loopback addresses only, as listening does, unless
         * --allow-remote. src: docs/notifications.md#security */
        snprintf(why, why_cap,
                 "not sent: the notify_url's host is not a loopback address (--allow-remote "
                 "allows it)");
        return MOCK_NSENT_REMOTE;
    }
    return MOCK_NSENT_QUEUED;
}

/* A new note for rq (id: rq->id, or `uuid`) with its fault, and its envelope in env: encrypted,
 * tampered with when the fault says so. NULL with `why` on failure. */
static struct note *build_note(const struct mock_notify_req *rq, const struct mock_merchant *m,
                               const char *url, const char *uuid, enum mock_nfault f, long delay_ms,
                               struct wxp_buf *env, char *why, size_t why_cap)
{
    struct wxp_notify_spec spec;
    struct wxp_err err;
    struct note *t = wxp_malloc(sizeof *t);

    if (t == NULL) {
        snprintf(why, why_cap, "out of memory");
        return NULL;
    }
    memset(t, 0, sizeof *t);
    snprintf(t->id, sizeof t->id, "%s", rq->id ? rq->id : uuid);
    snprintf(t->event_type, sizeof t->event_type, "%s", rq->event_type);
    snprintf(t->mchid, sizeof t->mchid, "%s", m->mchid);
    snprintf(t->url, sizeof t->url, "%s", url);
    t->created_ms = mock_wall_ms();
    t->fault = f;
    t->delay_ms = delay_ms;
    memset(&spec, 0, sizeof spec);
    spec.id = t->id;
    spec.event_type = rq->event_type;
    spec.summary = rq->summary;
    spec.original_type = rq->original_type;
    spec.associated_data = rq->associated_data;
    spec.plaintext = rq->plaintext;
    /* rule: resource.algorithm names AEAD_AES_256_GCM; the fault writes another label over the
     * same AES-256-GCM encryption. src: docs/notifications.md#faults ([GO-NOTIFY]) */
    spec.algorithm = f == MOCK_NF_WRONG_ALGORITHM ? "AEAD_SM4_GCM" : NULL;
    if (wxp_notify_build(&spec, (struct wxp_str){(const char *)m->apiv3_key, WXP_AEAD_KEY_LEN}, env,
                         &err) != WXP_OK) {
        snprintf(why, why_cap, "cannot build the envelope: %.150s", err.msg);
        note_free(t);
        return NULL;
    }
    if ((f == MOCK_NF_TAMPER_CIPHERTEXT || f == MOCK_NF_TAMPER_TAG) &&
        !tamper(env, f == MOCK_NF_TAMPER_TAG)) {
        snprintf(why, why_cap, "cannot tamper with the envelope's ciphertext");
        note_free(t);
        return NULL;
    }
    return t;
}

/* Whether a note's first attempt is signed when it is queued (PRESIGN_WITHIN_MS). */
static bool presigns(const struct mock_notify_config *nc, enum mock_nfault f)
{
    return f == MOCK_NF_NONE &&
           scaled_ms(nc, nc->nschedule > 0 ? nc->schedule[0] : 0) <= PRESIGN_WITHIN_MS;
}

/* Under the lock: numbers t, which owns its envelope (t->body), and queues it for delivery. */
static void enqueue(struct mock_notifier *q, struct note *t)
{
    const struct mock_notify_config *nc = &q->srv->cfg.notify;
    int64_t now = mock_mono_ms();

    t->n = ++q->next_n;
    t->st = N_PENDING;
    t->due = now + scaled_ms(nc, nc->nschedule > 0 ? nc->schedule[0] : 0);
    if (t->fault == MOCK_NF_DELAY) {
        t->due += t->delay_ms;
    }
    /* rule: out of order: a held notification goes right after the next one. Held notes are
     * pending: the scan stops when it has seen all of those (newest first, as next_due). */
    for (size_t i = q->n, seen = 0; i-- > 0 && seen < q->pending;) {
        if (q->v[i]->st != N_PENDING) {
            continue;
        }
        seen++;
        if (q->v[i]->held) {
            q->v[i]->held = false;
            q->v[i]->due = t->due + 1;
        }
    }
    if (t->fault == MOCK_NF_OUT_OF_ORDER) {
        t->held = true;
        t->due = now + HOLD_MAX_MS;
    }
    q->pending++;
    q->pending_bytes += t->body_len;
    q->v[q->n++] = t;
}

/* One notification (count 1): recorded even when it cannot be queued (not_sent, with why). */
static enum mock_nsent send_one(struct mock_server *srv, const struct mock_notify_req *rq,
                                const struct mock_merchant *m, uint64_t *n_out, char *id_out,
                                char *why, size_t why_cap)
{
    struct mock_notifier *q = srv->notifier;
    const struct mock_notify_config *nc = &srv->cfg.notify;
    struct wxp_buf env;
    struct wxp_err err;
    struct note *t = NULL;
    enum mock_nfault f = rq->fault;
    long delay_ms = rq->delay_ms;
    enum mock_nsent res = MOCK_NSENT_ERROR;
    const char *url = rq->url != NULL && rq->url[0] != '\0' ? rq->url : m->notify_url;
    char uuid[WXP_NOTIFY_ID_LEN + 1];

    wxp_buf_init(&env, ENVELOPE_MAX);
    if (rq->id == NULL && wxp_notify_id(uuid, &err) != WXP_OK) {
        snprintf(why, why_cap, "no random bytes for an id");
        return MOCK_NSENT_ERROR;
    }
    pthread_mutex_lock(&q->lock);
    if (f == MOCK_NF_NONE) {
        take_rule(q, &f, &delay_ms);
    }
    pthread_mutex_unlock(&q->lock);
    t = build_note(rq, m, url, uuid, f, delay_ms, &env, why, why_cap);
    if (t == NULL) {
        goto out;
    }
    res = check_url(srv, t->url, why, why_cap);
    if (res == MOCK_NSENT_QUEUED && presigns(nc, f)) {
        presign(srv, t, &env);
    }
    pthread_mutex_lock(&q->lock);
    if (res == MOCK_NSENT_QUEUED &&
        (q->pending + q->reserved >= nc->queue_max || q->pending + q->reserved >= KEEP_MAX ||
         q->pending_bytes + q->reserved_bytes + env.len > nc->queue_bytes)) {
        res = MOCK_NSENT_FULL;
        snprintf(why, why_cap, "not sent: the queue is full (%zu notifications, %zu bytes)",
                 q->pending + q->reserved, q->pending_bytes + q->reserved_bytes);
    }
    if (!keep_room(q)) {
        snprintf(why, why_cap, "not sent: %zu notifications are pending", q->n);
        pthread_mutex_unlock(&q->lock);
        res = MOCK_NSENT_FULL;
        goto out;
    }
    if (res == MOCK_NSENT_QUEUED) {
        t->body = env.ptr;
        t->body_len = env.len;
        env.ptr = NULL;
        env.len = 0;
        enqueue(q, t);
    } else {
        t->n = ++q->next_n;
        t->st = N_NOT_SENT;
        snprintf(t->reason, sizeof t->reason, "%s", why);
        q->v[q->n++] = t;
    }
    if (n_out != NULL) {
        *n_out = t->n;
    }
    if (id_out != NULL) {
        snprintf(id_out, 64, "%s", t->id);
    }
    pthread_cond_broadcast(&q->cond);
    pthread_mutex_unlock(&q->lock);
    if (res != MOCK_NSENT_QUEUED) {
        log_out(srv, t->n, t->id, t->url, 0, 0, t->fault, why);
    }
    t = NULL;
out:
    note_free(t);
    wxp_buf_free(&env);
    return res;
}

/* Under the lock: whether `count` more notifications of `bytes` bytes in all fit beside the
 * pending and reserved ones, in the queue and in the listing. */
static bool batch_fits(const struct mock_notifier *q, size_t count, size_t bytes)
{
    const struct mock_notify_config *nc = &q->srv->cfg.notify;
    size_t held = q->pending + q->reserved;

    return held + count <= nc->queue_max && held + count <= KEEP_MAX &&
           q->pending_bytes + q->reserved_bytes + bytes <= nc->queue_bytes;
}

/* A batch (count > 1): every notification is built from rq with its own fresh id, fault (from rq,
 * else the queued rules, in order) and envelope; the room for all of them is reserved first, so
 * they are queued all together (consecutive numbers) or none is, and none is recorded then. */
static enum mock_nsent send_batch(struct mock_server *srv, const struct mock_notify_req *rq,
                                  const struct mock_merchant *m, uint64_t *n_out, char *id_out,
                                  char *why, size_t why_cap)
{
    struct mock_notifier *q = srv->notifier;
    const struct mock_notify_config *nc = &srv->cfg.notify;
    const char *url = rq->url != NULL && rq->url[0] != '\0' ? rq->url : m->notify_url;
    struct note **v = NULL;
    struct note *probe = NULL;
    struct wxp_buf env;
    struct wxp_err err;
    size_t count = rq->count, est = 0;
    enum mock_nsent res;
    bool reserved = false;
    char uuid[WXP_NOTIFY_ID_LEN + 1];

    wxp_buf_init(&env, ENVELOPE_MAX);
    res = check_url(srv, url, why, why_cap);
    if (res != MOCK_NSENT_QUEUED) {
        goto out;
    }
    res = MOCK_NSENT_ERROR;
    v = wxp_malloc(count * sizeof *v);
    if (v == NULL) {
        snprintf(why, why_cap, "out of memory");
        goto out;
    }
    memset(v, 0, count * sizeof *v);
    /* Every envelope of the batch has the size of this one (ids of one length, the same
     * resource) or less (the wrong_algorithm label is shorter): the bytes to reserve. */
    if (wxp_notify_id(uuid, &err) != WXP_OK) {
        snprintf(why, why_cap, "no random bytes for an id");
        goto out;
    }
    probe = build_note(rq, m, url, uuid, MOCK_NF_NONE, 0, &env, why, why_cap);
    if (probe == NULL) {
        goto out;
    }
    est = env.len;
    pthread_mutex_lock(&q->lock);
    if (!batch_fits(q, count, count * est)) {
        snprintf(why, why_cap,
                 "not sent: the queue has no room for %zu more notifications (%zu waiting, %zu "
                 "bytes); none of them was queued",
                 count, q->pending + q->reserved, q->pending_bytes + q->reserved_bytes);
        pthread_mutex_unlock(&q->lock);
        res = MOCK_NSENT_FULL;
        goto out;
    }
    q->reserved += count;
    q->reserved_bytes += count * est;
    reserved = true;
    /* Each takes its fault now, in order, as `count` single requests would; the note holds it
     * until it is built. */
    for (size_t i = 0; i < count; i++) {
        v[i] = wxp_malloc(sizeof *v[i]);
        if (v[i] == NULL) {
            break;
        }
        memset(v[i], 0, sizeof *v[i]);
        v[i]->fault = rq->fault;
        v[i]->delay_ms = rq->delay_ms;
        if (v[i]->fault == MOCK_NF_NONE) {
            take_rule(q, &v[i]->fault, &v[i]->delay_ms);
        }
    }
    pthread_mutex_unlock(&q->lock);
    for (size_t i = 0; i < count; i++) {
        struct note *t;
        if (v[i] == NULL || wxp_notify_id(uuid, &err) != WXP_OK) {
            snprintf(why, why_cap, "out of memory or random bytes");
            goto out;
        }
        wxp_buf_reset(&env);
        t = build_note(rq, m, url, uuid, v[i]->fault, v[i]->delay_ms, &env, why, why_cap);
        if (t == NULL) {
            goto out;
        }
        note_free(v[i]);
        v[i] = t;
        if (presigns(nc, t->fault)) {
            presign(srv, t, &env);
        }
        t->body = env.ptr;
        t->body_len = env.len;
        wxp_buf_init(&env, ENVELOPE_MAX);
    }
    pthread_mutex_lock(&q->lock);
    q->reserved -= count;
    q->reserved_bytes -= count * est;
    reserved = false;
    if (n_out != NULL) {
        *n_out = q->next_n + 1;
    }
    if (id_out != NULL) {
        snprintf(id_out, 64, "%s", v[0]->id);
    }
    for (size_t i = 0; i < count; i++) {
        /* The reservation kept room for all of them (no single notification queues into it),
         * and keep_room drops finished notes only, so it finds room; checked all the same. */
        if (!keep_room(q)) {
            break;
        }
        enqueue(q, v[i]);
        v[i] = NULL;
    }
    pthread_cond_broadcast(&q->cond);
    pthread_mutex_unlock(&q->lock);
    res = MOCK_NSENT_QUEUED;
out:
    if (reserved) {
        pthread_mutex_lock(&q->lock);
        q->reserved -= count;
        q->reserved_bytes -= count * est;
        pthread_mutex_unlock(&q->lock);
    }
    for (size_t i = 0; v != NULL && i < count; i++) {
        note_free(v[i]);
    }
    note_free(probe);
    wxp_free(v);
    wxp_buf_free(&env);
    return res;
}

enum mock_nsent mock_notify_send(struct mock_server *srv, const struct mock_notify_req *rq,
                                 uint64_t *n_out, char *id_out, char *why, size_t why_cap)
{
    const struct mock_merchant *m = merchant_of(srv, rq->mchid);
    enum mock_nsent res;
    char local[160];

    if (why == NULL || why_cap == 0) {
        why = local;
        why_cap = sizeof local;
    }
    why[0] = '\0';
    res = check_req(rq, m, why, why_cap);
    if (res != MOCK_NSENT_QUEUED) {
        return res;
    }
    if (rq->count > 1) {
        if (rq->count > MOCK_NOTIFY_BATCH_MAX || rq->id != NULL) {
            snprintf(why, why_cap, "a batch is 2 to %d notifications, each with a fresh id",
                     MOCK_NOTIFY_BATCH_MAX);
            return MOCK_NSENT_ERROR;
        }
        return send_batch(srv, rq, m, n_out, id_out, why, why_cap);
    }
    return send_one(srv, rq, m, n_out, id_out, why, why_cap);
}

bool mock_notify_fault_next(struct mock_server *srv, enum mock_nfault f, unsigned count,
                            long delay_ms)
{
    struct mock_notifier *q = srv->notifier;
    bool ok = false;

    pthread_mutex_lock(&q->lock);
    if (q->nrules < FAULT_RULES_MAX && count > 0) {
        q->rules[q->nrules++] = (struct fault_rule){f, count, delay_ms};
        ok = true;
    }
    pthread_mutex_unlock(&q->lock);
    return ok;
}

void mock_notify_clear(struct mock_server *srv)
{
    struct mock_notifier *q = srv->notifier;

    pthread_mutex_lock(&q->lock);
    drop_all(q);
    pthread_mutex_unlock(&q->lock);
}

/* ---- the user events ------------------------------------------------------------------- */

/* Appends ,"name":"value" (no comma when first). */
static enum wxp_code member(struct wxp_buf *b, bool first, const char *name, const char *value)
{
    enum wxp_code rc = wxp_buf_addf(b, "%s\"%s\":", first ? "" : ",", name);
    if (rc == WXP_OK) {
        rc = value != NULL ? wxp_json_quote(b, value, strlen(value), NULL)
                           : wxp_buf_addstr(b, "null");
    }
    return rc;
}

/* yyyyMMddHHmmss in China Standard Time. */
static void compact_time(int64_t t, char out[16])
{
    time_t cst = (time_t)(t + 8 * 3600);
    struct tm tm;

    gmtime_r(&cst, &tm);
    if (strftime(out, 16, "%Y%m%d%H%M%S", &tm) == 0) {
        out[0] = '\0';
    }
}

void mock_notify_user_event(struct mock_server *srv, enum mock_user_event ev,
                            const struct mock_record *r)
{
    static const char *const EVENT[] = {"PAYSCORE.USER_OPEN_SERVICE",
                                        "PAYSCORE.USER_CLOSE_SERVICE"};
    /* rule: the summaries: 授权成功 for USER_OPEN_SERVICE ([D-NOTIFY]); the close text is not
     * published, so the field table's 解除授权成功 is used.
     * src: docs/notifications.md#what-the-mock-sends */
    static const char *const SUMMARY[] = {"授权成功", "解除授权成功"};
    struct mock_notify_req rq;
    struct wxp_buf pt;
    char when[16];
    enum wxp_code rc;

    if ((size_t)ev >= MOCK_USER_EVENTS) {
        return;
    }
    pthread_mutex_lock(&srv->seq_lock);
    srv->user_events[ev]++;
    pthread_mutex_unlock(&srv->seq_lock);
    if (srv->notifier == NULL) {
        return;
    }
    compact_time(ev == MOCK_USER_OPEN_SERVICE ? r->authorized_at : r->terminated_at, when);
    /* rule: the decrypted resource: appid, mchid, out_request_no (may be null), service_id,
     * openid, user_service_status, openorclose_time as yyyyMMddHHmmss, authorization_code only
     * for a pre-authorization. src: docs/notifications.md#what-the-mock-sends ([C-6110-MODEL]) */
    wxp_buf_init(&pt, PLAINTEXT_MAX);
    rc = wxp_buf_addstr(&pt, "{");
    if (rc == WXP_OK) {
        rc = member(&pt, true, "appid", r->appid);
    }
    if (rc == WXP_OK) {
        rc = member(&pt, false, "mchid", r->mchid);
    }
    if (rc == WXP_OK) {
        rc = member(&pt, false, "out_request_no", NULL);
    }
    if (rc == WXP_OK) {
        rc = member(&pt, false, "service_id", r->service_id);
    }
    if (rc == WXP_OK) {
        rc = member(&pt, false, "openid", r->openid);
    }
    if (rc == WXP_OK) {
        rc = member(&pt, false, "user_service_status", EVENT[ev] + strlen("PAYSCORE."));
    }
    if (rc == WXP_OK) {
        rc = member(&pt, false, "openorclose_time", when);
    }
    if (rc == WXP_OK && r->authorization_code[0] != '\0') {
        rc = member(&pt, false, "authorization_code", r->authorization_code);
    }
    if (rc == WXP_OK) {
        rc = wxp_buf_addstr(&pt, "}");
    }
    if (rc == WXP_OK) {
        memset(&rq, 0, sizeof rq);
        rq.mchid = r->mchid;
        rq.url = r->notify_url;
        rq.event_type = EVENT[ev];
        rq.summary = SUMMARY[ev];
        rq.plaintext = (struct wxp_str){pt.ptr, pt.len};
        (void)mock_notify_send(srv, &rq, NULL, NULL, NULL, 0);
    }
    wxp_buf_free(&pt);
}

/* ---- delivery -------------------------------------------------------------------------- */

struct answer {
    char text[ANSWER_MAX + 1];
    size_t kept;
    size_t len;
};

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud)
{
    struct answer *a = ud;
    size_t n = size * nmemb;
    size_t room = ANSWER_MAX - a->kept;
    size_t k = n < room ? n : room;

    memcpy(a->text + a->kept, p, k);
    a->kept += k;
    a->text[a->kept] = '\0';
    a->len += n;
    return n;
}

/* What one attempt sends: a copy taken under the lock. */
struct job {
    uint64_t n;
    char id[64];
    char url[MOCK_URL_MAX + 1];
    char *body;
    size_t body_len;
    enum mock_nfault fault;
    bool duplicate;
    struct presigned *pre; /* owned; NULL: sign when sending */
};

static enum wxp_code add_header(const struct mock_curl *mc, struct curl_slist **l,
                                struct mock_request *jr, const char *name, const char *value)
{
    char line[1200];
    struct curl_slist *nl;

    snprintf(line, sizeof line, "%s: %s", name, value);
    nl = mc->slist_append(*l, line);
    if (nl == NULL) {
        return WXP_E_NOMEM;
    }
    *l = nl;
    if (jr->nheaders < MOCK_HEADERS_MAX) {
        jr->headers[jr->nheaders].name = wxp_strndup(name, strlen(name));
        jr->headers[jr->nheaders].value = wxp_strndup(value, strlen(value));
        jr->nheaders++;
    }
    return WXP_OK;
}

/* One attempt, without the lock: signs with the current platform signer, POSTs, records the
 * outcome in *a and the journal. */
/* One attempt of job j over the sender's handle `c` (NULL: none could be made). The handle is
 * reset and set up again for each attempt; reset keeps its connection cache, so consecutive
 * attempts to the same receiver reuse one kept-alive connection instead of a TCP connect and
 * close each (docs/performance.md#what-bounds-each-figure). */
static void attempt_one(struct mock_server *srv, const struct mock_curl *mc, CURL *c,
                        const struct job *j, struct attempt *a)
{
    const struct mock_platform *signer = mock_platform_current(srv);
    const struct mock_notify_config *nc = &srv->cfg.notify;
    struct wxp_notify_headers h;
    struct wxp_err err;
    struct curl_slist *hl = NULL;
    struct answer ans;
    struct mock_request jr;
    struct mock_response jresp;
    char sig[sizeof h.signature + 32];
    char reqid[64];
    unsigned char rnd[18];
    CURLcode cc;
    int64_t ts = (int64_t)time(NULL);
    int64_t t0;
    enum wxp_code rc;

    memset(&jr, 0, sizeof jr);
    memset(&ans, 0, sizeof ans);
    mock_response_init(&jresp);
    a->at_ms = mock_wall_ms();
    a->duplicate = j->duplicate;
    if (j->fault == MOCK_NF_STALE_TIMESTAMP) {
        ts -= STALE_S;
    }
    if (j->pre != NULL && ts - j->pre->ts >= 0 && ts - j->pre->ts <= PRESIGN_MAX_AGE_S) {
        h = j->pre->h;
        rc = WXP_OK;
    } else {
        rc = wxp_notify_sign(signer->key,
                             j->fault == MOCK_NF_UNKNOWN_SERIAL ? UNKNOWN_SERIAL_TEXT : signer->id,
                             ts, NULL, (struct wxp_str){j->body, j->body_len}, &h, &err);
    }
    if (rc != WXP_OK) {
        snprintf(a->error, sizeof a->error, "cannot sign: %.120s", err.msg);
        goto out;
    }
    /* rule: a probe carries WECHATPAY/SIGNTEST/ and a base64 tail in place of the signature.
     * src: docs/notifications.md#faults ([I-JAVA319]) */
    snprintf(sig, sizeof sig, "%s%s", j->fault == MOCK_NF_SIGNTEST ? "WECHATPAY/SIGNTEST/" : "",
             h.signature);
    if (RAND_bytes(rnd, sizeof rnd) != 1) {
        snprintf(a->error, sizeof a->error, "no random bytes");
        goto out;
    }
    for (size_t i = 0; i < sizeof rnd; i++) {
        static const char HEX[] = "0123456789ABCDEF";
        reqid[2 * i] = HEX[rnd[i] >> 4];
        reqid[2 * i + 1] = HEX[rnd[i] & 15];
    }
    reqid[2 * sizeof rnd] = '\0';
    snprintf(jr.method, sizeof jr.method, "POST");
    jr.target = wxp_strndup(j->url, strlen(j->url));
    jr.outbound = true;
    jr.seq = mock_server_next_seq(srv);
    jr.received_ms = a->at_ms;
    wxp_buf_init(&jr.body, MOCK_BODY_MAX);
    /* rule: the headers of a notification: Wechatpay-Serial, -Signature, -Timestamp, -Nonce,
     * -Signature-Type, Request-ID. src: docs/notifications.md#what-the-mock-sends ([D-NOTIFY],
     * [JSORG-NOTIFY]) */
    if (add_header(mc, &hl, &jr, "Content-Type", "application/json") != WXP_OK ||
        add_header(mc, &hl, &jr, "User-Agent", NOTIFY_UA) != WXP_OK ||
        add_header(mc, &hl, &jr, "Request-ID", reqid) != WXP_OK ||
        add_header(mc, &hl, &jr, "Wechatpay-Serial", h.serial) != WXP_OK ||
        add_header(mc, &hl, &jr, "Wechatpay-Signature", sig) != WXP_OK ||
        add_header(mc, &hl, &jr, "Wechatpay-Timestamp", h.timestamp) != WXP_OK ||
        add_header(mc, &hl, &jr, "Wechatpay-Nonce", h.nonce) != WXP_OK ||
        (j->fault != MOCK_NF_NO_SIGNATURE_TYPE &&
         add_header(mc, &hl, &jr, "Wechatpay-Signature-Type", h.signature_type) != WXP_OK) ||
        add_header(mc, &hl, &jr, "Expect", "") != WXP_OK ||
        wxp_buf_add(&jr.body, j->body, j->body_len) != WXP_OK) {
        snprintf(a->error, sizeof a->error, "out of memory");
        goto out;
    }
    if (c == NULL) {
        snprintf(a->error, sizeof a->error, "curl_easy_init failed");
        goto out;
    }
    mc->easy_reset(c);
    mc->easy_setopt(c, CURLOPT_URL, j->url);
    mc->easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    mc->easy_setopt(c, CURLOPT_NOPROXY, "*");
    mc->easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    mc->easy_setopt(c, CURLOPT_TIMEOUT_MS, nc->timeout_ms);
    mc->easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    mc->easy_setopt(c, CURLOPT_POSTFIELDS, j->body);
    mc->easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)j->body_len);
    mc->easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    mc->easy_setopt(c, CURLOPT_WRITEDATA, &ans);
    t0 = mock_mono_ms();
    cc = mc->easy_perform(c);
    a->latency_ms = mock_mono_ms() - t0;
    if (cc != CURLE_OK) {
        snprintf(a->error, sizeof a->error, "%s", mc->easy_strerror(cc));
    } else {
        mc->easy_getinfo(c, CURLINFO_RESPONSE_CODE, &a->status);
    }
    memcpy(a->answer, ans.text, ans.kept + 1);
    a->answer_len = ans.len;
    jresp.status = (unsigned)a->status;
    jresp.drop = cc != CURLE_OK;
    jresp.sign = true;
    if (wxp_buf_add(&jresp.body, ans.text, ans.kept) != WXP_OK) {
        wxp_buf_reset(&jresp.body);
    }
    mock_journal_add(srv->journal, &jr, &jresp);
    log_out(srv, j->n, j->id, j->url, a->status, (long long)a->latency_ms, j->fault, a->error);
out:
    mc->slist_free_all(hl);
    for (size_t i = 0; i < jr.nheaders; i++) {
        wxp_free(jr.headers[i].name);
        wxp_free(jr.headers[i].value);
    }
    wxp_free(jr.target);
    wxp_buf_free(&jr.body);
    mock_response_free(&jresp);
}

/* Newest first: the note being sent is pending, and pending notes are the newest ones. */
static struct note *find(struct mock_notifier *q, uint64_t n)
{
    for (size_t i = q->n; i-- > 0;) {
        if (q->v[i]->n == n) {
            return q->v[i];
        }
    }
    return NULL;
}

/* Under the lock: records the attempt and plans the next one or finishes the note. */
static void settle(struct mock_notifier *q, struct note *t, const struct attempt *a)
{
    const struct mock_notify_config *nc = &q->srv->cfg.notify;
    int64_t now = mock_mono_ms();
    double wait_s;
    char why[200];

    if (t->nattempts < ATTEMPTS_MAX) {
        struct attempt *na = wxp_realloc(t->attempts, (t->nattempts + 1) * sizeof *na);
        if (na != NULL) {
            t->attempts = na;
            t->attempts[t->nattempts++] = *a;
        }
    }
    if (t->tries == 0) {
        t->first = now;
    }
    /* rule: 2xx is received; anything else (a status, a timeout, a refused connection) is
     * retried. src: docs/notifications.md#delivery-and-retries ([SK-CB], [C-NOTIFYRULE]) */
    if (a->error[0] == '\0' && a->status >= 200 && a->status <= 299) {
        if (t->fault == MOCK_NF_DUPLICATE && !t->duplicated) {
            t->duplicated = true;
            t->due = now;
            return;
        }
        note_finish(q, t, N_DELIVERED, "");
        return;
    }
    if (a->duplicate) {
        note_finish(q, t, N_DELIVERED, "the duplicate delivery was not accepted");
        return;
    }
    t->tries++;
    if (t->tries < nc->nschedule) {
        wait_s = nc->schedule[t->tries];
    } else if (nc->repeat_s > 0) {
        wait_s = nc->repeat_s;
    } else {
        snprintf(why, sizeof why, "gave up after %zu attempts (the end of the schedule)", t->tries);
        note_finish(q, t, N_FAILED, why);
        return;
    }
    if (nc->give_up_s > 0 && (double)(now - t->first) + (double)scaled_ms(nc, wait_s) >
                                 (double)scaled_ms(nc, nc->give_up_s)) {
        snprintf(why, sizeof why, "gave up after %zu attempts (%.0f s of the schedule)", t->tries,
                 nc->give_up_s);
        note_finish(q, t, N_FAILED, why);
        return;
    }
    t->due = now + scaled_ms(nc, wait_s);
}

/* Under the lock: the pending note due first (the oldest of those due at once), or NULL. The
 * scan runs newest first and stops when it has seen all q->pending of them: pending notes are
 * the newest, and the listing keeps up to KEEP_MAX finished ones before them. */
static struct note *next_due(struct mock_notifier *q)
{
    struct note *best = NULL;
    size_t seen = 0;

    for (size_t i = q->n; i-- > 0 && seen < q->pending;) {
        struct note *t = q->v[i];
        if (t->st == N_PENDING) {
            seen++;
            if (best == NULL || t->due <= best->due) {
                best = t;
            }
        }
    }
    return best;
}

static void *sender(void *arg)
{
    struct mock_notifier *q = arg;
    /* libcurl and one handle for the thread's life, made at the first attempt: the handle's
     * connection cache outlives each attempt. */
    const struct mock_curl *mc = NULL;
    CURL *c = NULL;
    char why[256] = "";

    pthread_mutex_lock(&q->lock);
    while (!q->stop) {
        struct note *t = next_due(q);
        int64_t now = mock_mono_ms();
        struct job j;
        struct attempt *a;

        if (t == NULL) {
            pthread_cond_wait(&q->cond, &q->lock);
            continue;
        }
        if (t->due > now) {
            struct timespec ts;
            ts.tv_sec = (time_t)(t->due / 1000);
            ts.tv_nsec = (long)(t->due % 1000) * 1000000L;
            pthread_cond_timedwait(&q->cond, &q->lock, &ts);
            continue;
        }
        memset(&j, 0, sizeof j);
        j.n = t->n;
        snprintf(j.id, sizeof j.id, "%s", t->id);
        snprintf(j.url, sizeof j.url, "%s", t->url);
        j.body = wxp_strndup(t->body, t->body_len);
        j.body_len = t->body_len;
        j.fault = t->fault;
        j.duplicate = t->duplicated;
        j.pre = t->pre; /* the first attempt only: later ones sign when they are sent */
        t->pre = NULL;
        t->held = false;
        a = wxp_malloc(sizeof *a);
        if (j.body == NULL || a == NULL) {
            wxp_free(j.body);
            wxp_free(j.pre);
            wxp_free(a);
            t->due = now + 1000;
            continue;
        }
        memset(a, 0, sizeof *a);
        pthread_mutex_unlock(&q->lock);
        if (mc == NULL && (mc = mock_curl(why, sizeof why)) != NULL) {
            c = mc->easy_init();
        }
        if (mc == NULL) {
            a->at_ms = mock_wall_ms();
            snprintf(a->error, sizeof a->error, "%.150s", why);
        } else {
            attempt_one(q->srv, mc, c, &j, a);
        }
        pthread_mutex_lock(&q->lock);
        t = find(q, j.n); /* a reset may have dropped it meanwhile */
        if (t != NULL && t->st == N_PENDING) {
            settle(q, t, a);
        }
        wxp_free(a);
        wxp_free(j.body);
        wxp_free(j.pre);
    }
    pthread_mutex_unlock(&q->lock);
    if (c != NULL) {
        mc->easy_cleanup(c);
    }
    return NULL;
}

enum wxp_code mock_notify_start(struct mock_server *srv, struct wxp_err *err)
{
    struct mock_notifier *q = srv->notifier;

    q->stop = false;
    if (pthread_create(&q->thread, NULL, sender, q) != 0) {
        return wxp_err_set(err, WXP_E_IO, NULL, "cannot start the notification sender");
    }
    q->running = true;
    return WXP_OK;
}

void mock_notify_stop(struct mock_server *srv)
{
    struct mock_notifier *q = srv->notifier;

    if (q == NULL || !q->running) {
        return;
    }
    pthread_mutex_lock(&q->lock);
    q->stop = true;
    pthread_cond_broadcast(&q->cond);
    pthread_mutex_unlock(&q->lock);
    pthread_join(q->thread, NULL);
    q->running = false;
}

/* ---- listing --------------------------------------------------------------------------- */

static enum wxp_code dump_note(struct wxp_buf *b, const struct note *t)
{
    char when[MOCK_TIME_TEXT];
    enum wxp_code rc;

    mock_time_text(t->created_ms / 1000, when);
    rc = wxp_buf_addf(b, "{\"n\":%llu,\"id\":", (unsigned long long)t->n);
    if (rc == WXP_OK) {
        rc = add_q(b, t->id, strlen(t->id));
    }
    if (rc == WXP_OK) {
        rc = wxp_buf_addstr(b, ",\"event_type\":");
    }
    if (rc == WXP_OK) {
        rc = add_q(b, t->event_type, strlen(t->event_type));
    }
    if (rc == WXP_OK) {
        rc = wxp_buf_addf(b, ",\"mchid\":\"%s\",\"url\":", t->mchid);
    }
    if (rc == WXP_OK) {
        rc = add_q(b, t->url, strlen(t->url));
    }
    if (rc == WXP_OK) {
        rc = wxp_buf_addf(b, ",\"created\":\"%s\",\"state\":\"%s\",\"reason\":", when,
                          NSTATE_NAMES[t->st]);
    }
    if (rc == WXP_OK) {
        rc = add_q(b, t->reason, strlen(t->reason));
    }
    if (rc == WXP_OK) {
        rc = wxp_buf_addf(b, ",\"fault\":\"%s\",\"attempts\":[", mock_nfault_name(t->fault));
    }
    for (size_t i = 0; i < t->nattempts && rc == WXP_OK; i++) {
        const struct attempt *a = &t->attempts[i];
        char at[MOCK_TIME_TEXT];
        mock_time_text(a->at_ms / 1000, at);
        rc = wxp_buf_addf(b, "%s{\"time\":\"%s\",\"time_ms\":%lld,\"url\":", i ? "," : "", at,
                          (long long)a->at_ms);
        if (rc == WXP_OK) {
            rc = add_q(b, t->url, strlen(t->url));
        }
        if (rc == WXP_OK) {
            rc = wxp_buf_addf(b, ",\"status\":%ld,\"latency_ms\":%lld,\"answer\":", a->status,
                              (long long)a->latency_ms);
        }
        if (rc == WXP_OK) {
            rc = add_q(b, a->answer, strlen(a->answer));
        }
        if (rc == WXP_OK) {
            rc = wxp_buf_addf(b,
                              ",\"answer_len\":%zu,\"answer_cut\":%s,\"duplicate\":%s,"
                              "\"error\":",
                              a->answer_len, a->answer_len > ANSWER_MAX ? "true" : "false",
                              a->duplicate ? "true" : "false");
        }
        if (rc == WXP_OK) {
            rc = a->error[0] ? add_q(b, a->error, strlen(a->error)) : wxp_buf_addstr(b, "null");
        }
        if (rc == WXP_OK) {
            rc = wxp_buf_addstr(b, "}");
        }
    }
    if (rc == WXP_OK) {
        rc = wxp_buf_addstr(b, "]}");
    }
    return rc;
}

enum wxp_code mock_notify_dump(struct mock_server *srv, size_t limit, struct wxp_buf *out)
{
    struct mock_notifier *q = srv->notifier;
    enum wxp_code rc;
    size_t from;

    pthread_mutex_lock(&q->lock);
    from = limit != 0 && limit < q->n ? q->n - limit : 0;
    rc = wxp_buf_addstr(out, "[");
    for (size_t i = from; i < q->n && rc == WXP_OK; i++) {
        if (i > from) {
            rc = wxp_buf_addstr(out, ",");
        }
        if (rc == WXP_OK) {
            rc = dump_note(out, q->v[i]);
        }
    }
    if (rc == WXP_OK) {
        rc = wxp_buf_addstr(out, "]");
    }
    pthread_mutex_unlock(&q->lock);
    return rc;
}
