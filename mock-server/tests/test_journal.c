/* SPDX-License-Identifier: MIT */
/* test_journal.c: the request journal keeps the newest `cap` entries and dumps them as JSON
 * that cJSON parses, with every documented field, filters, and base64 for non-UTF-8 bodies. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mock.h"
#include "testutil.h"
#include "wxp/mem.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define T_MS 1700000000123LL /* 2023-11-14T22:13:20.123Z */

struct fake {
    struct mock_request req;
    struct mock_response resp;
    char target[256];
    char name[3][32];
    char value[3][64];
};

static void set_header(struct fake *f, size_t i, const char *name, const char *value)
{
    snprintf(f->name[i], sizeof f->name[i], "%s", name);
    snprintf(f->value[i], sizeof f->value[i], "%s", value);
    f->req.headers[i].name = f->name[i];
    f->req.headers[i].value = f->value[i];
}

/* A request with two headers and a body; `status` 0 leaves the response at its defaults. */
static void fake_init(struct fake *f, uint64_t seq, const char *method, const char *target,
                      const char *body, size_t body_len, unsigned status, const char *code,
                      const char *failed_check)
{
    memset(&f->req, 0, sizeof f->req);
    f->req.seq = seq;
    f->req.received_ms = T_MS;
    snprintf(f->req.method, sizeof f->req.method, "%s", method);
    snprintf(f->target, sizeof f->target, "%s", target);
    f->req.target = f->target;
    set_header(f, 0, "Content-Type", "application/json");
    set_header(f, 1, "Authorization", "WECHATPAY2-SHA256-RSA2048 x=\"1\"");
    set_header(f, 2, "content-type", "text/plain");
    f->req.nheaders = 3;
    wxp_buf_init(&f->req.body, MOCK_BODY_MAX);
    assert_int_equal(wxp_buf_add(&f->req.body, body, body_len), WXP_OK);
    snprintf(f->req.remote, sizeof f->req.remote, "127.0.0.1:5555");
    mock_response_init(&f->resp);
    f->resp.status = status;
    snprintf(f->resp.code, sizeof f->resp.code, "%s", code ? code : "");
    f->resp.failed_check = failed_check;
    f->resp.sign = status < 300;
}

static void fake_free(struct fake *f)
{
    wxp_buf_free(&f->req.body);
    mock_response_free(&f->resp);
}

static void add(struct mock_journal *j, uint64_t seq, const char *method, const char *target,
                unsigned status, const char *code, const char *failed_check)
{
    struct fake f;
    fake_init(&f, seq, method, target, "{}", 2, status, code, failed_check);
    mock_journal_add(j, &f.req, &f.resp);
    fake_free(&f);
}

/* The dump parsed; the caller deletes it. */
static cJSON *dump(struct mock_journal *j, const struct mock_journal_filter *f)
{
    struct wxp_buf b;
    cJSON *root;

    wxp_buf_init(&b, (size_t)64 << 20);
    assert_int_equal(mock_journal_dump(j, f, &b), WXP_OK);
    root = cJSON_ParseWithLength(b.ptr, b.len);
    assert_non_null(root);
    assert_true(cJSON_IsArray(root));
    wxp_buf_free(&b);
    return root;
}

static double num(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    assert_true(cJSON_IsNumber(v));
    return v->valuedouble;
}

static const char *str(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    if (cJSON_IsNull(v)) {
        return NULL;
    }
    assert_true(cJSON_IsString(v));
    return v->valuestring;
}

/* The seq numbers of a dump, as "1,2,3". */
static void seqs(const cJSON *root, char *out, size_t cap)
{
    size_t n = 0;
    const cJSON *e;

    out[0] = '\0';
    cJSON_ArrayForEach(e, root)
    {
        n += (size_t)snprintf(out + n, cap - n, "%s%.0f", n ? "," : "", num(e, "seq"));
    }
}

static void test_journal_ring_keeps_newest(void **unused)
{
    (void)unused;
    struct mock_journal *j = mock_journal_new(3);
    cJSON *root;
    char s[64];

    for (uint64_t i = 1; i <= 5; i++) {
        add(j, i, "POST", "/v3/x", 204, NULL, NULL);
    }
    root = dump(j, NULL);
    seqs(root, s, sizeof s);
    assert_string_equal(s, "3,4,5");
    cJSON_Delete(root);
    mock_journal_free(j);
    mock_journal_free(NULL);
}

/* Once full, the ring reuses its oldest entries and their blocks: entries of very different sizes
 * (a 40 KiB body, a 2-byte one, no headers) written over each other keep only their own bytes. */
