/* SPDX-License-Identifier: MIT */
/* journal.c: what the mock received and answered, kept in a bounded ring (newest `cap` entries,
 * and at most `budget` bytes) for the admin API (GET /__admin/requests). An entry keeps its
 * strings in one block of its own, and is charged to the byte budget for that block and for the
 * length of its JSON form, measured when it is added and written again by each dump (keeping the
 * JSON too doubled the journal's memory); once the ring is full the oldest entry and its block
 * are reused for the newest request, so the journal's memory stays flat under steady load. */
#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "mock.h"
#include "wxp/base64.h"
#include "wxp/envelope.h"
#include "wxp/mem.h"
#include "wxp/utf8.h"

/* Bodies kept per entry; the rest is counted in body_len only. */
#define JOURNAL_BODY_MAX ((size_t)64 * 1024)

struct jheader {
    char *name;
    char *value;
    size_t value_len;
};

struct jentry {
    uint64_t seq;
    int64_t received_ms;
    char method[16];
    char *target;
    struct jheader *headers;
    size_t nheaders;
    char *body;
    size_t body_kept;
    size_t body_len; /* as received */
    char remote[64];
    unsigned status;
    char code[64];
    char failed_check[32];
    const char *operation; /* a WXP_OPS name (static), NULL when the request routed to none */
    int64_t latency_ms;
    bool sign;
    bool outbound;        /* a notification the mock sent (notify.c), not a request received */
    unsigned char *block; /* the header array, then target, names and values, then the body */
    size_t block_cap;
    size_t json_len;     /* the length of the entry as GET /__admin/requests writes it */
    size_t cost;         /* bytes charged to the budget: the struct, the block, json_len */
    struct jentry *next; /* only on the list of entries mock_journal_add drops */
};

/* A block that grew beyond this for one large request is shrunk when the entry is reused. */
#define BLOCK_KEEP_MAX ((size_t)16 * 1024)

struct mock_journal {
    pthread_mutex_t lock;
    struct jentry **ring; /* ring[(first + i) % cap], i < n, oldest first */
    size_t cap;
    size_t first;
    size_t n;
    size_t budget; /* bytes; the oldest entries are dropped while bytes > budget and n > 1 */
    size_t bytes;  /* sum of the entries' cost */
};

/* The JSON form of one entry is at most about 6 times its strings (\u00XX escapes), and those are
 * bounded by libmicrohttpd's 64 KiB per connection plus the 64 KiB body: 2 MiB always holds one. */
#define ENTRY_JSON_MAX ((size_t)2 * 1024 * 1024)

static void entry_free(struct jentry *e)
{
    if (e == NULL) {
        return;
    }
    wxp_free(e->block);
    wxp_free(e);
}

struct mock_journal *mock_journal_new(size_t cap)
{
    struct mock_journal *j = wxp_malloc(sizeof *j);

    if (j == NULL) {
        return NULL;
    }
    memset(j, 0, sizeof *j);
    j->cap = cap ? cap : 1;
    j->budget = MOCK_JOURNAL_BYTES_DEFAULT;
    if (j->cap > SIZE_MAX / sizeof *j->ring) {
        wxp_free(j);
        return NULL;
    }
    j->ring = wxp_malloc(j->cap * sizeof *j->ring);
    if (j->ring == NULL || pthread_mutex_init(&j->lock, NULL) != 0) {
        wxp_free(j->ring);
        wxp_free(j);
        return NULL;
    }
    memset(j->ring, 0, j->cap * sizeof *j->ring);
    return j;
}

static void drop_all(struct mock_journal *j)
{
    for (size_t i = 0; i < j->n; i++) {
        size_t at = (j->first + i) % j->cap;
        entry_free(j->ring[at]);
        j->ring[at] = NULL;
    }
    j->first = 0;
    j->n = 0;
    j->bytes = 0;
}

void mock_journal_free(struct mock_journal *j)
{
    if (j == NULL) {
        return;
    }
    drop_all(j);
    pthread_mutex_destroy(&j->lock);
    wxp_free(j->ring);
    wxp_free(j);
}

void mock_journal_set_budget(struct mock_journal *j, size_t bytes)
{
    pthread_mutex_lock(&j->lock);
    j->budget = bytes;
    pthread_mutex_unlock(&j->lock);
}

