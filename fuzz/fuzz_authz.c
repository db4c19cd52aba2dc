/* Target: wxp_authz_parse */
/* SPDX-License-Identifier: MIT */
/* fuzz_authz.c: the request Authorization header. Invariants: every slice of a parsed header lies
 * inside the input and is non-empty; building a header from the parsed values and parsing it again
 * gives the same values. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "wxp/authz.h"
#include "wxp/mem.h"

static bool inside(struct wxp_str s, const char *p, size_t len)
{
    return s.ptr != NULL && s.len > 0 && s.ptr >= p && s.ptr + s.len <= p + len;
}

static bool same(struct wxp_str a, struct wxp_str b)
{
    return a.len == b.len && memcmp(a.ptr, b.ptr, a.len) == 0;
}

/* Values as C strings; false when one holds a byte the builder refuses (NUL). */
static bool cstrs(const struct wxp_authz *a, char *v[4])
{
    const struct wxp_str s[4] = {a->mchid, a->nonce_str, a->serial_no, a->signature};
    for (size_t i = 0; i < 4; i++) {
        v[i] = memchr(s[i].ptr, '\0', s[i].len) ? NULL : wxp_strndup(s[i].ptr, s[i].len);
    }
    return v[0] && v[1] && v[2] && v[3];
}

static void round_trip(const struct wxp_authz *a)
{
    struct wxp_buf b;
    struct wxp_authz again;
    struct wxp_err err;
    char *v[4];

    wxp_buf_init(&b, WXP_AUTHZ_MAX * 2);
    if (cstrs(a, v) && wxp_authz_build(&b, v[0], v[1], a->ts, v[2], v[3], &err) == WXP_OK &&
        b.len <= WXP_AUTHZ_MAX) {
        FUZZ_CHECK(wxp_authz_parse(b.ptr, b.len, &again, &err) == WXP_OK);
        FUZZ_CHECK(same(again.mchid, a->mchid));
        FUZZ_CHECK(same(again.nonce_str, a->nonce_str));
        FUZZ_CHECK(same(again.serial_no, a->serial_no));
        FUZZ_CHECK(same(again.signature, a->signature));
        FUZZ_CHECK(again.ts == a->ts);
        FUZZ_CHECK(!again.spaces_after_comma);
    }
    for (size_t i = 0; i < 4; i++) {
        wxp_free(v[i]);
    }
    wxp_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data;
    struct wxp_authz a;
    struct wxp_err err;
    enum wxp_code rc;

    wxp_err_clear(&err);
    rc = wxp_authz_parse(p, size, &a, &err);
    FUZZ_CHECK(rc == err.code || rc == WXP_OK);
    if (rc != WXP_OK) {
        FUZZ_CHECK(rc < WXP_CODE_COUNT);
        FUZZ_CHECK(memchr(err.msg, '\0', sizeof err.msg) != NULL);
        return 0;
    }
    FUZZ_CHECK(size <= WXP_AUTHZ_MAX);
    FUZZ_CHECK(inside(a.mchid, p, size));
    FUZZ_CHECK(inside(a.nonce_str, p, size));
    FUZZ_CHECK(inside(a.timestamp, p, size));
    FUZZ_CHECK(inside(a.serial_no, p, size));
    FUZZ_CHECK(inside(a.signature, p, size));
    FUZZ_CHECK(a.ts >= 0);
    round_trip(&a);
    return 0;
}
