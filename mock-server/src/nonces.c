/* SPDX-License-Identifier: MIT */
/* nonces.c: the replay check's memory of (mchid, nonce) pairs: a chained hash set whose entries
 * also form a FIFO list, so that the set never grows beyond its bound and each call costs O(1)
 * on average. A load test adds one pair per request, so an entry is kept small: 40 bytes, the
 * pair itself replaced by the first 16 bytes of its SHA-256 (two different pairs share them with
 * probability 2^-128, so a fresh nonce is never taken for a replay), and 32-bit links. */
#include <stdint.h>
#include <string.h>

#include <openssl/sha.h>

#include "mock.h"
#include "wxp/mem.h"

/* Longest mchid + nonce remembered. Longer pairs are neither remembered nor reported as seen: a
 * real nonce_str is 32 characters and an mchid 10 digits. */
#define KEY_MAX 256
#define BUCKETS_MIN 64
#define NIL UINT32_MAX
#define DIGEST_LEN 16

typedef uint32_t idx_t; /* an entry's index; max stays below NIL */

struct entry {
    unsigned char digest[DIGEST_LEN]; /* SHA-256(len(mchid) || mchid || nonce), cut to 16 */
    int64_t ts;                       /* the request timestamp it was last accepted with */
    idx_t chain;                      /* next entry in the same bucket */
    idx_t prev;                       /* FIFO list, oldest first; `next` also links free entries */
    idx_t next;
};

struct mock_nonces {
    pthread_mutex_t lock;
    size_t max;
    struct entry *e; /* grows up to max entries */
    size_t ecap;
    size_t eused; /* entries ever handed out; those below that are live or free-listed */
    idx_t free_head;
    idx_t *bucket; /* heads of chains; nbucket is a power of two >= count */
    size_t nbucket;
    idx_t head; /* oldest live entry */
    idx_t tail; /* newest live entry */
    size_t count;
    int64_t min_ts;     /* no live entry has a smaller ts (a bound, exact after a sweep) */
    size_t since_sweep; /* inserts since the last full sweep */
};

/* The digest of a pair: the mchid's length first keeps ("ab","c") apart from ("a","bc"). */
static void key_digest(struct wxp_str mchid, struct wxp_str nonce, unsigned char out[DIGEST_LEN])
{
    unsigned char buf[2 + KEY_MAX]; /* the caller checked mchid.len + nonce.len <= KEY_MAX */
    unsigned char md[SHA256_DIGEST_LENGTH];

    buf[0] = (unsigned char)(mchid.len >> 8);
    buf[1] = (unsigned char)mchid.len;
    if (mchid.len > 0) {
        memcpy(buf + 2, mchid.ptr, mchid.len);
    }
    if (nonce.len > 0) {
        memcpy(buf + 2 + mchid.len, nonce.ptr, nonce.len);
    }
    SHA256(buf, 2 + mchid.len + nonce.len, md);
    memcpy(out, md, DIGEST_LEN);
}

/* The bucket of a digest: its first bytes are already uniform. */
static size_t digest_bucket(const unsigned char *d, size_t nbucket)
{
    uint64_t h;
    memcpy(&h, d, sizeof h);
    return (size_t)h & (nbucket - 1);
}

static void reset_empty(struct mock_nonces *n)
{
    n->e = NULL;
    n->ecap = 0;
    n->eused = 0;
    n->free_head = NIL;
    n->bucket = NULL;
    n->nbucket = 0;
    n->head = NIL;
    n->tail = NIL;
    n->count = 0;
    n->min_ts = INT64_MAX;
    n->since_sweep = SIZE_MAX;
}

struct mock_nonces *mock_nonces_new(size_t max)
{
    struct mock_nonces *n = wxp_malloc(sizeof *n);

    if (n == NULL) {
        return NULL;
    }
    if (pthread_mutex_init(&n->lock, NULL) != 0) {
        wxp_free(n);
        return NULL;
    }
    n->max = max == 0 ? 1 : max < NIL ? max : NIL - 1;
    reset_empty(n);
    return n;
}

static void release_all(struct mock_nonces *n)
{
    wxp_free(n->e);
    wxp_free(n->bucket);
    reset_empty(n);
}

void mock_nonces_free(struct mock_nonces *n)
{
    if (n == NULL) {
        return;
    }
    release_all(n);
    pthread_mutex_destroy(&n->lock);
    wxp_free(n);
}

void mock_nonces_clear(struct mock_nonces *n)
{
    pthread_mutex_lock(&n->lock);
    release_all(n);
    pthread_mutex_unlock(&n->lock);
}

static idx_t find(const struct mock_nonces *n, const unsigned char *d)
{
    if (n->nbucket == 0) {
        return NIL;
    }
    for (idx_t i = n->bucket[digest_bucket(d, n->nbucket)]; i != NIL; i = n->e[i].chain) {
        if (memcmp(n->e[i].digest, d, DIGEST_LEN) == 0) {
            return i;
        }
    }
    return NIL;
}

static void list_unlink(struct mock_nonces *n, idx_t i)
{
    struct entry *e = &n->e[i];

    if (e->prev != NIL) {
        n->e[e->prev].next = e->next;
    } else {
        n->head = e->next;
    }
    if (e->next != NIL) {
        n->e[e->next].prev = e->prev;
    } else {
        n->tail = e->prev;
    }
}

static void list_append(struct mock_nonces *n, idx_t i)
{
    struct entry *e = &n->e[i];

    e->prev = n->tail;
    e->next = NIL;
    if (n->tail != NIL) {
        n->e[n->tail].next = i;
    } else {
        n->head = i;
    }
    n->tail = i;
}