size_t mock_journal_bytes(struct mock_journal *j)
{
    size_t n;

    pthread_mutex_lock(&j->lock);
    n = j->bytes;
    pthread_mutex_unlock(&j->lock);
    return n;
}

size_t mock_journal_dump_max(struct mock_journal *j)
{
    size_t n;

    pthread_mutex_lock(&j->lock);
    n = j->budget;
    pthread_mutex_unlock(&j->lock);
    return n + ENTRY_JSON_MAX;
}

void mock_journal_clear(struct mock_journal *j)
{
    pthread_mutex_lock(&j->lock);
    drop_all(j);
    pthread_mutex_unlock(&j->lock);
}

static void copy_cstr(char *dst, size_t cap, const char *src)
{
    size_t n = src != NULL ? strlen(src) : 0;

    if (n >= cap) {
        n = cap - 1;
    }
    if (n > 0) {
        memcpy(dst, src, n);
    }
    dst[n] = '\0';
}

static bool name_is(const char *name, const char *want)
{
    return wxp_str_eq_nocase(wxp_str_c(name), wxp_str_c(want));
}

/* The admin token is a secret: its headers are journaled without it, and so is any Authorization
 * sent to /__admin/. Merchant Authorization headers carry only a signature and are kept as sent. */
static const char *redacted(const struct mock_header *h, bool admin)
{
    if (name_is(h->name, "X-Admin-Token")) {
        return "<redacted>";
    }
    if (name_is(h->name, "Authorization") && strlen(h->value) >= 7 &&
        wxp_str_eq_nocase((struct wxp_str){h->value, 7}, WXP_STR_LIT("Bearer "))) {
        return "Bearer <redacted>";
    }
    if (admin && name_is(h->name, "Authorization")) {
        return "<redacted>";
    }
    return NULL;
}

static size_t headers_kept(const struct mock_request *req)
{
    return req->nheaders < MOCK_HEADERS_MAX ? req->nheaders : MOCK_HEADERS_MAX;
}

/* The header value journaled: redacted, or the value cut at MOCK_HEADER_VALUE_MAX. */
static struct wxp_str header_value(const struct mock_header *h, bool admin)
{
    const char *r = h->name != NULL ? redacted(h, admin) : NULL;
    const char *v = r != NULL ? r : h->value != NULL ? h->value : "";
    size_t len = strlen(v);

    return (struct wxp_str){v, len < MOCK_HEADER_VALUE_MAX ? len : MOCK_HEADER_VALUE_MAX};
}

static bool is_admin(const struct mock_request *req)
{
    return req->target != NULL && strncmp(req->target, "/__admin", 8) == 0;
}

static size_t body_kept(const struct mock_request *req)
{
    return req->body.len < JOURNAL_BODY_MAX ? req->body.len : JOURNAL_BODY_MAX;
}

/* Bytes of the block an entry for `req` needs. */
static size_t block_size(const struct mock_request *req)
{
    size_t n = headers_kept(req) * sizeof(struct jheader);
    bool admin = is_admin(req);

    n += (req->target != NULL ? strlen(req->target) : 0) + 1;
    for (size_t i = 0; i < headers_kept(req); i++) {
        const struct mock_header *h = &req->headers[i];
        n += (h->name != NULL ? strlen(h->name) : 0) + 1 + header_value(h, admin).len + 1;
    }
    return n + body_kept(req) + 1;
}

/* Copies `s` to *p as a C string and advances *p. */
static char *put(unsigned char **p, const char *s, size_t len)
{
    char *at = (char *)*p;
    if (len > 0) {
        memcpy(at, s, len);
    }
    at[len] = '\0';
    *p += len + 1;
    return at;
}

