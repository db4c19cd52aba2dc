/* SPDX-License-Identifier: MIT */
/* state.c: the authorization records of the Pay Score permissions operations, keyed by (mchid,
 * openid, service_id) and by (mchid, authorization_code), behind one mutex so that concurrent
 * transitions of one record succeed once. */
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "mock.h"
#include "wxp/envelope.h"
#include "wxp/json.h"
#include "wxp/mem.h"
#include "wxp/utf8.h"

/* Hard cap on records, initial plus learned (mock.h). At it an unknown triple answers
 * MOCK_TERM_FULL (a named error), never OK: evicting old learned records would let their
 * retries succeed again. */
#define STATE_RECORDS_MAX MOCK_STATE_RECORDS_MAX
/* Slots of an index, a power of two kept at least twice the entry count. */
#define INDEX_MIN 64

/* Slots hold (hash32 << 32) | (ref + 1); 0 is empty. The load factor stays at most 1/2. */
struct index {
    uint64_t *slot;
    size_t nslot;
    size_t n;
};

/* The ref of the first slot whose hash matches and for which `eq` holds, or UINT32_MAX. */
static uint32_t index_find(const struct index *ix, uint32_t h,
                           bool (*eq)(const void *ctx, uint32_t ref), const void *ctx)
{
    size_t mask;

    if (ix->nslot == 0) {
        return UINT32_MAX;
    }
    mask = ix->nslot - 1;
    for (size_t i = h & mask; ix->slot[i] != 0; i = (i + 1) & mask) {
        uint32_t ref = (uint32_t)(ix->slot[i] & 0xffffffffu) - 1;
        if ((uint32_t)(ix->slot[i] >> 32) == h && eq(ctx, ref)) {
            return ref;
        }
    }
    return UINT32_MAX;
}

static void slots_put(uint64_t *slot, size_t nslot, uint64_t v)
{
    size_t mask = nslot - 1;
    size_t i = (size_t)(v >> 32) & mask;

    while (slot[i] != 0) {
        i = (i + 1) & mask;
    }
    slot[i] = v;
}

/* Room for one more entry: doubles the slots when they would be more than half full. Rehashing
 * reads only the slots (the hash is in them), never the records. */
static enum wxp_code index_reserve(struct index *ix)
{
    if ((ix->n + 1) * 2 > ix->nslot) {
        size_t nslot = ix->nslot ? ix->nslot * 2 : INDEX_MIN;
        uint64_t *slot = wxp_malloc(nslot * sizeof *slot);
        if (slot == NULL) {
            return WXP_E_NOMEM;
        }
        memset(slot, 0, nslot * sizeof *slot);
        for (size_t i = 0; i < ix->nslot; i++) {
            if (ix->slot[i] != 0) {
                slots_put(slot, nslot, ix->slot[i]);
            }
        }
        wxp_free(ix->slot);
        ix->slot = slot;
        ix->nslot = nslot;
    }
    return WXP_OK;
}

/* After index_reserve. */
static void index_add(struct index *ix, uint32_t h, uint32_t ref)
{
    slots_put(ix->slot, ix->nslot, (uint64_t)h << 32 | ((uint64_t)ref + 1));
    ix->n++;
}

struct records {
    struct mock_record *v;
    size_t n;
    size_t cap;
    struct index ix;      /* by (mchid, openid, service_id), records with an openid; refs: v[] */
    struct index by_code; /* by (mchid, authorization_code), records with a code */
};

static const char *const STATE_NAMES[] = {
    [MOCK_AUTH_AVAILABLE] = "AVAILABLE",
    [MOCK_AUTH_UNAVAILABLE] = "UNAVAILABLE",
    [MOCK_AUTH_UNBINDUSER] = "UNBINDUSER",
};

/* FNV-1a over the three key strings, each followed by a 0 byte so ("ab","c") != ("a","bc"). */
static uint64_t key_hash(const char *mchid, const char *openid, const char *service_id)
{
    const char *parts[3] = {mchid, openid, service_id};
    uint64_t h = 14695981039346656037u;

    for (size_t k = 0; k < 3; k++) {
        for (const unsigned char *p = (const unsigned char *)parts[k];; p++) {
            h ^= *p;
            h *= 1099511628211u;
            if (*p == '\0') {
                break;
            }
        }
    }
    return h;
}

static bool key_eq(const struct mock_record *r, const char *mchid, const char *openid,
                   const char *service_id)
{
    return strcmp(r->mchid, mchid) == 0 && strcmp(r->openid, openid) == 0 &&
           strcmp(r->service_id, service_id) == 0;
}

static void records_free(struct records *rs)
{
    wxp_free(rs->v);
    wxp_free(rs->ix.slot);
    wxp_free(rs->by_code.slot);
    memset(rs, 0, sizeof *rs);
}

static uint32_t code_hash(const char *mchid, const char *code)
{
    return (uint32_t)key_hash(mchid, code, "#");
}

struct record_key {
    const struct records *rs;
    const char *mchid, *openid, *service_id;
};

static bool record_matches(const void *ctx, uint32_t ref)
{
    const struct record_key *k = ctx;
    return key_eq(&k->rs->v[ref], k->mchid, k->openid, k->service_id);
}

/* Index of the record with that key, or SIZE_MAX. Records without an openid have no key. */
static size_t records_find(const struct records *rs, const char *mchid, const char *openid,
                           const char *service_id)
{
    struct record_key k = {rs, mchid, openid, service_id};
    uint32_t at =
        index_find(&rs->ix, (uint32_t)key_hash(mchid, openid, service_id), record_matches, &k);
    return at == UINT32_MAX || openid[0] == '\0' ? SIZE_MAX : at;
}

static bool code_matches(const void *ctx, uint32_t ref)
{
    const struct record_key *k = ctx;
    const struct mock_record *r = &k->rs->v[ref];
    return strcmp(r->mchid, k->mchid) == 0 && strcmp(r->authorization_code, k->openid) == 0;
}

/* Index of the record of (mchid, authorization_code), or SIZE_MAX. */
static size_t records_find_code(const struct records *rs, const char *mchid, const char *code)
{
    struct record_key k = {rs, mchid, code, NULL};
    uint32_t at;

    if (code[0] == '\0') {
        return SIZE_MAX;
    }
    at = index_find(&rs->by_code, code_hash(mchid, code), code_matches, &k);
    return at == UINT32_MAX ? SIZE_MAX : at;
}