static void test_journal_reused_entries_hold_their_own_content(void **unused)
{
    (void)unused;
    struct mock_journal *j = mock_journal_new(2);
    static char big[40 * 1024];
    char want[64];

    memset(big, 'b', sizeof big);
    for (uint64_t i = 1; i <= 9; i++) {
        struct fake f;
        size_t len = i % 3 == 0 ? sizeof big : 2;
        char target[32];
        snprintf(target, sizeof target, "/v3/e%llu", (unsigned long long)i);
        fake_init(&f, i, "POST", target, i % 3 == 0 ? big : "{}", len, 204, NULL, NULL);
        if (i % 3 == 1) {
            f.req.nheaders = 0;
        }
        mock_journal_add(j, &f.req, &f.resp);
        fake_free(&f);
    }
    cJSON *root = dump(j, NULL);
    assert_int_equal(cJSON_GetArraySize(root), 2);
    for (int k = 0; k < 2; k++) {
        const cJSON *e = cJSON_GetArrayItem(root, k);
        int seq = (int)num(e, "seq");
        const cJSON *h = cJSON_GetObjectItemCaseSensitive(e, "headers");
        assert_int_equal(seq, 8 + k);
        snprintf(want, sizeof want, "/v3/e%d", seq);
        assert_string_equal(str(e, "path"), want);
        assert_int_equal((int)num(e, "body_len"), seq % 3 == 0 ? (int)sizeof big : 2);
        assert_int_equal(strlen(str(e, "body")), seq % 3 == 0 ? sizeof big : 2);
        assert_int_equal(cJSON_GetArraySize(h), seq % 3 == 1 ? 0 : 2);
    }
    cJSON_Delete(root);
    mock_journal_free(j);
}

static void test_journal_zero_cap_keeps_one(void **unused)
{
    (void)unused;
    struct mock_journal *j = mock_journal_new(0);
    cJSON *root;
    char s[64];

    add(j, 1, "GET", "/a", 200, NULL, NULL);
    add(j, 2, "GET", "/b", 200, NULL, NULL);
    root = dump(j, NULL);
    seqs(root, s, sizeof s);
    assert_string_equal(s, "2");
    cJSON_Delete(root);
    mock_journal_free(j);
}

static void test_journal_dump_has_every_field(void **unused)
{
    (void)unused;
    struct mock_journal *j = mock_journal_new(10);
    struct fake f;
    const char body[] = "{\"appid\":\"wx\",\"reason\":\"\xE4\xB8\xAD\\n\"}";
    cJSON *root;
    const cJSON *e;
    const cJSON *h;

    fake_init(&f, 7, "POST", "/v3/payscore/permissions/openid/o1/terminate?a=1&b=%41", body,
              sizeof body - 1, 400, "PARAM_ERROR", "body");
    mock_journal_add(j, &f.req, &f.resp);
    fake_free(&f);
    add(j, 8, "GET", "/v3/y", 204, NULL, NULL);
    root = dump(j, NULL);
    assert_int_equal(cJSON_GetArraySize(root), 2);
    e = cJSON_GetArrayItem(root, 0);
    assert_int_equal(num(e, "seq"), 7);
    assert_string_equal(str(e, "time"), "2023-11-14T22:13:20.123Z");
    assert_string_equal(str(e, "method"), "POST");
    assert_string_equal(str(e, "path"), "/v3/payscore/permissions/openid/o1/terminate");
    assert_string_equal(str(e, "query"), "a=1&b=%41");
    h = cJSON_GetObjectItemCaseSensitive(e, "headers");
    assert_true(cJSON_IsObject(h));
    assert_int_equal(cJSON_GetArraySize(h), 2); /* the repeated content-type is dropped */
    assert_string_equal(str(h, "Content-Type"), "application/json");
    assert_string_equal(str(h, "Authorization"), "WECHATPAY2-SHA256-RSA2048 x=\"1\"");
    assert_string_equal(str(e, "body"), body);
    assert_null(cJSON_GetObjectItemCaseSensitive(e, "body_base64"));
    assert_int_equal(num(e, "body_len"), sizeof body - 1);
    assert_string_equal(str(e, "remote"), "127.0.0.1:5555");
    assert_int_equal(num(e, "status"), 400);
    assert_string_equal(str(e, "code"), "PARAM_ERROR");
    assert_string_equal(str(e, "failed_check"), "body");
    assert_true(num(e, "latency_ms") >= 0);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(e, "signed")));
    e = cJSON_GetArrayItem(root, 1);
    assert_null(str(e, "query"));
    assert_null(str(e, "code"));
    assert_null(str(e, "failed_check"));
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "signed")));
    cJSON_Delete(root);
    mock_journal_free(j);
}