/* Fills `e` from the request and response; its block has room for block_size(req) bytes. */
static void entry_fill(struct jentry *e, const struct mock_request *req,
                       const struct mock_response *resp)
{
    unsigned char *block = e->block;
    size_t block_cap = e->block_cap;
    unsigned char *p = block;
    const char *target = req->target != NULL ? req->target : "";
    bool admin = is_admin(req);

    memset(e, 0, sizeof *e);
    e->block = block;
    e->block_cap = block_cap;
    e->seq = req->seq;
    e->received_ms = req->received_ms;
    e->outbound = req->outbound;
    copy_cstr(e->method, sizeof e->method, req->method);
    copy_cstr(e->remote, sizeof e->remote, req->remote);
    e->nheaders = headers_kept(req);
    e->headers = (struct jheader *)(void *)p; /* malloc alignment: the array comes first */
    p += e->nheaders * sizeof *e->headers;
    e->target = put(&p, target, strlen(target));
    for (size_t i = 0; i < e->nheaders; i++) {
        const struct mock_header *h = &req->headers[i];
        struct wxp_str v = header_value(h, admin);
        e->headers[i].name = put(&p, h->name ? h->name : "", h->name ? strlen(h->name) : 0);
        e->headers[i].value = put(&p, v.ptr, v.len);
        e->headers[i].value_len = v.len;
    }
    /* The whole length read, also for a 413 whose body was not kept past MOCK_BODY_MAX. */
    e->body_len = req->body_received > req->body.len ? req->body_received : req->body.len;
    e->body_kept = body_kept(req);
    e->body = put(&p, req->body.ptr != NULL ? req->body.ptr : "", e->body_kept);
    e->operation = resp != NULL ? resp->operation : NULL;
    if (resp != NULL) {
        e->status = resp->status;
        copy_cstr(e->code, sizeof e->code, resp->code);
        copy_cstr(e->failed_check, sizeof e->failed_check, resp->failed_check);
        e->sign = resp->sign; /* what was sent: daemon.c sets it from the signing step */
    }
    e->latency_ms = mock_wall_ms() - req->received_ms;
    if (e->latency_ms < 0) {
        e->latency_ms = 0;
    }
}

/* Gives `e` a block of at least `need` bytes, keeping the old one when it fits and is not
 * oversized. False when memory runs out (the entry is then left without a block). */
static bool entry_room(struct jentry *e, size_t need)
{
    if (e->block != NULL && e->block_cap >= need &&
        (e->block_cap <= BLOCK_KEEP_MAX || need > BLOCK_KEEP_MAX / 2)) {
        return true;
    }
    wxp_free(e->block);
    e->block = wxp_malloc(need);
    e->block_cap = e->block != NULL ? need : 0;
    return e->block != NULL;
}

static enum wxp_code dump_entry(struct wxp_buf *out, const struct jentry *e);

/* Measures e's JSON form (the dump writes the same bytes again) and sets e->cost. It is written
 * into the request's scratch buffer (mock_scratch: kept by the connection, so no allocation per
 * request), or, when it does not fit there, into a buffer of ENTRY_JSON_MAX. False when memory
 * runs out, or when the form exceeds ENTRY_JSON_MAX (only a request made in process, without
 * libmicrohttpd's limits, can). */
static bool entry_render(struct jentry *e, const struct mock_request *req)
{
    struct wxp_buf local, big;
    struct wxp_buf *b = mock_scratch(req, &local);
    enum wxp_code rc = dump_entry(b, e);

    e->json_len = b->len;
    mock_scratch_done(b, &local);
    if (rc == WXP_E_TOO_LARGE) {
        wxp_buf_init(&big, ENTRY_JSON_MAX);
        rc = dump_entry(&big, e);
        e->json_len = big.len;
        wxp_buf_free(&big);
    }
    e->cost = sizeof *e + e->block_cap + e->json_len;
    return rc == WXP_OK;
}

void mock_journal_add(struct mock_journal *j, const struct mock_request *req,
                      const struct mock_response *resp)
{
    size_t need = block_size(req);
    struct jentry *e = NULL;
    struct jentry *dropped = NULL;

    /* Take the oldest entry when the ring is full (it is reused), else make one; the copy is
     * made outside the lock. An entry that cannot be allocated is not journaled. */
    pthread_mutex_lock(&j->lock);
    if (j->n == j->cap) {
        e = j->ring[j->first];
        j->ring[j->first] = NULL;
        j->first = (j->first + 1) % j->cap;
        j->n--;
        j->bytes -= e->cost;
    }
    pthread_mutex_unlock(&j->lock);
    if (e == NULL) {
        e = wxp_malloc(sizeof *e);
        if (e == NULL) {
            return;
        }
        memset(e, 0, sizeof *e);
    }
    if (!entry_room(e, need)) {
        entry_free(e);
        return;
    }
    entry_fill(e, req, resp);
    if (!entry_render(e, req)) {
        entry_free(e);
        return;
    }
    pthread_mutex_lock(&j->lock);
    if (j->n == j->cap) { /* others filled the ring meanwhile: this one replaces the oldest */
        struct jentry *old = j->ring[j->first];
        j->ring[j->first] = e;
        j->first = (j->first + 1) % j->cap;
        j->bytes -= old->cost;
        old->next = dropped;
        dropped = old;
    } else {
        j->ring[(j->first + j->n) % j->cap] = e;
        j->n++;
    }
    j->bytes += e->cost;
    /* rule: the journal holds at most `budget` bytes; the oldest entries go first, and the newest
     * one always stays. src: docs/mock-admin.md#get-__adminrequests */
    while (j->bytes > j->budget && j->n > 1) {
        struct jentry *old = j->ring[j->first];
        j->ring[j->first] = NULL;
        j->first = (j->first + 1) % j->cap;
        j->n--;
        j->bytes -= old->cost;
        old->next = dropped;
        dropped = old;
    }
    pthread_mutex_unlock(&j->lock);
    while (dropped != NULL) {
        struct jentry *next = dropped->next;
        entry_free(dropped);
        dropped = next;
    }
}