/* Room for one more record and its index slot. WXP_E_TOO_LARGE beyond STATE_RECORDS_MAX. */
static enum wxp_code records_reserve(struct records *rs)
{
    if (rs->n >= STATE_RECORDS_MAX) { /* mock_state checks its own (lower) cap first */
        return WXP_E_TOO_LARGE;
    }
    if (rs->n == rs->cap) {
        size_t cap = rs->cap ? rs->cap * 2 : 16;
        struct mock_record *v = wxp_realloc(rs->v, cap * sizeof *v);
        if (v == NULL) {
            return WXP_E_NOMEM;
        }
        rs->v = v;
        rs->cap = cap;
    }
    if (index_reserve(&rs->ix) != WXP_OK) {
        return WXP_E_NOMEM;
    }
    return index_reserve(&rs->by_code);
}

/* Puts v[at] into the indexes it belongs to (after records_reserve). */
static void records_index(struct records *rs, size_t at)
{
    const struct mock_record *r = &rs->v[at];

    if (r->openid[0] != '\0') {
        index_add(&rs->ix, (uint32_t)key_hash(r->mchid, r->openid, r->service_id), (uint32_t)at);
    }
    if (r->authorization_code[0] != '\0') {
        index_add(&rs->by_code, code_hash(r->mchid, r->authorization_code), (uint32_t)at);
    }
}

/* Appends a copy of `r`; the caller has checked that its keys are new. */
static enum wxp_code records_add(struct records *rs, const struct mock_record *r)
{
    enum wxp_code rc = records_reserve(rs);

    if (rc != WXP_OK) {
        return rc;
    }
    rs->v[rs->n] = *r;
    records_index(rs, rs->n);
    rs->n++;
    return WXP_OK;
}

/* Removes v[at]: the last record takes its place and both indexes are rebuilt (slots only shrink
 * in use, so this cannot fail). Rare: only a user-accept that replaces an older record does it. */
static void records_remove(struct records *rs, size_t at)
{
    rs->v[at] = rs->v[rs->n - 1];
    rs->n--;
    if (rs->ix.slot != NULL) {
        memset(rs->ix.slot, 0, rs->ix.nslot * sizeof *rs->ix.slot);
    }
    if (rs->by_code.slot != NULL) {
        memset(rs->by_code.slot, 0, rs->by_code.nslot * sizeof *rs->by_code.slot);
    }
    rs->ix.n = 0;
    rs->by_code.n = 0;
    for (size_t i = 0; i < rs->n; i++) {
        records_index(rs, i);
    }
}

/* Whether `r` has a key already taken in `rs`. */
static bool records_clash(const struct records *rs, const struct mock_record *r)
{
    return records_find(rs, r->mchid, r->openid, r->service_id) != SIZE_MAX ||
           records_find_code(rs, r->mchid, r->authorization_code) != SIZE_MAX;
}

/* Builds a set from an array; a later duplicate key replaces nothing and is skipped. */
static enum wxp_code records_from(struct records *rs, const struct mock_record *v, size_t n)
{
    memset(rs, 0, sizeof *rs);
    for (size_t i = 0; i < n; i++) {
        enum wxp_code rc;
        if (records_clash(rs, &v[i])) {
            continue;
        }
        rc = records_add(rs, &v[i]);
        if (rc != WXP_OK) {
            records_free(rs);
            return rc;
        }
    }
    return WXP_OK;
}

/* ---- learned records ---------------------------------------------------------------------- */

/* Triples learned under the "authorized" policy are terminated once and never change again, and
 * a load test makes one per request: they are kept packed, not as struct mock_record (about 700
 * bytes). A record is [i64 terminated_at][u32 tuple][u8 len][openid]; its (mchid, appid,
 * service_id, reason) tuple is stored once, as [u8 len][bytes] four times, and shared by every
 * record that repeats it. Both live in 64 KiB chunks that never move, addressed by a 32-bit ref
 * (chunk << 16 | offset), and are found through open-addressed indexes of (hash32, ref). */
#define CHUNK_BITS 16
#define CHUNK_SIZE ((size_t)1 << CHUNK_BITS)
#define REF_MAX_CHUNKS ((size_t)1 << (32 - CHUNK_BITS))

struct chunk {
    unsigned char *p;
    size_t used;
};

struct arena {
    struct chunk *chunk;
    size_t nchunk;
    size_t cap;
};

struct learned {
    struct arena rec;
    struct arena tup;
    struct index by_key;   /* records, by (mchid, openid, service_id) */
    struct index by_tuple; /* tuples, by their four strings */
    size_t n;              /* records */
};

static void arena_free(struct arena *a)
{
    for (size_t i = 0; i < a->nchunk; i++) {
        wxp_free(a->chunk[i].p);
    }
    wxp_free(a->chunk);
    memset(a, 0, sizeof *a);
}

static const unsigned char *arena_at(const struct arena *a, uint32_t ref)
{
    return a->chunk[ref >> CHUNK_BITS].p + (ref & (CHUNK_SIZE - 1));
}

/* Room for `len` contiguous bytes (len <= CHUNK_SIZE); sets *ref. NULL when memory runs out. */
static unsigned char *arena_take(struct arena *a, size_t len, uint32_t *ref)
{
    struct chunk *c = a->nchunk > 0 ? &a->chunk[a->nchunk - 1] : NULL;

    if (c == NULL || c->used + len > CHUNK_SIZE) {
        if (a->nchunk == REF_MAX_CHUNKS) {
            return NULL;
        }
        if (a->nchunk == a->cap) {
            size_t cap = a->cap ? a->cap * 2 : 16;
            struct chunk *v = wxp_realloc(a->chunk, cap * sizeof *v);
            if (v == NULL) {
                return NULL;
            }
            a->chunk = v;
            a->cap = cap;
        }
        c = &a->chunk[a->nchunk];
        c->p = wxp_malloc(CHUNK_SIZE);
        if (c->p == NULL) {
            return NULL;
        }
        c->used = 0;
        a->nchunk++;
    }
    *ref = (uint32_t)((a->nchunk - 1) << CHUNK_BITS | c->used);
    c->used += len;
    return c->p + (*ref & (CHUNK_SIZE - 1));
}

static void learned_free(struct learned *l)
{
    arena_free(&l->rec);
    arena_free(&l->tup);
    wxp_free(l->by_key.slot);
    wxp_free(l->by_tuple.slot);
    memset(l, 0, sizeof *l);
}

