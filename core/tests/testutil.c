/* SPDX-License-Identifier: MIT */
/* testutil.c: fixture access for the unit tests. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>

#include <stdbool.h>

#include "wxp/err.h"
#include "wxp/mem.h"

const char *t_fixture(const char *rel)
{
    static char path[1024];
    int n = snprintf(path, sizeof path, "%s/%s", WXP_FIXTURES_DIR, rel);
    assert_true(n > 0 && (size_t)n < sizeof path);
    return path;
}

char *t_read(const char *rel, size_t *len)
{
    struct wxp_err err;
    char *buf = NULL;
    size_t n = 0;
    if (wxp_file_read(t_fixture(rel), 4 * 1024 * 1024, &buf, &n, &err) != WXP_OK) {
        fail_msg("cannot read fixture %s: %s", rel, err.msg);
    }
    if (len) {
        *len = n;
    }
    return buf;
}

struct wxp_key *t_private(const char *rel)
{
    struct wxp_err err;
    struct wxp_key *k = NULL;
    if (wxp_key_private_file(t_fixture(rel), &k, &err) != WXP_OK) {
        fail_msg("cannot load private key %s: %s", rel, err.msg);
    }
    return k;
}

struct wxp_key *t_cert(const char *rel)
{
    struct wxp_err err;
    struct wxp_key *k = NULL;
    if (wxp_key_cert_file(t_fixture(rel), &k, &err) != WXP_OK) {
        fail_msg("cannot load certificate %s: %s", rel, err.msg);
    }
    return k;
}

struct wxp_key *t_pubkey(const char *rel, const char *id)
{
    struct wxp_err err;
    struct wxp_key *k = NULL;
    if (wxp_key_pubkey_file(t_fixture(rel), id, &k, &err) != WXP_OK) {
        fail_msg("cannot load public key %s: %s", rel, err.msg);
    }
    return k;
}

long t_fail_countdown = -1;
long t_fail_allocations;

static bool fail_now(void)
{
    t_fail_allocations++;
    if (t_fail_countdown == 0) {
        return true;
    }
    if (t_fail_countdown > 0) {
        t_fail_countdown--;
    }
    return false;
}

static void *fail_malloc(size_t n)
{
    return fail_now() ? NULL : malloc(n);
}

static void *fail_realloc(void *p, size_t n)
{
    return fail_now() ? NULL : realloc(p, n);
}

const struct wxp_allocator T_FAILING = {fail_malloc, fail_realloc, free};