/* ---- dump ------------------------------------------------------------------------------ */

/* Bytes of the sequence a lead byte starts, 1 for bytes that cannot lead. */
static size_t seq_len(unsigned char c)
{
    if (c >= 0xF0) {
        return 4;
    }
    if (c >= 0xE0) {
        return 3;
    }
    if (c >= 0xC0) {
        return 2;
    }
    return 1;
}

/* Appends p[0..len) as a JSON string; bytes that are not valid UTF-8 become U+FFFD. Targets and
 * header values come from the network and may hold anything. */
static enum wxp_code add_text(struct wxp_buf *out, const char *p, size_t len)
{
    enum wxp_code rc;
    size_t i = 0;

    if (wxp_utf8_check(p, len, NULL) == WXP_OK) {
        return wxp_json_quote(out, p, len, NULL);
    }
    rc = wxp_buf_add(out, "\"", 1);
    while (i < len && rc == WXP_OK) {
        unsigned char c = (unsigned char)p[i];
        size_t n = seq_len(c);
        if (n > len - i || wxp_utf8_check(p + i, n, NULL) != WXP_OK) {
            rc = wxp_buf_addstr(out, "\\ufffd");
            i++;
        } else if (c < 0x20 || c == '"' || c == '\\') {
            rc = c == '"' || c == '\\' ? wxp_buf_addf(out, "\\%c", (char)c)
                                       : wxp_buf_addf(out, "\\u%04x", (unsigned)c);
            i++;
        } else {
            rc = wxp_buf_add(out, p + i, n);
            i += n;
        }
    }
    if (rc == WXP_OK) {
        rc = wxp_buf_add(out, "\"", 1);
    }
    return rc;
}

static enum wxp_code add_cstr_or_null(struct wxp_buf *out, const char *s)
{
    if (s[0] == '\0') {
        return wxp_buf_addstr(out, "null");
    }
    return add_text(out, s, strlen(s));
}

/* Appends the decimal digits of v. The journal writes a few numbers per entry, and measures
 * every entry's JSON when it adds it: this is a tenth of what printf costs. */
static enum wxp_code add_uint(struct wxp_buf *out, uint64_t v)
{
    char d[20];
    size_t n = sizeof d;

    do {
        d[--n] = (char)('0' + v % 10);
        v /= 10;
    } while (v > 0);
    return wxp_buf_add(out, d + n, sizeof d - n);
}

/* Writes v as exactly `width` digits (v < 10^width) at p. */
static void put_digits(char *p, unsigned v, size_t width)
{
    while (width > 0) {
        p[--width] = (char)('0' + v % 10);
        v /= 10;
    }
}

/* RFC 3339 UTC with milliseconds: 2025-01-02T03:04:05.678Z */
static enum wxp_code add_time(struct wxp_buf *out, int64_t ms)
{
    int64_t sec = ms / 1000;
    int64_t rem = ms % 1000;
    time_t t;
    struct tm tm;