/* The i-th [u8 len][bytes] field from p; sets *len. */
static const unsigned char *field_at(const unsigned char *p, size_t i, size_t *len)
{
    while (i-- > 0) {
        p += 1 + p[0];
    }
    *len = p[0];
    return p + 1;
}

static bool field_is(const unsigned char *p, size_t i, const char *s)
{
    size_t len;
    const unsigned char *f = field_at(p, i, &len);
    return strlen(s) == len && memcmp(f, s, len) == 0;
}

enum { T_MCHID, T_APPID, T_SERVICE, T_REASON, T_FIELDS };
#define REC_HEAD (sizeof(int64_t) + sizeof(uint32_t)) /* then [u8 len][openid] */

struct key_ctx {
    const struct learned *l;
    const char *mchid, *openid, *service_id;
};

static bool key_matches(const void *ctx, uint32_t ref)
{
    const struct key_ctx *k = ctx;
    const unsigned char *r = arena_at(&k->l->rec, ref);
    const unsigned char *t;
    uint32_t tref;

    memcpy(&tref, r + sizeof(int64_t), sizeof tref);
    t = arena_at(&k->l->tup, tref);
    return field_is(r + REC_HEAD, 0, k->openid) && field_is(t, T_MCHID, k->mchid) &&
           field_is(t, T_SERVICE, k->service_id);
}

struct tuple_ctx {
    const struct learned *l;
    const char *v[T_FIELDS];
};

static bool tuple_matches(const void *ctx, uint32_t ref)
{
    const struct tuple_ctx *c = ctx;
    const unsigned char *t = arena_at(&c->l->tup, ref);

    for (size_t i = 0; i < T_FIELDS; i++) {
        if (!field_is(t, i, c->v[i])) {
            return false;
        }
    }
    return true;
}

/* The ref of the learned record of that triple, or UINT32_MAX. */
static uint32_t learned_find(const struct learned *l, const char *mchid, const char *openid,
                             const char *service_id)
{
    struct key_ctx k = {l, mchid, openid, service_id};
    uint32_t h = (uint32_t)key_hash(mchid, openid, service_id);
    return index_find(&l->by_key, h, key_matches, &k);
}

static bool learned_has(const struct learned *l, const char *mchid, const char *openid,
                        const char *service_id)
{
    return learned_find(l, mchid, openid, service_id) != UINT32_MAX;
}

/* Adds a terminated record; every string fits its u8 length (the caller checked). Nothing is
 * written unless both indexes have room, so a failure leaves the set as it was. */
static enum wxp_code learned_add(struct learned *l, const char *mchid, const char *openid,
                                 const char *appid, const char *service_id, const char *reason,
                                 int64_t now)
{
    struct tuple_ctx tc = {l, {mchid, appid, service_id, reason}};
    uint32_t th = 2166136261u;
    uint32_t tref;
    uint32_t rref;
    unsigned char *p;
    size_t olen = strlen(openid);

    if (index_reserve(&l->by_key) != WXP_OK || index_reserve(&l->by_tuple) != WXP_OK) {
        return WXP_E_NOMEM;
    }
    for (size_t i = 0; i < T_FIELDS; i++) {
        th = (th ^ (uint32_t)key_hash(tc.v[i], "", "")) * 16777619u;
    }
    tref = index_find(&l->by_tuple, th, tuple_matches, &tc);
    if (tref == UINT32_MAX) {
        size_t len = 0;
        for (size_t i = 0; i < T_FIELDS; i++) {
            len += 1 + strlen(tc.v[i]);
        }
        p = arena_take(&l->tup, len, &tref);
        if (p == NULL) {
            return WXP_E_NOMEM;
        }
        for (size_t i = 0; i < T_FIELDS; i++) {
            size_t n = strlen(tc.v[i]);
            *p++ = (unsigned char)n;
            memcpy(p, tc.v[i], n);
            p += n;
        }
        index_add(&l->by_tuple, th, tref);
    }
    /* A tuple stored for a record that then fails is kept: a later record may share it. */
    p = arena_take(&l->rec, REC_HEAD + 1 + olen, &rref);
    if (p == NULL) {
        return WXP_E_NOMEM;
    }
    memcpy(p, &now, sizeof now);
    memcpy(p + sizeof now, &tref, sizeof tref);
    p[REC_HEAD] = (unsigned char)olen;
    memcpy(p + REC_HEAD + 1, openid, olen);
    index_add(&l->by_key, (uint32_t)key_hash(mchid, openid, service_id), rref);
    l->n++;
    return WXP_OK;
}

/* Writes learned record `p` out as a struct mock_record, for the dump. */
static void learned_record(const struct learned *l, const unsigned char *p, struct mock_record *r)
{
    uint32_t tref;
    const unsigned char *t;
    char *dst[T_FIELDS] = {r->mchid, r->appid, r->service_id, r->reason};
    size_t len;
    const unsigned char *f;

    memset(r, 0, sizeof *r);
    memcpy(&r->terminated_at, p, sizeof r->terminated_at);
    memcpy(&tref, p + sizeof(int64_t), sizeof tref);
    r->state = MOCK_AUTH_UNAVAILABLE;
    f = field_at(p + REC_HEAD, 0, &len);
    memcpy(r->openid, f, len);
    t = arena_at(&l->tup, tref);
    for (size_t i = 0; i < T_FIELDS; i++) {
        f = field_at(t, i, &len);
        memcpy(dst[i], f, len);
    }
}

struct mock_state {
    pthread_mutex_t lock;
    struct records cur;          /* configured or loaded records: their state can change */
    struct learned learn;        /* triples first seen by a terminate (policy "authorized") */
    struct mock_record *initial; /* a copy of the config's records, for reset */
    size_t ninitial;
    enum mock_unknown_policy policy;
    size_t max; /* records, stored plus learned: STATE_RECORDS_MAX unless mock_state_set_max */
};

struct mock_state *mock_state_new(const struct mock_config *c)
{
    struct mock_state *s = wxp_malloc(sizeof *s);
    size_t n = c != NULL ? c->nrecords : 0;

    if (s == NULL) {
        return NULL;
    }
    memset(s, 0, sizeof *s);
    s->policy = c != NULL ? c->unknown_policy : MOCK_UNKNOWN_NOT_FOUND;
    s->max = STATE_RECORDS_MAX;
    if (n > 0) {
        s->initial = wxp_malloc(n * sizeof *s->initial);
        if (s->initial == NULL) {
            goto fail;
        }
        memcpy(s->initial, c->records, n * sizeof *s->initial);
        s->ninitial = n;
    }
    if (records_from(&s->cur, s->initial, s->ninitial) != WXP_OK) {
        goto fail;
    }
    if (pthread_mutex_init(&s->lock, NULL) != 0) {
        records_free(&s->cur);
        goto fail;
    }
    return s;
fail:
    wxp_free(s->initial);
    wxp_free(s);
    return NULL;
}

