/* SPDX-License-Identifier: MIT */
/* test_nonces.c: the replay cache remembers (mchid, nonce) inside the window, forgets it after,
 * never holds more than its bound, and gives no false positives under concurrent inserts. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "mock.h"
#include "testutil.h"

#define WINDOW 300
#define NOW 1700000000

static struct wxp_str S(const char *s) {
    return wxp_str_c(s);
}

static bool
seen_at(struct mock_nonces *n, const char *mchid, const char *nonce, int64_t ts, int64_t now)
{
    return mock_nonces_seen(n, S(mchid), S(nonce), ts, now, WINDOW);
}

static void test_nonces_second_use_is_seen(void **unused)
{
    (void)unused;
    struct mock_nonces *n = mock_nonces_new(100);

    assert_non_null(n);
    assert_false(seen_at(n, T_MCHID_A, "nonce-1", NOW, NOW));
    assert_true(seen_at(n, T_MCHID_A, "nonce-1", NOW, NOW));
    assert_true(seen_at(n, T_MCHID_A, "nonce-1", NOW + 10, NOW + 10));
    assert_false(seen_at(n, T_MCHID_A, "nonce-2", NOW, NOW));
    /* Byte-exact: case and length matter. */
    assert_false(seen_at(n, T_MCHID_A, "NONCE-1", NOW, NOW));
    assert_false(seen_at(n, T_MCHID_A, "nonce-", NOW, NOW));
    mock_nonces_free(n);
    mock_nonces_free(NULL);
}

static void test_nonces_different_mchid_is_another_key(void **unused)
{
    (void)unused;
    struct mock_nonces *n = mock_nonces_new(100);

    assert_false(seen_at(n, T_MCHID_A, "same", NOW, NOW));
    assert_false(seen_at(n, T_MCHID_B, "same", NOW, NOW));
    assert_true(seen_at(n, T_MCHID_B, "same", NOW, NOW));
    /* The split between mchid and nonce is part of the key. */
    assert_false(seen_at(n, "ab", "c", NOW, NOW));
    assert_false(seen_at(n, "a", "bc", NOW, NOW));
    assert_true(seen_at(n, "ab", "c", NOW, NOW));
    mock_nonces_free(n);
}

static void test_nonces_forgotten_after_window(void **unused)
{
    (void)unused;
    struct mock_nonces *n = mock_nonces_new(100);

    assert_false(seen_at(n, T_MCHID_A, "w", NOW, NOW));
    /* ts + window is still inside; one second more is not. */
    assert_true(seen_at(n, T_MCHID_A, "w", NOW + WINDOW, NOW + WINDOW));
    assert_false(seen_at(n, T_MCHID_A, "w", NOW + WINDOW + 1, NOW + WINDOW + 1));
    /* ...and it is remembered again with the new timestamp. */
    assert_true(seen_at(n, T_MCHID_A, "w", NOW + WINDOW + 1, NOW + 2 * WINDOW + 1));
    assert_false(seen_at(n, T_MCHID_A, "w", NOW, NOW + 2 * WINDOW + 2));
    mock_nonces_free(n);
}

static void test_nonces_clear_forgets(void **unused)
{
    (void)unused;
    struct mock_nonces *n = mock_nonces_new(100);

    assert_false(seen_at(n, T_MCHID_A, "c", NOW, NOW));
    mock_nonces_clear(n);
    assert_false(seen_at(n, T_MCHID_A, "c", NOW, NOW));
    assert_true(seen_at(n, T_MCHID_A, "c", NOW, NOW));
    mock_nonces_free(n);
}

static void test_nonces_key_length_cap(void **unused)
{
    (void)unused;
    struct mock_nonces *n = mock_nonces_new(100);
    char nonce[300];

    /* 10-byte mchid + 246 = 256 bytes: remembered. */
    memset(nonce, 'n', sizeof nonce);
    nonce[246] = '\0';
    assert_false(seen_at(n, T_MCHID_A, nonce, NOW, NOW));
    assert_true(seen_at(n, T_MCHID_A, nonce, NOW, NOW));
    /* 257 bytes: never remembered, never reported. */
    nonce[246] = 'n';
    nonce[247] = '\0';
    assert_false(seen_at(n, T_MCHID_A, nonce, NOW, NOW));
    assert_false(seen_at(n, T_MCHID_A, nonce, NOW, NOW));
    mock_nonces_free(n);
}

static void test_nonces_eviction_keeps_newest_when_full(void **unused)
{
    (void)unused;
    struct mock_nonces *n = mock_nonces_new(4);
    char k[16];

    for (int i = 0; i < 10; i++) {
        snprintf(k, sizeof k, "k%d", i);
        assert_false(seen_at(n, T_MCHID_A, k, NOW, NOW));
    }
    /* Nothing expired: the oldest six went first; the four newest are still there. */
    for (int i = 6; i < 10; i++) {
        snprintf(k, sizeof k, "k%d", i);
        assert_true(seen_at(n, T_MCHID_A, k, NOW, NOW));
    }
    for (int i = 0; i < 6; i++) {
        snprintf(k, sizeof k, "k%d", i);
        assert_false(seen_at(n, T_MCHID_A, k, NOW, NOW));
    }
    mock_nonces_free(n);
}