static void test_journal_non_utf8_body_is_base64(void **unused)
{
    (void)unused;
    struct mock_journal *j = mock_journal_new(10);
    struct fake f;
    cJSON *root;
    const cJSON *e;

    fake_init(&f, 1, "POST", "/p\xFF?q=\xC3", "\xC3(\x00z", 4, 400, "PARAM_ERROR", "body");
    mock_journal_add(j, &f.req, &f.resp);
    fake_free(&f);
    root = dump(j, NULL);
    e = cJSON_GetArrayItem(root, 0);
    assert_null(cJSON_GetObjectItemCaseSensitive(e, "body"));
    assert_string_equal(str(e, "body_base64"), "wygAeg==");
    assert_int_equal(num(e, "body_len"), 4);
    /* A target that is not UTF-8 still gives valid JSON, bad bytes as U+FFFD. */
    assert_string_equal(str(e, "path"), "/p\xEF\xBF\xBD");
    assert_string_equal(str(e, "query"), "q=\xEF\xBF\xBD");
    cJSON_Delete(root);
    mock_journal_free(j);
}

static void test_journal_cuts_long_header_values(void **unused)
{
    (void)unused;
    struct mock_journal *j = mock_journal_new(10);
    struct fake f;
    char *big = wxp_malloc(MOCK_HEADER_VALUE_MAX + 100);
    cJSON *root;

    memset(big, 'v', MOCK_HEADER_VALUE_MAX + 99);
    big[MOCK_HEADER_VALUE_MAX + 99] = '\0';
    fake_init(&f, 1, "GET", "/", "", 0, 200, NULL, NULL);
    f.req.headers[0].value = big;
    mock_journal_add(j, &f.req, &f.resp);
    fake_free(&f);
    wxp_free(big);
    root = dump(j, NULL);
    assert_int_equal(
        strlen(str(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(root, 0), "headers"),
                   "Content-Type")),
        MOCK_HEADER_VALUE_MAX);
    assert_string_equal(str(cJSON_GetArrayItem(root, 0), "body"), "");
    cJSON_Delete(root);
    mock_journal_free(j);
}

static void test_journal_redacts_admin_token(void **unused)
{
    (void)unused;
    struct mock_journal *j = mock_journal_new(10);
    struct fake f;
    cJSON *root;
    const cJSON *h;

    fake_init(&f, 1, "GET", "/__admin/health", "", 0, 200, NULL, NULL);
    set_header(&f, 1, "Authorization", "Bearer s3cret");
    set_header(&f, 2, "X-Admin-Token", "s3cret");
    mock_journal_add(j, &f.req, &f.resp);
    fake_free(&f);
    root = dump(j, NULL);
    h = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(root, 0), "headers");
    assert_string_equal(str(h, "Authorization"), "Bearer <redacted>");
    assert_string_equal(str(h, "X-Admin-Token"), "<redacted>");
    cJSON_Delete(root);
    mock_journal_free(j);
}

struct filter_row {
    int line;
    struct mock_journal_filter f;
    const char *want;
};

static void test_journal_filters(void **unused)
{
    (void)unused;
    static const struct filter_row rows[] = {
        {__LINE__, {NULL, NULL, 0, NULL, 0}, "1,2,3,4,5"},
        {__LINE__, {"GET", NULL, 0, NULL, 0}, "2,5"},
        {__LINE__, {"get", NULL, 0, NULL, 0}, ""},
        {__LINE__, {NULL, "/v3/payscore", 0, NULL, 0}, "1,3,4"},
        {__LINE__, {NULL, "/v3/payscore/permissions/openid/o1/terminate", 0, NULL, 0}, "1,4"},
        /* The prefix is matched against the path only, never the query. */
        {__LINE__, {NULL, "/v3/other?x", 0, NULL, 0}, ""},
        {__LINE__, {NULL, NULL, 401, NULL, 0}, "3,4"},
        {__LINE__, {NULL, NULL, 0, "signature", 0}, "4"},
        {__LINE__, {NULL, NULL, 0, NULL, 2}, "4,5"},
        {__LINE__, {NULL, NULL, 0, NULL, 99}, "1,2,3,4,5"},
        {__LINE__, {"POST", NULL, 0, NULL, 1}, "4"},
        {__LINE__, {"POST", "/v3/payscore", 401, "signature", 0}, "4"},
    };
    struct mock_journal *j = mock_journal_new(10);

    add(j, 1, "POST", "/v3/payscore/permissions/openid/o1/terminate", 204, NULL, NULL);
    add(j, 2, "GET", "/v3/other?x=1", 404, "NOT_FOUND", "route");
    add(j, 3, "POST", "/v3/payscore/permissions/openid/o2/terminate", 401, "SIGN_ERROR",
        "timestamp");
    add(j, 4, "POST", "/v3/payscore/permissions/openid/o1/terminate?z", 401, "SIGN_ERROR",
        "signature");
    add(j, 5, "GET", "/__admin/health", 200, NULL, NULL);
    for (size_t i = 0; i < NELEM(rows); i++) {
        cJSON *root = dump(j, &rows[i].f);
        char s[64];
        seqs(root, s, sizeof s);
        if (strcmp(s, rows[i].want) != 0) {
            fail_msg("row at line %d: got [%s], want [%s]", rows[i].line, s, rows[i].want);
        }
        cJSON_Delete(root);
    }
    mock_journal_free(j);
}