void mock_state_free(struct mock_state *s)
{
    if (s == NULL) {
        return;
    }
    pthread_mutex_destroy(&s->lock);
    records_free(&s->cur);
    learned_free(&s->learn);
    wxp_free(s->initial);
    wxp_free(s);
}

void mock_state_reset(struct mock_state *s)
{
    struct records fresh;
    struct records old;
    struct learned old_learned;

    /* Built outside the lock. If memory runs out the records are left as they were. */
    if (records_from(&fresh, s->initial, s->ninitial) != WXP_OK) {
        return;
    }
    pthread_mutex_lock(&s->lock);
    old = s->cur;
    s->cur = fresh;
    old_learned = s->learn;
    memset(&s->learn, 0, sizeof s->learn);
    pthread_mutex_unlock(&s->lock);
    records_free(&old);
    learned_free(&old_learned);
}

/* Copies at most cap-1 bytes of `src`, cut back to the end of its last whole valid UTF-8
 * character, so the stored reason can always be dumped as JSON. */
static void copy_text(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    struct wxp_utf8_info info;

    if (n >= cap) {
        n = cap - 1;
    }
    while (n > 0 && wxp_utf8_check(src, n, &info) != WXP_OK) {
        n = info.bad_offset < n ? info.bad_offset : n - 1;
    }
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static bool is_text(const char *s)
{
    return wxp_utf8_check(s, strlen(s), NULL) == WXP_OK;
}

/* Whether the state holds its cap of records (under the lock). */
static bool state_full(const struct mock_state *s)
{
    return s->cur.n + s->learn.n >= s->max;
}

/* Under the lock. An unknown triple is authorized once: remember it as terminated, so that a
 * second terminate answers ALREADY. Keys that cannot be stored (too long, not UTF-8) answer
 * NOT_FOUND, and a full state (the record cap, or memory) MOCK_ST_FULL: answering OK would make
 * every retry succeed again. */
static enum mock_st learn_terminated(struct mock_state *s, const char *mchid, const char *openid,
                                     const char *appid, const char *service_id, const char *reason,
                                     int64_t now, struct mock_record *out)
{
    struct mock_record fresh;

    if (appid == NULL) {
        appid = "";
    }
    if (strlen(mchid) >= sizeof fresh.mchid || strlen(openid) >= sizeof fresh.openid ||
        strlen(service_id) >= sizeof fresh.service_id || strlen(appid) >= sizeof fresh.appid ||
        !is_text(mchid) || !is_text(openid) || !is_text(service_id) || !is_text(appid)) {
        return MOCK_ST_NOT_FOUND;
    }
    if (state_full(s)) {
        return MOCK_ST_FULL;
    }
    copy_text(fresh.reason, sizeof fresh.reason, reason ? reason : "");
    if (learned_add(&s->learn, mchid, openid, appid, service_id, fresh.reason, now) != WXP_OK) {
        return MOCK_ST_FULL;
    }
    if (out != NULL) {
        learned_record(&s->learn,
                       arena_at(&s->learn.rec, learned_find(&s->learn, mchid, openid, service_id)),
                       out);
    }
    return MOCK_ST_OK;
}

static bool store(char *dst, size_t cap, const char *src);

/* Load-test policy: an unknown triple terminates every time and nothing is stored, so the state
 * does not grow with the requests (docs/mock-server.md#load-test-mode). `out`, when not NULL,
 * gets the record as the terminate would have left it. Keys that a record could not hold answer
 * NOT_FOUND, as learn_terminated does. */
static enum mock_st unknown_terminated(const char *mchid, const char *openid, const char *appid,
                                       const char *service_id, const char *reason, int64_t now,
                                       struct mock_record *out)
{
    struct mock_record r;

    memset(&r, 0, sizeof r);
    if (!store(r.mchid, sizeof r.mchid, mchid) || !store(r.openid, sizeof r.openid, openid) ||
        !store(r.service_id, sizeof r.service_id, service_id) ||
        !store(r.appid, sizeof r.appid, appid)) {
        return MOCK_ST_NOT_FOUND;
    }
    r.state = MOCK_AUTH_UNAVAILABLE;
    r.terminated_at = now;
    copy_text(r.reason, sizeof r.reason, reason ? reason : "");
    if (out != NULL) {
        *out = r;
    }
    return MOCK_ST_OK;
}

/* Under the lock: AVAILABLE -> UNAVAILABLE for the triple, a stored record first, then a learned
 * one (always UNAVAILABLE), then the policy. */
static enum mock_st terminate_triple(struct mock_state *s, const char *mchid, const char *openid,
                                     const char *appid, const char *service_id, const char *reason,
                                     int64_t now, struct mock_record *out)
{
    size_t at = records_find(&s->cur, mchid, openid, service_id);

    if (at != SIZE_MAX) {
        struct mock_record *r = &s->cur.v[at];
        if (r->state != MOCK_AUTH_AVAILABLE) {
            return MOCK_ST_STATE;
        }
        r->state = MOCK_AUTH_UNAVAILABLE;
        r->terminated_at = now;
        copy_text(r->reason, sizeof r->reason, reason ? reason : "");
        if (out != NULL) {
            *out = *r;
        }
        return MOCK_ST_OK;
    }
    if (learned_has(&s->learn, mchid, openid, service_id)) {
        return MOCK_ST_STATE; /* learned records are all terminated */
    }
    if (s->policy == MOCK_UNKNOWN_ALWAYS_AUTHORIZED) {
        return unknown_terminated(mchid, openid, appid, service_id, reason, now, out);
    }
    if (s->policy != MOCK_UNKNOWN_AUTHORIZED) {
        return MOCK_ST_NOT_FOUND;
    }
    return learn_terminated(s, mchid, openid, appid, service_id, reason, now, out);
}

enum mock_term_result mock_state_terminate(struct mock_state *s, const char *mchid,
                                           const char *openid, const char *appid,
                                           const char *service_id, const char *reason, int64_t now)
{
    enum mock_st st;

    if (mchid == NULL || openid == NULL || service_id == NULL) {
        return MOCK_TERM_NOT_FOUND;
    }
    pthread_mutex_lock(&s->lock);
    st = terminate_triple(s, mchid, openid, appid, service_id, reason, now, NULL);
    pthread_mutex_unlock(&s->lock);
    return st == MOCK_ST_OK      ? MOCK_TERM_OK
           : st == MOCK_ST_STATE ? MOCK_TERM_ALREADY
           : st == MOCK_ST_FULL  ? MOCK_TERM_FULL
                                 : MOCK_TERM_NOT_FOUND;
}

/* Copies src into dst[cap] when it fits whole and is valid UTF-8. */
static bool store(char *dst, size_t cap, const char *src)
{
    size_t n = src != NULL ? strlen(src) : 0;

    if (n >= cap || (n > 0 && !is_text(src))) {
        return false;
    }
    if (n > 0) {
        memcpy(dst, src, n);
    }
    dst[n] = '\0';
    return true;
}

enum mock_st mock_state_apply(struct mock_state *s, const struct mock_record *in, int64_t now,
                              struct mock_record *out)
{
    struct mock_record r;
    enum mock_st st = MOCK_ST_OK;

    memset(&r, 0, sizeof r);
    if (!store(r.mchid, sizeof r.mchid, in->mchid) ||
        !store(r.service_id, sizeof r.service_id, in->service_id) ||
        !store(r.appid, sizeof r.appid, in->appid) ||
        !store(r.authorization_code, sizeof r.authorization_code, in->authorization_code) ||
        !store(r.notify_url, sizeof r.notify_url, in->notify_url) ||
        !store(r.token, sizeof r.token, in->token) || r.authorization_code[0] == '\0') {
        return MOCK_ST_FULL;
    }
    r.state = MOCK_AUTH_UNBINDUSER;
    r.token_expires_at = now + MOCK_APPLY_TTL;
    pthread_mutex_lock(&s->lock);
    if (records_find_code(&s->cur, r.mchid, r.authorization_code) != SIZE_MAX) {
        st = MOCK_ST_DUPLICATE;
    } else if (state_full(s) || records_add(&s->cur, &r) != WXP_OK) {
        st = MOCK_ST_FULL;
    }
    pthread_mutex_unlock(&s->lock);
    if (st == MOCK_ST_OK && out != NULL) {
        *out = r;
    }
    return st;
}

/* Under the lock: the record of (mchid, code) for service_id, or SIZE_MAX. */
static size_t find_code(struct mock_state *s, const char *mchid, const char *code,
                        const char *service_id)
{
    size_t at = records_find_code(&s->cur, mchid, code);

    if (at == SIZE_MAX || strcmp(s->cur.v[at].service_id, service_id) != 0) {
        return SIZE_MAX;
    }
    return at;
}

enum mock_st mock_state_query_code(struct mock_state *s, const char *mchid, const char *code,
                                   const char *service_id, struct mock_record *out)
{
    enum mock_st st = MOCK_ST_NOT_FOUND;
    size_t at;

    pthread_mutex_lock(&s->lock);
    at = find_code(s, mchid, code, service_id);
    if (at != SIZE_MAX) {
        if (out != NULL) {
            *out = s->cur.v[at];
        }
        st = MOCK_ST_OK;
    }
    pthread_mutex_unlock(&s->lock);
    return st;
}

enum mock_st mock_state_query_openid(struct mock_state *s, const char *mchid, const char *openid,
                                     const char *service_id, const char *appid,
                                     struct mock_record *out)
{
    struct mock_record r;
    enum mock_st st = MOCK_ST_OK;
    size_t at;
    uint32_t ref;

    memset(&r, 0, sizeof r);
    pthread_mutex_lock(&s->lock);
    at = records_find(&s->cur, mchid, openid, service_id);
    ref = at == SIZE_MAX ? learned_find(&s->learn, mchid, openid, service_id) : UINT32_MAX;
    if (at != SIZE_MAX) {
        r = s->cur.v[at];
    } else if (ref != UINT32_MAX) {
        learned_record(&s->learn, arena_at(&s->learn.rec, ref), &r);
    } else if (s->policy != MOCK_UNKNOWN_NOT_FOUND && store(r.mchid, sizeof r.mchid, mchid) &&
               store(r.openid, sizeof r.openid, openid) &&
               store(r.service_id, sizeof r.service_id, service_id) &&
               store(r.appid, sizeof r.appid, appid)) {
        /* rule: with unknown_openid "authorized" (or "always_authorized"), a triple never seen
         * reads as AVAILABLE.
         * src: docs/mock-server.md#authorization-state */
        r.state = MOCK_AUTH_AVAILABLE;
    } else {
        st = MOCK_ST_NOT_FOUND;
    }
    pthread_mutex_unlock(&s->lock);
    if (st == MOCK_ST_OK && out != NULL) {
        *out = r;
    }
    return st;
}

enum mock_st mock_state_terminate_code(struct mock_state *s, const char *mchid, const char *code,
                                       const char *service_id, const char *reason, int64_t now,
                                       struct mock_record *out)
{
    enum mock_st st = MOCK_ST_NOT_FOUND;
    size_t at;

    pthread_mutex_lock(&s->lock);
    at = find_code(s, mchid, code, service_id);
    if (at != SIZE_MAX) {
        struct mock_record *r = &s->cur.v[at];
        st = MOCK_ST_STATE;
        if (r->state == MOCK_AUTH_AVAILABLE) {
            r->state = MOCK_AUTH_UNAVAILABLE;
            r->terminated_at = now;
            copy_text(r->reason, sizeof r->reason, reason ? reason : "");
            if (out != NULL) {
                *out = *r;
            }
            st = MOCK_ST_OK;
        }
    }
    pthread_mutex_unlock(&s->lock);
    return st;
}

/* Under the lock: makes v[at] AVAILABLE for the user, as of `now`. */
static void accept_record(struct mock_record *r, const char *appid, int64_t now)
{
    r->state = MOCK_AUTH_AVAILABLE;
    r->authorized_at = now;
    r->terminated_at = 0;
    r->reason[0] = '\0';
    if (appid != NULL && appid[0] != '\0') {
        store(r->appid, sizeof r->appid, appid);
    }
}

/* Under the lock: user-accept with a code. */
static enum mock_st accept_code(struct mock_state *s, const char *mchid, const char *service_id,
                                const char *openid, const char *appid, const char *code,
                                int64_t now, struct mock_record *out)
{
    struct records *rs = &s->cur;
    size_t at = find_code(s, mchid, code, service_id);
    size_t other = records_find(rs, mchid, openid, service_id);
    struct mock_record *r;

    if (at == SIZE_MAX) {
        return MOCK_ST_NOT_FOUND;
    }
    r = &rs->v[at];
    if (r->state != MOCK_AUTH_UNBINDUSER || r->openid[0] != '\0') {
        return MOCK_ST_STATE;
    }
    if (other != SIZE_MAX && rs->v[other].state == MOCK_AUTH_AVAILABLE) {
        return MOCK_ST_AVAILABLE;
    }
    if (r->token_expires_at != 0 && now > r->token_expires_at) {
        return MOCK_ST_EXPIRED;
    }
    if (other == SIZE_MAX && index_reserve(&rs->ix) != WXP_OK) {
        return MOCK_ST_FULL;
    }
    store(r->openid, sizeof r->openid, openid);
    accept_record(r, appid, now);
    if (out != NULL) {
        *out = *r;
    }
    if (other != SIZE_MAX) {
        /* The triple's older record gives way: one record per (mchid, service_id, openid). */
        records_remove(rs, other);
    } else {
        index_add(&rs->ix, (uint32_t)key_hash(mchid, openid, service_id), (uint32_t)at);
    }
    return MOCK_ST_OK;
}

enum mock_st mock_state_user_accept(struct mock_state *s, const char *mchid, const char *service_id,
                                    const char *openid, const char *appid, const char *code,
                                    int64_t now, struct mock_record *out)
{
    struct mock_record r;
    enum mock_st st = MOCK_ST_OK;
    size_t at;

    memset(&r, 0, sizeof r);
    if (!store(r.mchid, sizeof r.mchid, mchid) || !store(r.openid, sizeof r.openid, openid) ||
        !store(r.service_id, sizeof r.service_id, service_id) ||
        !store(r.appid, sizeof r.appid, appid) || r.openid[0] == '\0') {
        return MOCK_ST_FULL;
    }
    pthread_mutex_lock(&s->lock);
    if (code != NULL && code[0] != '\0') {
        st = accept_code(s, mchid, service_id, openid, appid, code, now, out);
        goto out;
    }
    at = records_find(&s->cur, mchid, openid, service_id);
    if (at != SIZE_MAX) {
        if (s->cur.v[at].state == MOCK_AUTH_AVAILABLE) {
            st = MOCK_ST_AVAILABLE;
            goto out;
        }
        accept_record(&s->cur.v[at], appid, now);
        if (out != NULL) {
            *out = s->cur.v[at];
        }
        goto out;
    }
    /* A new record; it hides a learned (terminated) one of the same triple. */
    accept_record(&r, appid, now);
    if (state_full(s) || records_add(&s->cur, &r) != WXP_OK) {
        st = MOCK_ST_FULL;
        goto out;
    }
    if (out != NULL) {
        *out = r;
    }
out:
    pthread_mutex_unlock(&s->lock);
    return st;
}

enum mock_st mock_state_user_close(struct mock_state *s, const char *mchid, const char *service_id,
                                   const char *openid, int64_t now, struct mock_record *out)
{
    enum mock_st st;

    pthread_mutex_lock(&s->lock);
    st = terminate_triple(s, mchid, openid, NULL, service_id, NULL, now, out);
    pthread_mutex_unlock(&s->lock);
    return st;
}

/* Appends "name":"value" (or null when `null_if_empty` and the value is ""). */
static enum wxp_code add_member(struct wxp_buf *out, const char *name, const char *value,
                                bool null_if_empty)
{
    enum wxp_code rc = wxp_buf_addf(out, "\"%s\":", name);

    if (rc != WXP_OK) {
        return rc;
    }
    if (null_if_empty && value[0] == '\0') {
        return wxp_buf_addstr(out, "null");
    }
    return wxp_json_quote(out, value, strlen(value), NULL);
}

/* String members a record dumps only when they are set. */
static const struct {
    const char *name;
    size_t offset;
} OPTIONAL[] = {
    {"authorization_code", offsetof(struct mock_record, authorization_code)},
    {"notify_url", offsetof(struct mock_record, notify_url)},
    {"apply_permissions_token", offsetof(struct mock_record, token)},
};

static enum wxp_code dump_record(struct wxp_buf *out, const struct mock_record *r)
{
    enum wxp_code rc = wxp_buf_addstr(out, "{");

    if (rc == WXP_OK) {
        rc = add_member(out, "mchid", r->mchid, false);
    }
    if (rc == WXP_OK) {
        rc = wxp_buf_addstr(out, ",");
    }
    if (rc == WXP_OK) {
        rc = add_member(out, "openid", r->openid, false);
    }
    if (rc == WXP_OK) {
        rc = wxp_buf_addstr(out, ",");
    }
    if (rc == WXP_OK) {
        rc = add_member(out, "appid", r->appid, true); /* "" is no appid: null, as loaded */
    }
    if (rc == WXP_OK) {
        rc = wxp_buf_addstr(out, ",");
    }
    if (rc == WXP_OK) {
        rc = add_member(out, "service_id", r->service_id, false);
    }
    if (rc == WXP_OK) {
        rc = wxp_buf_addf(out, ",\"state\":\"%s\",\"terminated_at\":", STATE_NAMES[r->state]);
    }
    if (rc == WXP_OK) {
        rc = r->terminated_at != 0 ? wxp_buf_addf(out, "%" PRId64, r->terminated_at)
                                   : wxp_buf_addstr(out, "null");
    }
    if (rc == WXP_OK) {
        rc = wxp_buf_addstr(out, ",");
    }
    if (rc == WXP_OK) {
        rc = add_member(out, "reason", r->reason, true);
    }
    /* The members of the permissions lifecycle only when set, so that a record of the
     * terminate-only shape dumps as it always did. */
    for (size_t i = 0; i < sizeof OPTIONAL / sizeof OPTIONAL[0] && rc == WXP_OK; i++) {
        const char *v = (const char *)r + OPTIONAL[i].offset;
        if (v[0] != '\0') {
            rc = wxp_buf_addstr(out, ",");
            if (rc == WXP_OK) {
                rc = add_member(out, OPTIONAL[i].name, v, false);
            }
        }
    }
    if (rc == WXP_OK && r->authorized_at != 0) {
        rc = wxp_buf_addf(out, ",\"authorized_at\":%" PRId64, r->authorized_at);
    }
    if (rc == WXP_OK && r->token_expires_at != 0) {
        rc = wxp_buf_addf(out, ",\"token_expires_at\":%" PRId64, r->token_expires_at);
    }
    if (rc == WXP_OK) {
        rc = wxp_buf_addstr(out, "}");
    }
    return rc;
}

enum wxp_code mock_state_record_json(struct wxp_buf *out, const struct mock_record *r)
{
    return dump_record(out, r);
}

const char *mock_state_name(enum mock_auth_state st)
{
    return (size_t)st < sizeof STATE_NAMES / sizeof STATE_NAMES[0] ? STATE_NAMES[st] : "";
}

/* rule: times are RFC 3339 in +08:00. src: docs/mock-server.md#authorization-state
 * ([D-GETCODE], [GOPAY-M]) */
void mock_time_text(int64_t t, char dst[MOCK_TIME_TEXT])
{
    time_t cst = (time_t)(t + 8 * 3600);
    struct tm tm;

    if (gmtime_r(&cst, &tm) == NULL ||
        strftime(dst, MOCK_TIME_TEXT, "%Y-%m-%dT%H:%M:%S+08:00", &tm) == 0) {
        dst[0] = '\0';
    }
}

enum wxp_code mock_state_dump_page(struct mock_state *s, size_t offset, size_t limit,
                                   struct wxp_buf *out, size_t *total)
{
    size_t start = out->len;
    size_t k = 0; /* records in dump order so far, written or skipped */
    size_t written = 0;
    enum wxp_code rc;

    pthread_mutex_lock(&s->lock);
    rc = wxp_buf_addstr(out, "[");
    for (size_t i = 0; i < s->cur.n; i++, k++) {
        if (rc != WXP_OK || k < offset || (limit != 0 && written == limit)) {
            continue;
        }
        if (written++ > 0) {
            rc = wxp_buf_addstr(out, ",");
        }
        if (rc == WXP_OK) {
            rc = dump_record(out, &s->cur.v[i]);
        }
    }
    /* Then the learned ones, in the order they were learned, but for those a stored record of
     * the same triple hides (a user-accept reopened it). Counted to the end for *total, also
     * once out is full. */
    for (size_t c = 0; c < s->learn.rec.nchunk; c++) {
        const struct chunk *ch = &s->learn.rec.chunk[c];
        for (size_t off = 0; off < ch->used;) {
            struct mock_record r;
            const unsigned char *p = ch->p + off;
            off += REC_HEAD + 1 + p[REC_HEAD];
            /* Only a stored record with an openid can hide one: without any, a record outside
             * the page is counted without being decoded. */
            if (s->cur.ix.n == 0 &&
                (k < offset || rc != WXP_OK || (limit != 0 && written == limit))) {
                k++;
                continue;
            }
            learned_record(&s->learn, p, &r);
            if (records_find(&s->cur, r.mchid, r.openid, r.service_id) != SIZE_MAX) {
                continue;
            }
            if (k++ < offset || rc != WXP_OK || (limit != 0 && written == limit)) {
                continue;
            }
            if (written++ > 0) {
                rc = wxp_buf_addstr(out, ",");
            }
            if (rc == WXP_OK) {
                rc = dump_record(out, &r);
            }
        }
    }
    if (rc == WXP_OK) {
        rc = wxp_buf_addstr(out, "]");
    }
    pthread_mutex_unlock(&s->lock);
    if (total != NULL) {
        *total = k;
    }
    if (rc != WXP_OK && out->ptr != NULL) {
        out->len = start;
        out->ptr[start] = '\0';
    }
    return rc;
}

enum wxp_code mock_state_dump(struct mock_state *s, struct wxp_buf *out)
{
    return mock_state_dump_page(s, 0, 0, out, NULL);
}

void mock_state_set_max(struct mock_state *s, size_t max)
{
    pthread_mutex_lock(&s->lock);
    s->max = max < STATE_RECORDS_MAX ? max : STATE_RECORDS_MAX;
    pthread_mutex_unlock(&s->lock);
}

/* ---- load ------------------------------------------------------------------------------ */

/* F_OPENID: required and non-empty unless the record has an authorization_code (a
 * pre-authorization waiting for its user). */
enum field_kind { F_ID, F_OPENID, F_TEXT, F_STATE, F_TIME };

/* The members of one record object: rows, not ifs. */
struct field_row {
    const char *name;
    enum field_kind kind;
    bool required;
    size_t offset; /* of the member in struct mock_record (unused for F_STATE) */
    size_t size;
};

#define ROWM(name, m, k, req)                                                                      \
    {                                                                                              \
        name, k, req, offsetof(struct mock_record, m), sizeof(((struct mock_record *)0)->m)        \
    }
#define ROW(n, k, req) ROWM(#n, n, k, req)
static const struct field_row FIELDS[] = {
    ROW(mchid, F_ID, true),
    ROW(openid, F_OPENID, true),
    ROW(appid, F_TEXT, false),
    ROW(service_id, F_ID, true),
    ROW(state, F_STATE, true),
    ROW(terminated_at, F_TIME, false),
    ROW(reason, F_TEXT, false),
    ROW(authorization_code, F_TEXT, false),
    ROW(notify_url, F_TEXT, false),
    ROW(authorized_at, F_TIME, false),
    ROWM("apply_permissions_token", token, F_TEXT, false),
    ROW(token_expires_at, F_TIME, false),
};
#undef ROW
#undef ROWM
/* FIELDS[CODE_ROW] is authorization_code. */
#define CODE_ROW 7
#define NFIELDS (sizeof FIELDS / sizeof FIELDS[0])

/* Largest terminated_at accepted: exactly representable in a double. */
#define TIME_MAX 9007199254740991.0

static enum wxp_code load_state_name(const char *v, enum mock_auth_state *out)
{
    for (size_t i = 0; i < sizeof STATE_NAMES / sizeof STATE_NAMES[0]; i++) {
        if (strcmp(v, STATE_NAMES[i]) == 0) {
            *out = (enum mock_auth_state)i;
            return WXP_OK;
        }
    }
    return WXP_E_INVALID_ARG;
}

static enum wxp_code load_member(const struct field_row *f, const cJSON *item, size_t idx,
                                 bool has_code, struct mock_record *r, struct wxp_err *err)
{
    char field[64];
    size_t n;
    bool required = f->required && !(f->kind == F_OPENID && has_code);

    snprintf(field, sizeof field, "state[%zu].%s", idx, f->name);
    if (cJSON_IsNull(item) && !required) {
        return WXP_OK;
    }
    if (f->kind == F_TIME) {
        double d = item->valuedouble;
        int64_t t;
        if (!cJSON_IsNumber(item) || d < 0 || d > TIME_MAX || d != (double)(int64_t)d) {
            return wxp_err_set(err, WXP_E_PARAM_TYPE, field,
                               "%s must be a non-negative integer number of seconds or null",
                               field);
        }
        t = (int64_t)d;
        memcpy((char *)r + f->offset, &t, sizeof t);
        return WXP_OK;
    }
    if (!cJSON_IsString(item)) {
        return wxp_err_set(err, WXP_E_PARAM_TYPE, field, "%s must be a string", field);
    }
    n = strlen(item->valuestring);
    if (f->kind == F_STATE) {
        if (load_state_name(item->valuestring, &r->state) != WXP_OK) {
            return wxp_err_set(err, WXP_E_INVALID_ARG, field,
                               "%s must be AVAILABLE, UNAVAILABLE or UNBINDUSER", field);
        }
        return WXP_OK;
    }
    if ((f->kind == F_ID || (f->kind == F_OPENID && required)) && n == 0) {
        return wxp_err_set(err, WXP_E_PARAM_TOO_SHORT, field, "%s must not be empty", field);
    }
    if (n >= f->size) {
        return wxp_err_set(err, WXP_E_PARAM_TOO_LONG, field, "%s is longer than %zu bytes", field,
                           f->size - 1);
    }
    memcpy((char *)r + f->offset, item->valuestring, n + 1);
    return WXP_OK;
}

static enum wxp_code load_record(const cJSON *obj, size_t idx, struct mock_record *r,
                                 struct wxp_err *err)
{
    const cJSON *seen[NFIELDS] = {NULL};
    char field[64];

    memset(r, 0, sizeof *r);
    snprintf(field, sizeof field, "state[%zu]", idx);
    if (!cJSON_IsObject(obj)) {
        return wxp_err_set(err, WXP_E_PARAM_TYPE, field, "%s must be an object", field);
    }
    /* Walk the members in order: unknown and repeated names are refused, not ignored. */
    for (const cJSON *m = obj->child; m != NULL; m = m->next) {
        size_t k = 0;
        while (k < NFIELDS && strcmp(FIELDS[k].name, m->string) != 0) {
            k++;
        }
        snprintf(field, sizeof field, "state[%zu].%s", idx, m->string);
        if (k == NFIELDS) {
            return wxp_err_set(err, WXP_E_INVALID_ARG, field, "%s is not a record member", field);
        }
        if (seen[k] != NULL) {
            return wxp_err_set(err, WXP_E_JSON_DUPLICATE_KEY, field, "%s appears twice", field);
        }
        seen[k] = m;
    }
    bool has_code = seen[CODE_ROW] != NULL && cJSON_IsString(seen[CODE_ROW]) &&
                    seen[CODE_ROW]->valuestring[0] != '\0';
    for (size_t k = 0; k < NFIELDS; k++) {
        enum wxp_code rc;
        if (seen[k] == NULL) {
            if (!FIELDS[k].required || (FIELDS[k].kind == F_OPENID && has_code)) {
                continue;
            }
            snprintf(field, sizeof field, "state[%zu].%s", idx, FIELDS[k].name);
            return wxp_err_set(err, WXP_E_PARAM_MISSING, field, "%s is required", field);
        }
        rc = load_member(&FIELDS[k], seen[k], idx, has_code, r, err);
        if (rc != WXP_OK) {
            return rc;
        }
    }
    return WXP_OK;
}

enum wxp_code mock_state_load_json(struct mock_state *s, const char *json, size_t len,
                                   struct wxp_err *err)
{
    struct records fresh;
    struct records old;
    struct learned old_learned;
    cJSON *root = NULL;
    const char *end = NULL;
    size_t idx = 0;
    enum wxp_code rc;

    memset(&fresh, 0, sizeof fresh);
    rc = wxp_json_check(json, len, NULL, err);
    if (rc != WXP_OK) {
        if (err != NULL) {
            snprintf(err->field, sizeof err->field, "state");
        }
        return rc;
    }
    root = cJSON_ParseWithLengthOpts(json, len, &end, 0);
    if (root == NULL) {
        /* The text passed the strict check, so this is cJSON running out of memory. */
        return wxp_err_set(err, WXP_E_NOMEM, "state", "cannot parse the state document");
    }
    if (!cJSON_IsArray(root)) {
        rc = wxp_err_set(err, WXP_E_PARAM_TYPE, "state", "state must be a JSON array of records");
        goto out;
    }
    for (const cJSON *item = root->child; item != NULL; item = item->next, idx++) {
        struct mock_record r;
        char field[64];
        if (idx >= s->max) {
            rc = wxp_err_set(err, WXP_E_TOO_LARGE, "state",
                             "more than %zu records (the state's record cap)", s->max);
            goto out;
        }
        rc = load_record(item, idx, &r, err);
        if (rc != WXP_OK) {
            goto out;
        }
        snprintf(field, sizeof field, "state[%zu]", idx);
        if (records_find(&fresh, r.mchid, r.openid, r.service_id) != SIZE_MAX) {
            rc = wxp_err_set(err, WXP_E_INVALID_ARG, field,
                             "%s repeats the (mchid, openid, service_id) of an earlier record",
                             field);
            goto out;
        }
        if (records_find_code(&fresh, r.mchid, r.authorization_code) != SIZE_MAX) {
            rc = wxp_err_set(err, WXP_E_INVALID_ARG, field,
                             "%s repeats the (mchid, authorization_code) of an earlier record",
                             field);
            goto out;
        }
        rc = records_add(&fresh, &r);
        if (rc != WXP_OK) {
            rc = rc == WXP_E_TOO_LARGE
                     ? wxp_err_set(err, rc, "state", "more than %zu records", STATE_RECORDS_MAX)
                     : wxp_err_set(err, rc, "state", "out of memory at record %zu", idx);
            goto out;
        }
    }
    pthread_mutex_lock(&s->lock);
    old = s->cur;
    s->cur = fresh;
    old_learned = s->learn;
    memset(&s->learn, 0, sizeof s->learn);
    pthread_mutex_unlock(&s->lock);
    memset(&fresh, 0, sizeof fresh);
    records_free(&old);
    learned_free(&old_learned);
    rc = WXP_OK;
out:
    records_free(&fresh);
    cJSON_Delete(root);
    return rc;
}