static void test_nonces_eviction_prefers_expired(void **unused)
{
    (void)unused;
    struct mock_nonces *n = mock_nonces_new(4);

    /* Oldest by arrival but with a fresh timestamp; then three that will expire first. */
    assert_false(seen_at(n, T_MCHID_A, "live", NOW + 200, NOW));
    assert_false(seen_at(n, T_MCHID_A, "old1", NOW - 200, NOW));
    assert_false(seen_at(n, T_MCHID_A, "old2", NOW - 200, NOW));
    assert_false(seen_at(n, T_MCHID_A, "old3", NOW - 200, NOW));
    /* 150 s later old1..3 are outside the window and "live" is not: inserting evicts the
     * expired ones, not the head of the queue. */
    assert_false(seen_at(n, T_MCHID_A, "new", NOW + 150, NOW + 150));
    assert_true(seen_at(n, T_MCHID_A, "live", NOW + 150, NOW + 150));
    assert_true(seen_at(n, T_MCHID_A, "new", NOW + 150, NOW + 150));
    mock_nonces_free(n);
}

static void test_nonces_size_stays_bounded(void **unused)
{
    (void)unused;
    const int max = 1000;
    struct mock_nonces *n = mock_nonces_new((size_t)max);
    char k[32];
    int remembered = 0;

    for (int i = 0; i < 50 * max; i++) {
        snprintf(k, sizeof k, "n%d", i);
        assert_false(seen_at(n, T_MCHID_A, k, NOW + i / 100, NOW + i / 100));
    }
    /* Exactly the newest `max` survive: counted by asking (each ask of a remembered one is a
     * hit; each miss re-inserts and may evict, so ask newest first and stop at a miss). */
    for (int i = 50 * max - 1; i >= 0; i--) {
        snprintf(k, sizeof k, "n%d", i);
        if (!seen_at(n, T_MCHID_A, k, NOW + 499, NOW + 499)) {
            break;
        }
        remembered++;
    }
    assert_int_equal(remembered, max);
    mock_nonces_free(n);
}

static void test_nonces_zero_max_means_one(void **unused)
{
    (void)unused;
    struct mock_nonces *n = mock_nonces_new(0);

    assert_false(seen_at(n, T_MCHID_A, "a", NOW, NOW));
    assert_true(seen_at(n, T_MCHID_A, "a", NOW, NOW));
    assert_false(seen_at(n, T_MCHID_A, "b", NOW, NOW));
    assert_false(seen_at(n, T_MCHID_A, "a", NOW, NOW));
    mock_nonces_free(n);
}

#define THREADS 4
#define PER_THREAD 5000

struct inserter {
    struct mock_nonces *n;
    int id;
    int false_positives;
    int misses;
};

static void *insert_distinct(void *arg)
{
    struct inserter *w = arg;
    char k[32];

    for (int i = 0; i < PER_THREAD; i++) {
        snprintf(k, sizeof k, "t%d-%d", w->id, i);
        if (seen_at(w->n, T_MCHID_A, k, NOW, NOW)) {
            w->false_positives++;
        }
    }
    /* Everything is still remembered: the cache holds all THREADS * PER_THREAD entries. */
    for (int i = 0; i < PER_THREAD; i++) {
        snprintf(k, sizeof k, "t%d-%d", w->id, i);
        if (!seen_at(w->n, T_MCHID_A, k, NOW, NOW)) {
            w->misses++;
        }
    }
    return NULL;
}

static void test_nonces_concurrent_inserts_no_false_positive(void **unused)
{
    (void)unused;
    struct mock_nonces *n = mock_nonces_new(THREADS * PER_THREAD);
    pthread_t t[THREADS];
    struct inserter w[THREADS];

    for (int i = 0; i < THREADS; i++) {
        w[i] = (struct inserter){n, i, 0, 0};
        assert_int_equal(pthread_create(&t[i], NULL, insert_distinct, &w[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(w[i].false_positives, 0);
        assert_int_equal(w[i].misses, 0);
    }
    mock_nonces_free(n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nonces_second_use_is_seen),
        cmocka_unit_test(test_nonces_different_mchid_is_another_key),
        cmocka_unit_test(test_nonces_forgotten_after_window),
        cmocka_unit_test(test_nonces_clear_forgets),
        cmocka_unit_test(test_nonces_key_length_cap),
        cmocka_unit_test(test_nonces_eviction_keeps_newest_when_full),
        cmocka_unit_test(test_nonces_eviction_prefers_expired),
        cmocka_unit_test(test_nonces_size_stays_bounded),
        cmocka_unit_test(test_nonces_zero_max_means_one),
        cmocka_unit_test(test_nonces_concurrent_inserts_no_false_positive),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