static void test_journal_clear_empties(void **unused)
{
    (void)unused;
    struct mock_journal *j = mock_journal_new(3);
    struct wxp_buf b;
    cJSON *root;
    char s[64];

    for (uint64_t i = 1; i <= 4; i++) {
        add(j, i, "GET", "/", 200, NULL, NULL);
    }
    mock_journal_clear(j);
    wxp_buf_init(&b, 1024);
    assert_int_equal(mock_journal_dump(j, NULL, &b), WXP_OK);
    assert_string_equal(wxp_buf_cstr(&b), "[]");
    wxp_buf_free(&b);
    /* Usable after a clear, and the ring restarts cleanly. */
    for (uint64_t i = 10; i <= 14; i++) {
        add(j, i, "GET", "/", 200, NULL, NULL);
    }
    root = dump(j, NULL);
    seqs(root, s, sizeof s);
    assert_string_equal(s, "12,13,14");
    cJSON_Delete(root);
    mock_journal_free(j);
}

static void test_journal_dump_too_large_leaves_buffer(void **unused)
{
    (void)unused;
    struct mock_journal *j = mock_journal_new(3);
    struct wxp_buf b;

    add(j, 1, "GET", "/", 200, NULL, NULL);
    wxp_buf_init(&b, 20);
    assert_int_equal(wxp_buf_addstr(&b, "x"), WXP_OK);
    assert_int_equal(mock_journal_dump(j, NULL, &b), WXP_E_TOO_LARGE);
    assert_string_equal(wxp_buf_cstr(&b), "x");
    wxp_buf_free(&b);
    mock_journal_free(j);
}

/* Adds an entry with a `len`-byte body of `c` (one header set, as fake_init makes). */
static void add_body(struct mock_journal *j, uint64_t seq, char c, size_t len)
{
    static char body[MOCK_BODY_MAX];
    struct fake f;

    memset(body, c, len);
    fake_init(&f, seq, "POST", "/v3/x", body, len, 400, "PARAM_ERROR", "body");
    mock_journal_add(j, &f.req, &f.resp);
    fake_free(&f);
}

/* Regression (the journal was bounded by entry count only: 1000 entries of 64 KiB bodies held
 * 128 MB, and a larger --journal-size made GET /__admin/requests answer 500): a byte budget drops
 * the oldest entries first, keeps the newest whole, and the whole dump fits the admin answer's
 * cap. Control-byte bodies (6 bytes each as \u00XX) cost their JSON form, not their raw size. */