static void remove_entry(struct mock_nonces *n, idx_t i)
{
    struct entry *e = &n->e[i];
    idx_t *link = &n->bucket[digest_bucket(e->digest, n->nbucket)];

    while (*link != i) {
        link = &n->e[*link].chain;
    }
    *link = e->chain;
    list_unlink(n, i);
    e->next = n->free_head;
    n->free_head = i;
    n->count--;
}

static bool expired(const struct entry *e, int64_t cutoff)
{
    return e->ts < cutoff;
}

/* Removes every expired entry and makes min_ts exact. O(count). */
static void sweep(struct mock_nonces *n, int64_t cutoff)
{
    int64_t min = INT64_MAX;
    idx_t i = n->head;

    while (i != NIL) {
        idx_t next = n->e[i].next;
        if (expired(&n->e[i], cutoff)) {
            remove_entry(n, i);
        } else if (n->e[i].ts < min) {
            min = n->e[i].ts;
        }
        i = next;
    }
    n->min_ts = min;
    n->since_sweep = 0;
}

/* Frees one place when the set is full: expired entries go first, then the oldest. A full sweep
 * is only run when some entry may have expired and at least max/4 inserts happened since the
 * last one, which keeps the cost per insert O(1) amortized; between sweeps an expired entry in
 * the middle of the list may outlive a live one at the head. */
static void make_room(struct mock_nonces *n, int64_t cutoff)
{
    while (n->count >= n->max && expired(&n->e[n->head], cutoff)) {
        remove_entry(n, n->head);
    }
    if (n->count >= n->max && n->min_ts < cutoff && n->since_sweep >= n->max / 4) {
        sweep(n, cutoff);
    }
    while (n->count >= n->max) {
        remove_entry(n, n->head);
    }
}

/* Room in the bucket array for one more entry (load factor <= 1). */
static bool grow_buckets(struct mock_nonces *n)
{
    size_t nb;
    idx_t *b;

    if (n->count + 1 <= n->nbucket) {
        return true;
    }
    nb = n->nbucket ? n->nbucket * 2 : BUCKETS_MIN;
    b = wxp_malloc(nb * sizeof *b);
    if (b == NULL) {
        return false;
    }
    for (size_t k = 0; k < nb; k++) {
        b[k] = NIL;
    }
    for (idx_t i = n->head; i != NIL; i = n->e[i].next) {
        idx_t *slot = &b[digest_bucket(n->e[i].digest, nb)];
        n->e[i].chain = *slot;
        *slot = i;
    }
    wxp_free(n->bucket);
    n->bucket = b;
    n->nbucket = nb;
    return true;
}

/* An unused entry index, or NIL when memory runs out. */
static idx_t take_entry(struct mock_nonces *n)
{
    idx_t i;

    if (n->free_head != NIL) {
        i = n->free_head;
        n->free_head = n->e[i].next;
        return i;
    }
    if (n->eused == n->ecap) {
        size_t cap = n->ecap ? n->ecap * 2 : 64;
        struct entry *e;
        if (cap > n->max) {
            cap = n->max;
        }
        e = wxp_realloc(n->e, cap * sizeof *e);
        if (e == NULL) {
            return NIL;
        }
        n->e = e;
        n->ecap = cap;
    }
    i = (idx_t)n->eused++;
    return i;
}

static void insert(struct mock_nonces *n, const unsigned char *d, int64_t ts, int64_t cutoff)
{
    idx_t i;
    struct entry *e;
    idx_t *slot;

    make_room(n, cutoff);
    i = take_entry(n);
    if (i == NIL || !grow_buckets(n)) {
        /* Out of memory: the pair is not remembered (the check fails open). */
        if (i != NIL) {
            n->e[i].next = n->free_head;
            n->free_head = i;
        }
        return;
    }
    e = &n->e[i];
    memcpy(e->digest, d, DIGEST_LEN);
    e->ts = ts;
    slot = &n->bucket[digest_bucket(d, n->nbucket)];
    e->chain = *slot;
    *slot = i;
    list_append(n, i);
    n->count++;
    if (ts < n->min_ts) {
        n->min_ts = ts;
    }
    if (n->since_sweep != SIZE_MAX) {
        n->since_sweep++;
    }
}

bool mock_nonces_seen(struct mock_nonces *n, struct wxp_str mchid, struct wxp_str nonce, int64_t ts,
                      int64_t now, int64_t window)
{
    int64_t cutoff = now - (window > 0 ? window : 0);
    unsigned char d[DIGEST_LEN];
    idx_t i;
    bool seen = false;

    if (mchid.ptr == NULL) {
        mchid.len = 0;
    }
    if (nonce.ptr == NULL) {
        nonce.len = 0;
    }
    if (mchid.len > KEY_MAX || nonce.len > KEY_MAX - mchid.len) {
        return false;
    }
    key_digest(mchid, nonce, d); /* outside the lock */
    pthread_mutex_lock(&n->lock);
    i = find(n, d);
    if (i != NIL && !expired(&n->e[i], cutoff)) {
        seen = true;
    } else if (i != NIL) {
        /* Seen long ago: remembered again with the new timestamp, as the newest entry. */
        n->e[i].ts = ts;
        list_unlink(n, i);
        list_append(n, i);
        if (ts < n->min_ts) {
            n->min_ts = ts;
        }
    } else {
        insert(n, d, ts, cutoff);
    }
    pthread_mutex_unlock(&n->lock);
    return seen;
}