    if (rem < 0) {
        rem += 1000;
        sec -= 1;
    }
    t = (time_t)sec;
    if (gmtime_r(&t, &tm) == NULL) {
        return wxp_buf_addstr(out, "null");
    }
    if (tm.tm_year + 1900 >= 0 && tm.tm_year + 1900 <= 9999) {
        char text[] = "\"YYYY-MM-DDThh:mm:ss.mmmZ\"";
        put_digits(text + 1, (unsigned)(tm.tm_year + 1900), 4);
        put_digits(text + 6, (unsigned)(tm.tm_mon + 1), 2);
        put_digits(text + 9, (unsigned)tm.tm_mday, 2);
        put_digits(text + 12, (unsigned)tm.tm_hour, 2);
        put_digits(text + 15, (unsigned)tm.tm_min, 2);
        put_digits(text + 18, (unsigned)tm.tm_sec, 2);
        put_digits(text + 21, (unsigned)rem, 3);
        return wxp_buf_add(out, text, sizeof text - 1);
    }
    return wxp_buf_addf(out, "\"%04d-%02d-%02dT%02d:%02d:%02d.%03dZ\"", tm.tm_year + 1900,
                        tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)rem);
}

static enum wxp_code add_headers(struct wxp_buf *out, const struct jentry *e)
{
    enum wxp_code rc = wxp_buf_addstr(out, "{");
    bool first = true;

    for (size_t i = 0; i < e->nheaders && rc == WXP_OK; i++) {
        bool dup = false;
        /* A repeated name keeps its first value (the one mock_request_header returns). */
        for (size_t k = 0; k < i && !dup; k++) {
            dup = name_is(e->headers[k].name, e->headers[i].name);
        }
        if (dup) {
            continue;
        }
        if (!first) {
            rc = wxp_buf_addstr(out, ",");
        }
        first = false;
        if (rc == WXP_OK) {
            rc = add_text(out, e->headers[i].name, strlen(e->headers[i].name));
        }
        if (rc == WXP_OK) {
            rc = wxp_buf_addstr(out, ":");
        }
        if (rc == WXP_OK) {
            rc = add_text(out, e->headers[i].value, e->headers[i].value_len);
        }
    }
    if (rc == WXP_OK) {
        rc = wxp_buf_addstr(out, "}");
    }
    return rc;
}

static enum wxp_code add_body(struct wxp_buf *out, const struct jentry *e)
{
    size_t cap = WXP_BASE64_ENCODED_LEN(e->body_kept) + 1;
    size_t n = 0;
    char *b64;
    enum wxp_code rc;

    if (wxp_utf8_check(e->body, e->body_kept, NULL) == WXP_OK) {
        rc = wxp_buf_addstr(out, "\"body\":");
        return rc == WXP_OK ? wxp_json_quote(out, e->body, e->body_kept, NULL) : rc;
    }
    b64 = wxp_malloc(cap);
    if (b64 == NULL) {
        return WXP_E_NOMEM;
    }
    rc = wxp_base64_encode(e->body, e->body_kept, b64, cap, &n);
    if (rc == WXP_OK) {
        rc = wxp_buf_addstr(out, "\"body_base64\":\"");
    }
    if (rc == WXP_OK) {
        rc = wxp_buf_add(out, b64, n);
    }
    if (rc == WXP_OK) {
        rc = wxp_buf_addstr(out, "\"");
    }
    wxp_free(b64);
    return rc;
}

static enum wxp_code dump_entry(struct wxp_buf *out, const struct jentry *e)
{
    const char *q = strchr(e->target, '?');
    size_t plen = q != NULL ? (size_t)(q - e->target) : strlen(e->target);
    enum wxp_code rc = wxp_buf_addstr(out, "{\"seq\":");