static void test_journal_byte_budget_drops_oldest_bug(void **unused)
{
    (void)unused;
    struct mock_journal *j = mock_journal_new(1000);
    const size_t budget = (size_t)1024 * 1024;
    struct wxp_buf b;
    cJSON *root;
    char want[64];
    char s[1024];
    int n;

    assert_int_equal(mock_journal_bytes(j), 0);
    mock_journal_set_budget(j, budget);
    for (uint64_t i = 1; i <= 100; i++) {
        add_body(j, i, i % 2 ? 'a' : '\x01', MOCK_BODY_MAX);
        assert_true(mock_journal_bytes(j) <= budget);
    }
    root = dump(j, NULL);
    n = cJSON_GetArraySize(root);
    /* 64 KiB of 'a' is about 64 KiB of JSON and 64 KiB of copy; of 0x01, 384 KiB of JSON. */
    assert_true(n >= 2 && n <= 6);
    seqs(root, s, sizeof s);
    snprintf(want, sizeof want, "%d", 100 - n + 1);
    assert_memory_equal(s, want, strlen(want)); /* the newest n, in order */
    assert_string_equal(s + strlen(s) - 4, ",100");
    cJSON_Delete(root);
    wxp_buf_init(&b, mock_journal_dump_max(j));
    assert_int_equal(mock_journal_dump(j, NULL, &b), WXP_OK);
    assert_true(b.len <= budget);
    wxp_buf_free(&b);
    /* An entry larger than the whole budget stays, alone, and still fits the answer. */
    mock_journal_set_budget(j, 1000);
    add_body(j, 101, '\x02', MOCK_BODY_MAX);
    root = dump(j, NULL);
    seqs(root, s, sizeof s);
    assert_string_equal(s, "101");
    cJSON_Delete(root);
    wxp_buf_init(&b, mock_journal_dump_max(j));
    assert_int_equal(mock_journal_dump(j, NULL, &b), WXP_OK);
    wxp_buf_free(&b);
    /* Small entries under a budget that holds them all: only the count bounds them. */
    mock_journal_set_budget(j, budget);
    for (uint64_t i = 102; i <= 111; i++) {
        add(j, i, "POST", "/v3/x", 204, NULL, NULL);
    }
    root = dump(j, NULL);
    assert_int_equal(cJSON_GetArraySize(root), 11);
    cJSON_Delete(root);
    mock_journal_clear(j);
    assert_int_equal(mock_journal_bytes(j), 0);
    mock_journal_free(j);
}

/* A counting allocator: the bytes live through wxp_malloc (a size header before each block). */
static size_t live_bytes;

static void *count_malloc(size_t n)
{
    size_t *p = malloc(sizeof(size_t) + n);
    if (p == NULL) {
        return NULL;
    }
    *p = n;
    live_bytes += n;
    return p + 1;
}

static void count_free(void *q)
{
    if (q != NULL) {
        size_t *p = (size_t *)q - 1;
        live_bytes -= *p;
        free(p);
    }
}

static void *count_realloc(void *q, size_t n)
{
    size_t *p = q != NULL ? (size_t *)q - 1 : NULL;
    size_t old = p != NULL ? *p : 0;
    size_t *r = realloc(p, sizeof(size_t) + n);
    if (r == NULL) {
        return NULL;
    }
    *r = n;
    live_bytes = live_bytes - old + n;
    return r + 1;
}

/* A full journal of terminate-sized requests holds their copies, not their JSON form as well:
 * what it keeps live stays under 1.5 times the JSON it answers (about 1.26 times: the entry and
 * its block; keeping the JSON too made it 2.3 times). */
static void test_journal_keeps_no_second_copy_bug(void **unused)
{
    static const struct wxp_allocator counting = {count_malloc, count_realloc, count_free};
    static const char BODY[] =
        "{\"service_id\":\"500001\",\"appid\":\"wxd678efh567hg6787\",\"reason\":\"用户解约\"}";
    struct mock_journal *j;
    struct wxp_buf b;
    size_t before, held;

    (void)unused;
    wxp_mem_set_allocator(&counting);
    before = live_bytes;
    j = mock_journal_new(1000);
    for (uint64_t i = 1; i <= 1000; i++) {
        struct fake f;
        fake_init(&f, i, "POST",
                  "/v3/payscore/permissions/openid/oUpF8uMuAJO_M2pxb1Q9zNjWeS6o/terminate", BODY,
                  strlen(BODY), 204, NULL, NULL);
        mock_journal_add(j, &f.req, &f.resp);
        fake_free(&f);
    }
    held = live_bytes - before;
    wxp_buf_init(&b, (size_t)64 << 20);
    assert_int_equal(mock_journal_dump(j, NULL, &b), WXP_OK);
    if (held * 2 >= b.len * 3) {
        fail_msg("1000 entries hold %zu bytes; their JSON is %zu", held, b.len);
    }
    wxp_buf_free(&b);
    mock_journal_free(j);
    assert_int_equal(live_bytes, before);
    wxp_mem_set_allocator(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_journal_ring_keeps_newest),
        cmocka_unit_test(test_journal_reused_entries_hold_their_own_content),
        cmocka_unit_test(test_journal_zero_cap_keeps_one),
        cmocka_unit_test(test_journal_dump_has_every_field),
        cmocka_unit_test(test_journal_non_utf8_body_is_base64),
        cmocka_unit_test(test_journal_cuts_long_header_values),
        cmocka_unit_test(test_journal_redacts_admin_token),
        cmocka_unit_test(test_journal_filters),
        cmocka_unit_test(test_journal_clear_empties),
        cmocka_unit_test(test_journal_dump_too_large_leaves_buffer),
        cmocka_unit_test(test_journal_byte_budget_drops_oldest_bug),
        cmocka_unit_test(test_journal_keeps_no_second_copy_bug),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