    if (rc == WXP_OK) {
        rc = add_uint(out, e->seq);
    }
    if (rc == WXP_OK) {
        rc = wxp_buf_addstr(out, e->outbound ? ",\"direction\":\"out\",\"time\":"
                                             : ",\"direction\":\"in\",\"time\":");
    }
    if (rc == WXP_OK) {
        rc = add_time(out, e->received_ms);
    }
    if (rc == WXP_OK) {
        rc = wxp_buf_addstr(out, ",\"method\":");
    }
    if (rc == WXP_OK) {
        rc = add_text(out, e->method, strlen(e->method));
    }
    if (rc == WXP_OK) {
        rc = wxp_buf_addstr(out, ",\"path\":");
    }
    if (rc == WXP_OK) {
        rc = add_text(out, e->target, plen);
    }
    if (rc == WXP_OK) {
        rc = wxp_buf_addstr(out, ",\"query\":");
    }
    if (rc == WXP_OK) {
        rc = q != NULL ? add_text(out, q + 1, strlen(q + 1)) : wxp_buf_addstr(out, "null");
    }
    if (rc == WXP_OK) {
        rc = wxp_buf_addstr(out, ",\"headers\":");
    }
    if (rc == WXP_OK) {
        rc = add_headers(out, e);
    }
    if (rc == WXP_OK) {
        rc = wxp_buf_addstr(out, ",");
    }
    if (rc == WXP_OK) {
        rc = add_body(out, e);
    }
    if (rc == WXP_OK) {
        rc = wxp_buf_addstr(out, ",\"body_len\":");
    }
    if (rc == WXP_OK) {
        rc = add_uint(out, e->body_len);
    }
    if (rc == WXP_OK) {
        rc = wxp_buf_addstr(out, ",\"remote\":");
    }
    if (rc == WXP_OK) {
        rc = add_text(out, e->remote, strlen(e->remote));
    }
    if (rc == WXP_OK) {
        rc = wxp_buf_addstr(out, ",\"status\":");
    }
    if (rc == WXP_OK) {
        rc = add_uint(out, e->status);
    }
    if (rc == WXP_OK) {
        rc = wxp_buf_addstr(out, ",\"code\":");
    }
    if (rc == WXP_OK) {
        rc = add_cstr_or_null(out, e->code);
    }
    if (rc == WXP_OK) {
        rc = wxp_buf_addstr(out, ",\"failed_check\":");
    }
    if (rc == WXP_OK) {
        rc = add_cstr_or_null(out, e->failed_check);
    }
    if (rc == WXP_OK) {
        rc = wxp_buf_addstr(out, ",\"operation\":");
    }
    if (rc == WXP_OK) {
        rc = add_cstr_or_null(out, e->operation != NULL ? e->operation : "");
    }
    if (rc == WXP_OK) {
        rc = wxp_buf_addstr(out, ",\"latency_ms\":");
    }
    if (rc == WXP_OK) {
        rc = add_uint(out, (uint64_t)e->latency_ms); /* never negative: entry_fill */
    }
    if (rc == WXP_OK) {
        rc = wxp_buf_addstr(out, e->sign ? ",\"signed\":true}" : ",\"signed\":false}");
    }
    return rc;
}

static bool matches(const struct jentry *e, const struct mock_journal_filter *f)
{
    if (f == NULL) {
        return true;
    }
    if (f->method != NULL && strcmp(e->method, f->method) != 0) {
        return false;
    }
    if (f->path != NULL) {
        const char *q = strchr(e->target, '?');
        size_t plen = q != NULL ? (size_t)(q - e->target) : strlen(e->target);
        size_t n = strlen(f->path);
        if (n > plen || memcmp(e->target, f->path, n) != 0) {
            return false;
        }
    }
    if (f->status != 0 && e->status != f->status) {
        return false;
    }
    if (f->failed_check != NULL && strcmp(e->failed_check, f->failed_check) != 0) {
        return false;
    }
    return true;
}

enum wxp_code mock_journal_dump(struct mock_journal *j, const struct mock_journal_filter *f,
                                struct wxp_buf *out)
{
    size_t start = out->len;
    size_t total = 0;
    size_t skip = 0;
    bool first = true;
    enum wxp_code rc;

    pthread_mutex_lock(&j->lock);
    for (size_t i = 0; i < j->n; i++) {
        total += matches(j->ring[(j->first + i) % j->cap], f);
    }
    /* Only the newest `limit` matching entries, still oldest first. */
    if (f != NULL && f->limit != 0 && total > f->limit) {
        skip = total - f->limit;
    }
    rc = wxp_buf_addstr(out, "[");
    for (size_t i = 0; i < j->n && rc == WXP_OK; i++) {
        const struct jentry *e = j->ring[(j->first + i) % j->cap];
        if (!matches(e, f)) {
            continue;
        }
        if (skip > 0) {
            skip--;
            continue;
        }
        if (!first) {
            rc = wxp_buf_addstr(out, ",");
        }
        first = false;
        if (rc == WXP_OK) {
            rc = dump_entry(out, e);
        }
    }
    if (rc == WXP_OK) {
        rc = wxp_buf_addstr(out, "]");
    }
    pthread_mutex_unlock(&j->lock);
    if (rc != WXP_OK && out->ptr != NULL) {
        out->len = start;
        out->ptr[start] = '\0';
    }
    return rc;
}
