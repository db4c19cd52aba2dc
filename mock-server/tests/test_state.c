/* SPDX-License-Identifier: MIT */
/* test_state.c: authorization records: terminate transitions, the unknown-triple policy, the
 * dump/load round trip, strict loading with exact error fields, and one winner under contention.
 */
#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "mock.h"
#include "testutil.h"
#include "wxp/mem.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static struct mock_record rec(const char *openid, const char *service_id,
                              enum mock_auth_state state)
{
    struct mock_record r;
    memset(&r, 0, sizeof r);
    snprintf(r.mchid, sizeof r.mchid, "%s", T_MCHID_A);
    snprintf(r.openid, sizeof r.openid, "%s", openid);
    snprintf(r.appid, sizeof r.appid, "%s", "wxd678efh567hg6787");
    snprintf(r.service_id, sizeof r.service_id, "%s", service_id);
    r.state = state;
    return r;
}

static struct mock_state *new_state(enum mock_unknown_policy policy)
{
    static struct mock_record recs[3];
    struct mock_config c;
    struct mock_state *s;

    recs[0] = rec("oAvail", "S1", MOCK_AUTH_AVAILABLE);
    recs[1] = rec("oGone", "S1", MOCK_AUTH_UNAVAILABLE);
    recs[2] = rec("oUnbound", "S1", MOCK_AUTH_UNBINDUSER);
    memset(&c, 0, sizeof c);
    c.records = recs;
    c.nrecords = NELEM(recs);
    c.unknown_policy = policy;
    s = mock_state_new(&c);
    assert_non_null(s);
    return s;
}

static char *dump(struct mock_state *s)
{
    struct wxp_buf b;
    char *copy;
    wxp_buf_init(&b, (size_t)64 << 20);
    assert_int_equal(mock_state_dump(s, &b), WXP_OK);
    copy = wxp_strndup(wxp_buf_cstr(&b), b.len);
    wxp_buf_free(&b);
    return copy;
}

static void test_state_terminate_transitions(void **unused)
{
    (void)unused;
    struct mock_state *s = new_state(MOCK_UNKNOWN_NOT_FOUND);
    char *j;

    assert_int_equal(mock_state_terminate(s, T_MCHID_A, "oAvail", "wx1", "S1", "bye", 1700000000),
                     MOCK_TERM_OK);
    assert_int_equal(mock_state_terminate(s, T_MCHID_A, "oAvail", "wx1", "S1", "bye", 1700000001),
                     MOCK_TERM_ALREADY);
    assert_int_equal(mock_state_terminate(s, T_MCHID_A, "oGone", "wx1", "S1", "x", 1),
                     MOCK_TERM_ALREADY);
    assert_int_equal(mock_state_terminate(s, T_MCHID_A, "oUnbound", "wx1", "S1", "x", 1),
                     MOCK_TERM_ALREADY);
    /* The key is the whole triple: another merchant or service is another record. */
    assert_int_equal(mock_state_terminate(s, T_MCHID_B, "oGone", "wx1", "S1", "x", 1),
                     MOCK_TERM_NOT_FOUND);
    assert_int_equal(mock_state_terminate(s, T_MCHID_A, "oGone", "wx1", "S2", "x", 1),
                     MOCK_TERM_NOT_FOUND);
    j = dump(s);
    assert_string_equal(
        j, "[{\"mchid\":\"1900000109\",\"openid\":\"oAvail\",\"appid\":\"wxd678efh567hg6787\","
           "\"service_id\":\"S1\",\"state\":\"UNAVAILABLE\",\"terminated_at\":1700000000,"
           "\"reason\":\"bye\"},"
           "{\"mchid\":\"1900000109\",\"openid\":\"oGone\",\"appid\":\"wxd678efh567hg6787\","
           "\"service_id\":\"S1\",\"state\":\"UNAVAILABLE\",\"terminated_at\":null,"
           "\"reason\":null},"
           "{\"mchid\":\"1900000109\",\"openid\":\"oUnbound\",\"appid\":\"wxd678efh567hg6787\","
           "\"service_id\":\"S1\",\"state\":\"UNBINDUSER\",\"terminated_at\":null,"
           "\"reason\":null}]");
    wxp_free(j);
    mock_state_free(s);
}

static void test_state_unknown_policy_authorized_once(void **unused)
{
    (void)unused;
    struct mock_state *s = new_state(MOCK_UNKNOWN_AUTHORIZED);
    char *j;

    assert_int_equal(mock_state_terminate(s, T_MCHID_A, "oNew", "wx9", "S7", "r", 42),
                     MOCK_TERM_OK);
    assert_int_equal(mock_state_terminate(s, T_MCHID_A, "oNew", "wx9", "S7", "r", 43),
                     MOCK_TERM_ALREADY);
    j = dump(s);
    assert_non_null(strstr(j, "{\"mchid\":\"1900000109\",\"openid\":\"oNew\",\"appid\":\"wx9\","
                              "\"service_id\":\"S7\",\"state\":\"UNAVAILABLE\","
                              "\"terminated_at\":42,\"reason\":\"r\"}]"));
    wxp_free(j);
    /* Reset goes back to the config's records: the learned one is forgotten. */
    mock_state_reset(s);
    assert_int_equal(mock_state_terminate(s, T_MCHID_A, "oAvail", NULL, "S1", NULL, 5),
                     MOCK_TERM_OK);
    mock_state_reset(s);
    assert_int_equal(mock_state_terminate(s, T_MCHID_A, "oAvail", NULL, "S1", NULL, 5),
                     MOCK_TERM_OK);
    assert_int_equal(mock_state_terminate(s, T_MCHID_A, "oNew", "wx9", "S7", "r", 44),
                     MOCK_TERM_OK);
    mock_state_free(s);
}

/* Load-test policy: an unknown triple terminates every time, reads AVAILABLE in a query, can be
 * closed by the user every time, and nothing of it is stored; configured records keep their
 * faithful transitions. */
static void test_state_unknown_policy_always_authorized(void **unused)
{
    (void)unused;
    struct mock_state *s = new_state(MOCK_UNKNOWN_ALWAYS_AUTHORIZED);
    struct mock_record r;
    char *before, *after;
    char longid[MOCK_ID_MAX + 2];

    before = dump(s);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(mock_state_terminate(s, T_MCHID_A, "oNew", "wx9", "S7", "r", 42 + i),
                         MOCK_TERM_OK);
    }
    assert_int_equal(mock_state_query_openid(s, T_MCHID_A, "oNew", "S7", "wx9", &r), MOCK_ST_OK);
    assert_int_equal(r.state, MOCK_AUTH_AVAILABLE);
    memset(&r, 0, sizeof r);
    assert_int_equal(mock_state_user_close(s, T_MCHID_A, "S7", "oNew", 50, &r), MOCK_ST_OK);
    assert_int_equal(r.state, MOCK_AUTH_UNAVAILABLE);
    assert_string_equal(r.openid, "oNew");
    assert_int_equal(r.terminated_at, 50);
    assert_int_equal(mock_state_user_close(s, T_MCHID_A, "S7", "oNew", 51, NULL), MOCK_ST_OK);
    after = dump(s);
    assert_string_equal(after, before);
    wxp_free(before);
    wxp_free(after);
    /* A configured record still terminates once. */
    assert_int_equal(mock_state_terminate(s, T_MCHID_A, "oAvail", NULL, "S1", NULL, 5),
                     MOCK_TERM_OK);
    assert_int_equal(mock_state_terminate(s, T_MCHID_A, "oAvail", NULL, "S1", NULL, 6),
                     MOCK_TERM_ALREADY);
    /* What a record could not hold is not found, as under "authorized". */
    memset(longid, 'o', sizeof longid - 1);
    longid[sizeof longid - 1] = '\0';
    assert_int_equal(mock_state_terminate(s, T_MCHID_A, longid, "wx", "S1", "r", 1),
                     MOCK_TERM_NOT_FOUND);
    assert_int_equal(mock_state_terminate(s, T_MCHID_A, "o\xC3(", "wx", "S1", "r", 1),
                     MOCK_TERM_NOT_FOUND);
    mock_state_free(s);
}

/* Learned records are packed in 64 KiB chunks and share their (mchid, appid, service_id, reason)
 * tuples: 30 000 of them cross many chunks and index doublings; each is found again, the dump
 * lists them in order after the configured ones with their own fields, and it loads back. */
static void test_state_many_learned_records(void **unused)
{
    (void)unused;
    struct mock_state *s = new_state(MOCK_UNKNOWN_AUTHORIZED);
    enum { N = 30000 };
    char openid[64];
    char reason[32];
    char *j;
    char *j2;
    cJSON *arr;
    struct wxp_err err;

    for (int i = 0; i < N; i++) {
        snprintf(openid, sizeof openid, "oLearned%06d", i);
        snprintf(reason, sizeof reason, "r%d", i % 7); /* 7 reasons: 7 shared tuples per appid */
        assert_int_equal(mock_state_terminate(s, T_MCHID_A, openid, i % 2 ? "wxA" : "wxB",
                                              i % 3 ? "S1" : "S2", reason, 1000 + i),
                         MOCK_TERM_OK);
    }
    for (int i = 0; i < N; i += 997) {
        snprintf(openid, sizeof openid, "oLearned%06d", i);
        assert_int_equal(
            mock_state_terminate(s, T_MCHID_A, openid, "wxZ", i % 3 ? "S1" : "S2", "again", 5),
            MOCK_TERM_ALREADY);
        /* Same openid, the other service: a different triple, learned now. */
        assert_int_equal(
            mock_state_terminate(s, T_MCHID_A, openid, "wxZ", i % 3 ? "S2" : "S1", "other", 6),
            MOCK_TERM_OK);
    }
    j = dump(s);
    arr = cJSON_Parse(j);
    assert_non_null(arr);
    assert_int_equal(cJSON_GetArraySize(arr), 3 + N + (N + 996) / 997);
    {
        const cJSON *r = cJSON_GetArrayItem(arr, 3 + 12345);
        assert_string_equal(cJSON_GetObjectItem(r, "openid")->valuestring, "oLearned012345");
        assert_string_equal(cJSON_GetObjectItem(r, "appid")->valuestring, "wxA");
        assert_string_equal(cJSON_GetObjectItem(r, "service_id")->valuestring, "S2");
        assert_string_equal(cJSON_GetObjectItem(r, "reason")->valuestring, "r4");
        assert_string_equal(cJSON_GetObjectItem(r, "state")->valuestring, "UNAVAILABLE");
        assert_int_equal((int)cJSON_GetObjectItem(r, "terminated_at")->valuedouble, 1000 + 12345);
        r = cJSON_GetArrayItem(arr, 3 + N);
        assert_string_equal(cJSON_GetObjectItem(r, "openid")->valuestring, "oLearned000000");
        assert_string_equal(cJSON_GetObjectItem(r, "service_id")->valuestring, "S1");
        assert_string_equal(cJSON_GetObjectItem(r, "reason")->valuestring, "other");
    }
    cJSON_Delete(arr);
    /* Loading the dump makes them ordinary records: same dump, still terminated. */
    assert_int_equal(mock_state_load_json(s, j, strlen(j), &err), WXP_OK);
    j2 = dump(s);
    assert_string_equal(j, j2);
    assert_int_equal(mock_state_terminate(s, T_MCHID_A, "oLearned029999", "wxA", "S1", "x", 7),
                     MOCK_TERM_ALREADY);
    wxp_free(j2);
    wxp_free(j);
    mock_state_free(s);
}

static void test_state_unknown_policy_not_found(void **unused)
{
    (void)unused;
    struct mock_state *s = new_state(MOCK_UNKNOWN_NOT_FOUND);
    char *j;

    assert_int_equal(mock_state_terminate(s, T_MCHID_A, "oNew", "wx9", "S7", "r", 42),
                     MOCK_TERM_NOT_FOUND);
    assert_int_equal(mock_state_terminate(s, T_MCHID_A, "oNew", "wx9", "S7", "r", 42),
                     MOCK_TERM_NOT_FOUND);
    j = dump(s);
    assert_null(strstr(j, "oNew"));
    wxp_free(j);
    mock_state_free(s);
}

static void test_state_unstorable_unknown_is_not_found(void **unused)
{
    (void)unused;
    struct mock_state *s = new_state(MOCK_UNKNOWN_AUTHORIZED);
    char longid[MOCK_ID_MAX + 2];

    memset(longid, 'o', sizeof longid - 1);
    longid[sizeof longid - 1] = '\0';
    assert_int_equal(mock_state_terminate(s, T_MCHID_A, longid, "wx", "S1", "r", 1),
                     MOCK_TERM_NOT_FOUND);
    assert_int_equal(mock_state_terminate(s, T_MCHID_A, "o\xC3(", "wx", "S1", "r", 1),
                     MOCK_TERM_NOT_FOUND);
    /* An exactly full-length id is stored. */
    longid[MOCK_ID_MAX] = '\0';
    assert_int_equal(mock_state_terminate(s, T_MCHID_A, longid, "wx", "S1", "r", 1), MOCK_TERM_OK);
    assert_int_equal(mock_state_terminate(s, T_MCHID_A, longid, "wx", "S1", "r", 1),
                     MOCK_TERM_ALREADY);
    mock_state_free(s);
}

static void test_state_reason_cut_at_character_boundary(void **unused)
{
    (void)unused;
    struct mock_state *s = new_state(MOCK_UNKNOWN_NOT_FOUND);
    char reason[301];
    char *j;
    cJSON *root;
    const cJSON *got;

    /* 100 x U+4E2D (3 bytes each): 255 bytes hold 85 whole characters. */
    for (size_t i = 0; i < 100; i++) {
        memcpy(reason + 3 * i, "\xE4\xB8\xAD", 3);
    }
    reason[300] = '\0';
    assert_int_equal(mock_state_terminate(s, T_MCHID_A, "oAvail", "wx", "S1", reason, 1),
                     MOCK_TERM_OK);
    j = dump(s);
    root = cJSON_Parse(j);
    assert_non_null(root);
    got = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(root, 0), "reason");
    assert_true(cJSON_IsString(got));
    assert_int_equal(strlen(got->valuestring), 255);
    assert_memory_equal(got->valuestring, reason, 255);
    cJSON_Delete(root);
    wxp_free(j);
    mock_state_free(s);
}

static void test_state_dump_load_round_trip(void **unused)
{
    (void)unused;
    struct mock_state *a = new_state(MOCK_UNKNOWN_AUTHORIZED);
    struct mock_state *b = new_state(MOCK_UNKNOWN_NOT_FOUND);
    struct wxp_err err;
    char *ja;
    char *jb;

    assert_int_equal(mock_state_terminate(a, T_MCHID_A, "oAvail", "wx1", "S1",
                                          "quote \" backslash \\ \xE4\xB8\xAD", 1700000000),
                     MOCK_TERM_OK);
    assert_int_equal(mock_state_terminate(a, T_MCHID_B, "oX", "", "S3", "", 17), MOCK_TERM_OK);
    ja = dump(a);
    wxp_err_clear(&err);
    assert_int_equal(mock_state_load_json(b, ja, strlen(ja), &err), WXP_OK);
    jb = dump(b);
    assert_string_equal(ja, jb);
    /* Loaded records behave: the UNAVAILABLE ones stay so, the rest of b's policy applies. */
    assert_int_equal(mock_state_terminate(b, T_MCHID_B, "oX", "", "S3", "", 18), MOCK_TERM_ALREADY);
    assert_int_equal(mock_state_terminate(b, T_MCHID_B, "oY", "", "S3", "", 18),
                     MOCK_TERM_NOT_FOUND);
    wxp_free(ja);
    wxp_free(jb);
    /* The empty array empties the state. */
    assert_int_equal(mock_state_load_json(b, "[ ]", 3, &err), WXP_OK);
    jb = dump(b);
    assert_string_equal(jb, "[]");
    wxp_free(jb);
    mock_state_free(a);
    mock_state_free(b);
}

struct load_row {
    int line;
    const char *json;
    enum wxp_code code;
    const char *field;
};

#define REC_STATE(openid, state)                                                                   \
    "{\"mchid\":\"1\",\"openid\":\"" openid "\",\"service_id\":\"s\",\"state\":\"" state "\"}"
#define REC(openid) REC_STATE(openid, "AVAILABLE")
#define OK_REC REC("o")

static const struct load_row LOAD_ERRORS[] = {
    {__LINE__, "", WXP_E_JSON_SYNTAX, "state"},
    {__LINE__, "[", WXP_E_JSON_SYNTAX, "state"},
    {__LINE__, "[]x", WXP_E_JSON_SYNTAX, "state"},
    {__LINE__, "[01]", WXP_E_JSON_SYNTAX, "state"},
    {__LINE__, "[\"\xC3(\"]", WXP_E_UTF8, "state"},
    {__LINE__, "{}", WXP_E_PARAM_TYPE, "state"},
    {__LINE__, "[1]", WXP_E_PARAM_TYPE, "state[0]"},
    {__LINE__, "[" OK_REC ",[]]", WXP_E_PARAM_TYPE, "state[1]"},
    {__LINE__, "[{\"openid\":\"o\",\"service_id\":\"s\",\"state\":\"AVAILABLE\"}]",
     WXP_E_PARAM_MISSING, "state[0].mchid"},
    {__LINE__, "[{\"mchid\":\"1\",\"service_id\":\"s\",\"state\":\"AVAILABLE\"}]",
     WXP_E_PARAM_MISSING, "state[0].openid"},
    {__LINE__, "[{\"mchid\":\"1\",\"openid\":\"o\",\"state\":\"AVAILABLE\"}]", WXP_E_PARAM_MISSING,
     "state[0].service_id"},
    {__LINE__, "[{\"mchid\":\"1\",\"openid\":\"o\",\"service_id\":\"s\"}]", WXP_E_PARAM_MISSING,
     "state[0].state"},
    {__LINE__, "[" REC("o0") "," REC("o1") "," REC("o2") "," REC_STATE("o3", "available") "]",
     WXP_E_INVALID_ARG, "state[3].state"},
    {__LINE__, "[{\"mchid\":\"1\",\"openid\":\"o\",\"service_id\":\"s\",\"state\":\"AVAILABLE \"}]",
     WXP_E_INVALID_ARG, "state[0].state"},
    {__LINE__, "[{\"mchid\":1,\"openid\":\"o\",\"service_id\":\"s\",\"state\":\"AVAILABLE\"}]",
     WXP_E_PARAM_TYPE, "state[0].mchid"},
    {__LINE__, "[{\"mchid\":null,\"openid\":\"o\",\"service_id\":\"s\",\"state\":\"AVAILABLE\"}]",
     WXP_E_PARAM_TYPE, "state[0].mchid"},
    {__LINE__, "[{\"mchid\":\"\",\"openid\":\"o\",\"service_id\":\"s\",\"state\":\"AVAILABLE\"}]",
     WXP_E_PARAM_TOO_SHORT, "state[0].mchid"},
    {__LINE__,
     "[{\"mchid\":\"12345678901234567890123456789012\",\"openid\":\"o\",\"service_id\":\"s\","
     "\"state\":\"AVAILABLE\"}]",
     WXP_E_PARAM_TOO_LONG, "state[0].mchid"},
    {__LINE__,
     "[{\"mchid\":\"1\",\"openid\":\"o\",\"service_id\":\"s\",\"state\":\"AVAILABLE\","
     "\"appid\":7}]",
     WXP_E_PARAM_TYPE, "state[0].appid"},
    {__LINE__,
     "[{\"mchid\":\"1\",\"openid\":\"o\",\"service_id\":\"s\",\"state\":\"AVAILABLE\","
     "\"terminated_at\":-1}]",
     WXP_E_PARAM_TYPE, "state[0].terminated_at"},
    {__LINE__,
     "[{\"mchid\":\"1\",\"openid\":\"o\",\"service_id\":\"s\",\"state\":\"AVAILABLE\","
     "\"terminated_at\":1.5}]",
     WXP_E_PARAM_TYPE, "state[0].terminated_at"},
    {__LINE__,
     "[{\"mchid\":\"1\",\"openid\":\"o\",\"service_id\":\"s\",\"state\":\"AVAILABLE\","
     "\"terminated_at\":\"5\"}]",
     WXP_E_PARAM_TYPE, "state[0].terminated_at"},
    {__LINE__,
     "[{\"mchid\":\"1\",\"openid\":\"o\",\"service_id\":\"s\",\"state\":\"AVAILABLE\","
     "\"extra\":1}]",
     WXP_E_INVALID_ARG, "state[0].extra"},
    {__LINE__,
     "[{\"mchid\":\"1\",\"openid\":\"o\",\"service_id\":\"s\",\"state\":\"AVAILABLE\","
     "\"openid\":\"p\"}]",
     WXP_E_JSON_DUPLICATE_KEY, "state[0].openid"},
    {__LINE__, "[" OK_REC "," OK_REC "]", WXP_E_INVALID_ARG, "state[1]"},
};

static void test_state_load_errors_name_the_field(void **unused)
{
    (void)unused;
    struct mock_state *s = new_state(MOCK_UNKNOWN_NOT_FOUND);
    char *before = dump(s);

    for (size_t i = 0; i < NELEM(LOAD_ERRORS); i++) {
        const struct load_row *r = &LOAD_ERRORS[i];
        struct wxp_err err;
        enum wxp_code rc;
        char *after;

        wxp_err_clear(&err);
        rc = mock_state_load_json(s, r->json, strlen(r->json), &err);
        if (rc != r->code || strcmp(err.field, r->field) != 0 || err.msg[0] == '\0') {
            fail_msg("row at line %d: got %s field \"%s\" (%s), want %s field \"%s\"", r->line,
                     wxp_code_name(rc), err.field, err.msg, wxp_code_name(r->code), r->field);
        }
        /* All-or-nothing: a failed load leaves the records as they were. */
        after = dump(s);
        if (strcmp(before, after) != 0) {
            fail_msg("row at line %d: state changed by a failed load", r->line);
        }
        wxp_free(after);
    }
    wxp_free(before);
    mock_state_free(s);
}

static void test_state_load_limits_exact(void **unused)
{
    (void)unused;
    struct mock_state *s = new_state(MOCK_UNKNOWN_NOT_FOUND);
    struct wxp_err err;
    char json[1024];
    char id[MOCK_ID_MAX + 1];
    char *j;

    memset(id, 'a', MOCK_ID_MAX);
    id[MOCK_ID_MAX] = '\0';
    snprintf(json, sizeof json,
             "[{\"mchid\":\"1234567890123456789012345678901\",\"openid\":\"%s\",\"appid\":null,"
             "\"service_id\":\"s\",\"state\":\"UNBINDUSER\",\"terminated_at\":null,"
             "\"reason\":null}]",
             id);
    assert_int_equal(mock_state_load_json(s, json, strlen(json), &err), WXP_OK);
    j = dump(s);
    assert_non_null(strstr(j, "\"state\":\"UNBINDUSER\""));
    assert_non_null(strstr(j, "\"appid\":null"));
    wxp_free(j);
    /* One byte more is refused. */
    snprintf(json, sizeof json,
             "[{\"mchid\":\"1\",\"openid\":\"%sb\",\"service_id\":\"s\",\"state\":\"AVAILABLE\"}]",
             id);
    assert_int_equal(mock_state_load_json(s, json, strlen(json), &err), WXP_E_PARAM_TOO_LONG);
    assert_string_equal(err.field, "state[0].openid");
    mock_state_free(s);
}

#define RACERS 8
struct racer {
    struct mock_state *s;
    pthread_barrier_t *go;
    const char *openid;
    enum mock_term_result res;
};

static void *race(void *arg)
{
    struct racer *r = arg;
    pthread_barrier_wait(r->go);
    r->res = mock_state_terminate(r->s, T_MCHID_A, r->openid, "wx", "S1", "race", 9);
    return NULL;
}

static void run_race(enum mock_unknown_policy policy, const char *openid)
{
    struct mock_state *s = new_state(policy);
    pthread_barrier_t go;
    pthread_t t[RACERS];
    struct racer r[RACERS];
    int ok = 0;
    int already = 0;

    assert_int_equal(pthread_barrier_init(&go, NULL, RACERS), 0);
    for (int i = 0; i < RACERS; i++) {
        r[i].s = s;
        r[i].go = &go;
        r[i].openid = openid;
        r[i].res = MOCK_TERM_NOT_FOUND;
        assert_int_equal(pthread_create(&t[i], NULL, race, &r[i]), 0);
    }
    for (int i = 0; i < RACERS; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        ok += r[i].res == MOCK_TERM_OK;
        already += r[i].res == MOCK_TERM_ALREADY;
    }
    assert_int_equal(ok, 1);
    assert_int_equal(already, RACERS - 1);
    pthread_barrier_destroy(&go);
    mock_state_free(s);
}

static void test_state_concurrent_terminate_one_winner(void **unused)
{
    (void)unused;
    for (int round = 0; round < 20; round++) {
        run_race(MOCK_UNKNOWN_NOT_FOUND, "oAvail");
        run_race(MOCK_UNKNOWN_AUTHORIZED, "oFresh");
    }
}

/* ---- the permissions lifecycle ---------------------------------------------------------------
 * Rows run in order on one state; each names the operation, its inputs, and what it must find:
 * the result and, on success, the record's state, openid, code and times. */
enum op { APPLY, QCODE, QOPENID, TCODE, TOPENID, ACCEPT, CLOSE };

struct life_row {
    int line;
    enum op op;
    const char *mchid; /* NULL: merchant A */
    const char *service_id;
    const char *openid;
    const char *appid;
    const char *code;
    int64_t now;
    enum mock_st want;
    enum mock_auth_state state; /* on MOCK_ST_OK */
    const char *want_openid;    /* on MOCK_ST_OK, NULL: not checked */
    const char *want_code;
    int64_t want_authorized_at; /* -1: not checked */
    int64_t want_terminated_at;
};

static enum mock_st life_step(struct mock_state *s, const struct life_row *r,
                              struct mock_record *out)
{
    const char *mchid = r->mchid ? r->mchid : T_MCHID_A;
    struct mock_record in;

    switch (r->op) {
    case APPLY:
        memset(&in, 0, sizeof in);
        snprintf(in.mchid, sizeof in.mchid, "%s", mchid);
        snprintf(in.service_id, sizeof in.service_id, "%s", r->service_id);
        snprintf(in.appid, sizeof in.appid, "%s", r->appid ? r->appid : "");
        snprintf(in.authorization_code, sizeof in.authorization_code, "%s", r->code);
        snprintf(in.notify_url, sizeof in.notify_url, "%s", "https://m.example/n");
        snprintf(in.token, sizeof in.token, "tok-%s", r->code);
        return mock_state_apply(s, &in, r->now, out);
    case QCODE:
        return mock_state_query_code(s, mchid, r->code, r->service_id, out);
    case QOPENID:
        return mock_state_query_openid(s, mchid, r->openid, r->service_id, r->appid, out);
    case TCODE:
        return mock_state_terminate_code(s, mchid, r->code, r->service_id, "bye", r->now, out);
    case TOPENID:
        switch (mock_state_terminate(s, mchid, r->openid, r->appid, r->service_id, "bye", r->now)) {
        case MOCK_TERM_OK:
            return mock_state_query_openid(s, mchid, r->openid, r->service_id, r->appid, out);
        case MOCK_TERM_ALREADY:
            return MOCK_ST_STATE;
        case MOCK_TERM_NOT_FOUND:
            return MOCK_ST_NOT_FOUND;
        case MOCK_TERM_FULL:
            return MOCK_ST_FULL;
        }
        return MOCK_ST_FULL;
    case ACCEPT:
        return mock_state_user_accept(s, mchid, r->service_id, r->openid, r->appid, r->code, r->now,
                                      out);
    case CLOSE:
        return mock_state_user_close(s, mchid, r->service_id, r->openid, r->now, out);
    }
    return MOCK_ST_FULL;
}

static void run_life(struct mock_state *s, const struct life_row *rows, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const struct life_row *r = &rows[i];
        struct mock_record out;
        enum mock_st got;

        memset(&out, 0xA5, sizeof out);
        got = life_step(s, r, &out);
        if (got != r->want) {
            fail_msg("row at line %d: result %d, want %d", r->line, (int)got, (int)r->want);
        }
        if (got != MOCK_ST_OK) {
            continue;
        }
        if (out.state != r->state || (r->want_openid && strcmp(out.openid, r->want_openid)) ||
            (r->want_code && strcmp(out.authorization_code, r->want_code)) ||
            (r->want_authorized_at >= 0 && out.authorized_at != r->want_authorized_at) ||
            (r->want_terminated_at >= 0 && out.terminated_at != r->want_terminated_at)) {
            fail_msg("row at line %d: got %s openid \"%s\" code \"%s\" authorized %lld "
                     "terminated %lld",
                     r->line, mock_state_name(out.state), out.openid, out.authorization_code,
                     (long long)out.authorized_at, (long long)out.terminated_at);
        }
    }
}

#define L __LINE__
#define OK_(st) MOCK_ST_OK, MOCK_AUTH_##st
#define NO_(res) MOCK_ST_##res, MOCK_AUTH_AVAILABLE, NULL, NULL, -1, -1
static const struct life_row LIFE_NOT_FOUND[] = {
    {L, APPLY, NULL, "S1", NULL, "wxA", "C1", 1000, OK_(UNBINDUSER), "", "C1", 0, 0},
    /* The code is unique per merchant, whatever the service; another merchant may reuse it. */
    {L, APPLY, NULL, "S2", NULL, "wxA", "C1", 1000, NO_(DUPLICATE)},
    {L, APPLY, T_MCHID_B, "S1", NULL, "wxA", "C1", 1000, OK_(UNBINDUSER), "", "C1", 0, 0},
    {L, QCODE, NULL, "S1", NULL, NULL, "C1", 0, OK_(UNBINDUSER), "", "C1", 0, 0},
    {L, QCODE, NULL, "S2", NULL, NULL, "C1", 0, NO_(NOT_FOUND)},
    {L, QCODE, NULL, "S1", NULL, NULL, "C9", 0, NO_(NOT_FOUND)},
    {L, TCODE, NULL, "S1", NULL, NULL, "C1", 1100, NO_(STATE)},
    /* The token is valid one hour. */
    {L, ACCEPT, NULL, "S1", "oBound", NULL, "C1", 1000 + 3601, NO_(EXPIRED)},
    {L, ACCEPT, NULL, "S2", "oBound", NULL, "C1", 2000, NO_(NOT_FOUND)},
    {L, ACCEPT, NULL, "S1", "oAvail", NULL, "C1", 2000, NO_(AVAILABLE)},
    /* oGone's UNAVAILABLE record gives way to the bound one. */
    {L, ACCEPT, NULL, "S1", "oGone", NULL, "C1", 1000 + 3600, OK_(AVAILABLE), "oGone", "C1", 4600,
     0},
    {L, ACCEPT, NULL, "S1", "oOther", NULL, "C1", 4700, NO_(STATE)},
    {L, QOPENID, NULL, "S1", "oGone", "wxZ", NULL, 0, OK_(AVAILABLE), "oGone", "C1", 4600, 0},
    {L, QCODE, NULL, "S1", NULL, NULL, "C1", 0, OK_(AVAILABLE), "oGone", "C1", 4600, 0},
    {L, TCODE, NULL, "S1", NULL, NULL, "C1", 5000, OK_(UNAVAILABLE), "oGone", "C1", 4600, 5000},
    {L, TCODE, NULL, "S1", NULL, NULL, "C1", 5001, NO_(STATE)},
    {L, TOPENID, NULL, "S1", "oGone", NULL, NULL, 5002, NO_(STATE)},
    {L, QOPENID, NULL, "S1", "oGone", NULL, NULL, 0, OK_(UNAVAILABLE), "oGone", "C1", 4600, 5000},
    /* By openid: terminate, then the user reopens it and closes it. */
    {L, TOPENID, NULL, "S1", "oAvail", NULL, NULL, 6000, OK_(UNAVAILABLE), "oAvail", "", 0, 6000},
    {L, QOPENID, NULL, "S1", "oNew", "wx", NULL, 0, NO_(NOT_FOUND)},
    {L, CLOSE, NULL, "S1", "oNew", NULL, NULL, 6100, NO_(NOT_FOUND)},
    {L, ACCEPT, NULL, "S1", "oNew", "wxN", NULL, 6200, OK_(AVAILABLE), "oNew", "", 6200, 0},
    {L, ACCEPT, NULL, "S1", "oNew", "wxN", NULL, 6201, NO_(AVAILABLE)},
    {L, CLOSE, NULL, "S1", "oNew", NULL, NULL, 6300, OK_(UNAVAILABLE), "oNew", "", 6200, 6300},
    {L, CLOSE, NULL, "S1", "oNew", NULL, NULL, 6301, NO_(STATE)},
    {L, ACCEPT, NULL, "S1", "oNew", NULL, NULL, 6400, OK_(AVAILABLE), "oNew", "", 6400, 0},
    {L, TOPENID, NULL, "S1", "oNew", NULL, NULL, 6500, OK_(UNAVAILABLE), "oNew", "", 6400, 6500},
    /* A configured UNBINDUSER record without a code is reopened by a user-accept. */
    {L, TOPENID, NULL, "S1", "oUnbound", NULL, NULL, 6600, NO_(STATE)},
    {L, ACCEPT, NULL, "S1", "oUnbound", NULL, NULL, 6700, OK_(AVAILABLE), "oUnbound", "", 6700, 0},
};

static const struct life_row LIFE_AUTHORIZED[] = {
    /* A triple never seen reads as AVAILABLE, is stored by nothing, and terminates once. */
    {L, QOPENID, NULL, "S7", "oFresh", "wx9", NULL, 0, OK_(AVAILABLE), "oFresh", "", 0, 0},
    {L, QOPENID, NULL, "S7", "oFresh", "wx9", NULL, 0, OK_(AVAILABLE), "oFresh", "", 0, 0},
    {L, TOPENID, NULL, "S7", "oFresh", "wx9", NULL, 100, OK_(UNAVAILABLE), "oFresh", "", 0, 100},
    {L, TOPENID, NULL, "S7", "oFresh", "wx9", NULL, 101, NO_(STATE)},
    {L, QOPENID, NULL, "S7", "oFresh", "wx9", NULL, 0, OK_(UNAVAILABLE), "oFresh", "", 0, 100},
    /* The user closes one never seen: the same policy. */
    {L, CLOSE, NULL, "S7", "oFresh2", NULL, NULL, 200, OK_(UNAVAILABLE), "oFresh2", "", 0, 200},
    {L, CLOSE, NULL, "S7", "oFresh2", NULL, NULL, 201, NO_(STATE)},
    /* Codes exist only once applied: the policy does not invent them. */
    {L, QCODE, NULL, "S7", NULL, NULL, "CX", 0, NO_(NOT_FOUND)},
    {L, TCODE, NULL, "S7", NULL, NULL, "CX", 300, NO_(NOT_FOUND)},
    /* A reopened learned triple is a stored record again, and terminates once more. */
    {L, ACCEPT, NULL, "S7", "oFresh", NULL, NULL, 400, OK_(AVAILABLE), "oFresh", "", 400, 0},
    {L, QOPENID, NULL, "S7", "oFresh", "wx9", NULL, 0, OK_(AVAILABLE), "oFresh", "", 400, 0},
    {L, TOPENID, NULL, "S7", "oFresh", "wx9", NULL, 500, OK_(UNAVAILABLE), "oFresh", "", 400, 500},
    {L, TOPENID, NULL, "S7", "oFresh", "wx9", NULL, 501, NO_(STATE)},
};
#undef OK_
#undef NO_
#undef L

static void test_state_lifecycle_policy_not_found(void **unused)
{
    (void)unused;
    struct mock_state *s = new_state(MOCK_UNKNOWN_NOT_FOUND);
    run_life(s, LIFE_NOT_FOUND, NELEM(LIFE_NOT_FOUND));
    mock_state_free(s);
}

static void test_state_lifecycle_policy_authorized(void **unused)
{
    (void)unused;
    struct mock_state *s = new_state(MOCK_UNKNOWN_AUTHORIZED);
    char *j;

    run_life(s, LIFE_AUTHORIZED, NELEM(LIFE_AUTHORIZED));
    /* The reopened triple is listed once: its stored record hides the learned one. */
    j = dump(s);
    assert_non_null(strstr(j, "\"openid\":\"oFresh\""));
    assert_null(strstr(strstr(j, "\"openid\":\"oFresh\"") + 1, "\"openid\":\"oFresh\""));
    assert_non_null(strstr(j, "\"openid\":\"oFresh2\""));
    wxp_free(j);
    mock_state_free(s);
}

/* Every member of a lifecycle record survives dump -> load -> dump, and loading keeps both
 * indexes: the code is found again and stays unique. */
static void test_state_lifecycle_dump_load(void **unused)
{
    (void)unused;
    struct mock_state *s = new_state(MOCK_UNKNOWN_NOT_FOUND);
    struct mock_record in;
    struct mock_record out;
    struct wxp_err err;
    char *j;
    char *j2;

    memset(&in, 0, sizeof in);
    snprintf(in.mchid, sizeof in.mchid, "%s", T_MCHID_A);
    snprintf(in.service_id, sizeof in.service_id, "S1");
    snprintf(in.appid, sizeof in.appid, "wxA");
    snprintf(in.authorization_code, sizeof in.authorization_code, "C-1|*_");
    snprintf(in.notify_url, sizeof in.notify_url, "https://m.example/n");
    snprintf(in.token, sizeof in.token, "tok");
    assert_int_equal(mock_state_apply(s, &in, 1000, NULL), MOCK_ST_OK);
    snprintf(in.authorization_code, sizeof in.authorization_code, "C2");
    assert_int_equal(mock_state_apply(s, &in, 1000, NULL), MOCK_ST_OK);
    assert_int_equal(mock_state_user_accept(s, T_MCHID_A, "S1", "oC2", NULL, "C2", 1500, NULL),
                     MOCK_ST_OK);
    j = dump(s);
    assert_non_null(
        strstr(j, "{\"mchid\":\"1900000109\",\"openid\":\"\",\"appid\":\"wxA\",\"service_id\":"
                  "\"S1\",\"state\":\"UNBINDUSER\",\"terminated_at\":null,\"reason\":null,"
                  "\"authorization_code\":\"C-1|*_\",\"notify_url\":\"https://m.example/n\","
                  "\"apply_permissions_token\":\"tok\",\"token_expires_at\":4600}"));
    assert_non_null(strstr(j, "\"openid\":\"oC2\",\"appid\":\"wxA\",\"service_id\":\"S1\","
                              "\"state\":\"AVAILABLE\",\"terminated_at\":null,\"reason\":null,"
                              "\"authorization_code\":\"C2\",\"notify_url\":\"https://m.example/"
                              "n\",\"apply_permissions_token\":\"tok\",\"authorized_at\":1500,"
                              "\"token_expires_at\":4600}"));
    assert_int_equal(mock_state_load_json(s, j, strlen(j), &err), WXP_OK);
    j2 = dump(s);
    assert_string_equal(j, j2);
    assert_int_equal(mock_state_query_code(s, T_MCHID_A, "C-1|*_", "S1", &out), MOCK_ST_OK);
    assert_int_equal(mock_state_query_openid(s, T_MCHID_A, "oC2", "S1", NULL, &out), MOCK_ST_OK);
    assert_string_equal(out.authorization_code, "C2");
    assert_int_equal(mock_state_apply(s, &in, 1000, NULL), MOCK_ST_DUPLICATE);
    wxp_free(j2);
    /* A repeated code is refused by name; an openid may be absent only when a code is there. */
    {
        static const char *const bad[] = {
            "[{\"mchid\":\"1\",\"service_id\":\"s\",\"state\":\"UNBINDUSER\","
            "\"authorization_code\":\"c\"},{\"mchid\":\"1\",\"service_id\":\"t\","
            "\"state\":\"UNBINDUSER\",\"authorization_code\":\"c\"}]",
            "[{\"mchid\":\"1\",\"service_id\":\"s\",\"state\":\"AVAILABLE\","
            "\"authorization_code\":\"\"}]",
        };
        static const char *const field[] = {"state[1]", "state[0].openid"};
        for (size_t i = 0; i < NELEM(bad); i++) {
            assert_int_not_equal(mock_state_load_json(s, bad[i], strlen(bad[i]), &err), WXP_OK);
            assert_string_equal(err.field, field[i]);
        }
    }
    wxp_free(j);
    mock_state_free(s);
}

static void test_state_time_text_is_rfc3339_cst(void **unused)
{
    (void)unused;
    static const struct {
        int line;
        int64_t t;
        const char *want;
    } rows[] = {
        {__LINE__, 0, "1970-01-01T08:00:00+08:00"},
        {__LINE__, 1700000000, "2023-11-15T06:13:20+08:00"},
        {__LINE__, 1735660799, "2024-12-31T23:59:59+08:00"},
        {__LINE__, 1735660800, "2025-01-01T00:00:00+08:00"},
    };
    char got[MOCK_TIME_TEXT];
    for (size_t i = 0; i < NELEM(rows); i++) {
        mock_time_text(rows[i].t, got);
        if (strcmp(got, rows[i].want) != 0) {
            fail_msg("row at line %d: got %s", rows[i].line, got);
        }
    }
}

/* Concurrent applies of one code: exactly one creates it. Then a reset forgets applied records
 * (the configured ones come back). */
struct applier {
    struct mock_state *s;
    pthread_barrier_t *go;
    enum mock_st res;
};

static void *apply_race(void *arg)
{
    struct applier *a = arg;
    struct mock_record in;

    memset(&in, 0, sizeof in);
    snprintf(in.mchid, sizeof in.mchid, "%s", T_MCHID_A);
    snprintf(in.service_id, sizeof in.service_id, "S1");
    snprintf(in.appid, sizeof in.appid, "wx");
    snprintf(in.authorization_code, sizeof in.authorization_code, "RACE");
    snprintf(in.token, sizeof in.token, "t");
    pthread_barrier_wait(a->go);
    a->res = mock_state_apply(a->s, &in, 1, NULL);
    return NULL;
}

static void test_state_concurrent_apply_one_winner_then_reset(void **unused)
{
    (void)unused;
    for (int round = 0; round < 20; round++) {
        struct mock_state *s = new_state(MOCK_UNKNOWN_NOT_FOUND);
        pthread_barrier_t go;
        pthread_t t[RACERS];
        struct applier a[RACERS];
        int ok = 0, dup = 0;

        assert_int_equal(pthread_barrier_init(&go, NULL, RACERS), 0);
        for (int i = 0; i < RACERS; i++) {
            a[i].s = s;
            a[i].go = &go;
            a[i].res = MOCK_ST_FULL;
            assert_int_equal(pthread_create(&t[i], NULL, apply_race, &a[i]), 0);
        }
        for (int i = 0; i < RACERS; i++) {
            assert_int_equal(pthread_join(t[i], NULL), 0);
            ok += a[i].res == MOCK_ST_OK;
            dup += a[i].res == MOCK_ST_DUPLICATE;
        }
        assert_int_equal(ok, 1);
        assert_int_equal(dup, RACERS - 1);
        pthread_barrier_destroy(&go);
        assert_int_equal(mock_state_query_code(s, T_MCHID_A, "RACE", "S1", NULL), MOCK_ST_OK);
        mock_state_reset(s);
        assert_int_equal(mock_state_query_code(s, T_MCHID_A, "RACE", "S1", NULL),
                         MOCK_ST_NOT_FOUND);
        assert_int_equal(mock_state_query_openid(s, T_MCHID_A, "oAvail", "S1", NULL, NULL),
                         MOCK_ST_OK);
        mock_state_free(s);
    }
}

/* Regression (a null appid came back ""): a document in the dump's own form, with null and every
 * member, loads and dumps back byte for byte; that dump, with records learned from terminates
 * added, is put back and dumped again, byte for byte. */
static void test_state_dump_put_round_trip_exact_bug(void **unused)
{
    (void)unused;
    struct mock_state *s = new_state(MOCK_UNKNOWN_AUTHORIZED);
    struct wxp_buf doc;
    struct wxp_err err;
    char *a;
    char *b;

    wxp_buf_init(&doc, (size_t)1 << 20);
    assert_int_equal(wxp_buf_addstr(&doc, "["), WXP_OK);
    for (int i = 0; i < 400; i++) {
        /* Every fourth record has every member; the others mix nulls, escapes and non-ASCII. */
        if (i % 4 == 0) {
            assert_int_equal(
                wxp_buf_addf(
                    &doc,
                    "%s{\"mchid\":\"1900000109\",\"openid\":\"o%04d\",\"appid\":\"wx%04d\","
                    "\"service_id\":\"S%d\",\"state\":\"UNAVAILABLE\",\"terminated_at\":%d,"
                    "\"reason\":\"r \\\"%d\\\" \\\\ \xc3\xa9\\n\",\"authorization_code\":\"c%d\","
                    "\"notify_url\":\"https://m.example/n?%d\",\"apply_permissions_token\":"
                    "\"t%d\",\"authorized_at\":%d,\"token_expires_at\":%d}",
                    i ? "," : "", i, i, i % 7, 1700000000 + i, i, i, i, i, 1690000000 + i,
                    1690003600 + i),
                WXP_OK);
        } else {
            assert_int_equal(
                wxp_buf_addf(&doc,
                             ",{\"mchid\":\"190000011%d\",\"openid\":\"o%04d\",\"appid\":%s,"
                             "\"service_id\":\"S%d\",\"state\":\"%s\",\"terminated_at\":null,"
                             "\"reason\":%s}",
                             i % 2, i, i % 3 ? "null" : "\"wx\xc3\xa9\"", i % 5,
                             i % 3 == 1 ? "AVAILABLE" : "UNBINDUSER",
                             i % 2 ? "null" : "\"\xe4\xb8\xad\""),
                WXP_OK);
        }
    }
    assert_int_equal(wxp_buf_addstr(&doc, "]"), WXP_OK);
    assert_true(doc.len > 64 * 1024); /* over the 64 KiB every other request body is held to */
    assert_int_equal(mock_state_load_json(s, doc.ptr, doc.len, &err), WXP_OK);
    a = dump(s);
    assert_string_equal(a, doc.ptr);
    /* Learned records too (terminates of openids never seen), then back and forth. */
    for (int i = 0; i < 50; i++) {
        char openid[32];
        snprintf(openid, sizeof openid, "oLearned%d", i);
        assert_int_equal(mock_state_terminate(s, T_MCHID_A, openid, i % 2 ? "wx1" : NULL, "S1",
                                              i % 3 ? "bye" : NULL, 1700000000 + i),
                         MOCK_TERM_OK);
    }
    wxp_free(a);
    a = dump(s);
    assert_int_equal(mock_state_load_json(s, a, strlen(a), &err), WXP_OK);
    b = dump(s);
    assert_string_equal(a, b);
    wxp_free(a);
    wxp_free(b);
    wxp_buf_free(&doc);
    mock_state_free(s);
}

/* The record cap: at it, a terminate of a new openid is MOCK_TERM_FULL (the handler's named
 * error), not NOT_FOUND; known records still change; a load over the cap is refused naming it;
 * a reset makes room. */
static void test_state_record_cap_is_full_not_found_bug(void **unused)
{
    (void)unused;
    struct mock_state *s = new_state(MOCK_UNKNOWN_AUTHORIZED); /* 3 records */
    struct wxp_err err;
    const char *two = "[{\"mchid\":\"1\",\"openid\":\"a\",\"service_id\":\"s\",\"state\":"
                      "\"AVAILABLE\"},{\"mchid\":\"1\",\"openid\":\"b\",\"service_id\":\"s\","
                      "\"state\":\"AVAILABLE\"}]";

    mock_state_set_max(s, 5);
    assert_int_equal(mock_state_terminate(s, T_MCHID_A, "oNew1", "wx1", "S1", "r", 1),
                     MOCK_TERM_OK);
    assert_int_equal(mock_state_terminate(s, T_MCHID_A, "oNew2", "wx1", "S1", "r", 1),
                     MOCK_TERM_OK);
    assert_int_equal(mock_state_terminate(s, T_MCHID_A, "oNew3", "wx1", "S1", "r", 1),
                     MOCK_TERM_FULL);
    /* Nothing was evicted: a retry of an earlier one still answers already-terminated. */
    assert_int_equal(mock_state_terminate(s, T_MCHID_A, "oNew1", "wx1", "S1", "r", 1),
                     MOCK_TERM_ALREADY);
    assert_int_equal(mock_state_terminate(s, T_MCHID_A, "oAvail", "wx1", "S1", "r", 1),
                     MOCK_TERM_OK);
    mock_state_set_max(s, 1);
    wxp_err_clear(&err);
    assert_int_equal(mock_state_load_json(s, two, strlen(two), &err), WXP_E_TOO_LARGE);
    assert_string_equal(err.field, "state");
    assert_non_null(strstr(err.msg, "more than 1 records"));
    mock_state_set_max(s, 5);
    mock_state_reset(s);
    assert_int_equal(mock_state_terminate(s, T_MCHID_A, "oNew3", "wx1", "S1", "r", 1),
                     MOCK_TERM_OK);
    mock_state_free(s);
}

/* Pages of the dump: stored records then learned ones, offset and limit, the total; a page that
 * does not fit the buffer leaves it as it was and still counts the total. */
static void test_state_dump_pages(void **unused)
{
    (void)unused;
    struct mock_state *s = new_state(MOCK_UNKNOWN_AUTHORIZED); /* oAvail, oGone, oUnbound */
    struct wxp_buf b;
    size_t total = 0;
    const struct {
        int line;
        size_t offset, limit;
        const char *openids; /* in order, comma-separated */
    } rows[] = {
        {__LINE__, 0, 0, "oAvail,oGone,oUnbound,oL0,oL1"},
        {__LINE__, 0, 2, "oAvail,oGone"},
        {__LINE__, 2, 2, "oUnbound,oL0"},
        {__LINE__, 4, 2, "oL1"},
        {__LINE__, 3, 0, "oL0,oL1"},
        {__LINE__, 5, 1, ""},
        {__LINE__, 99, 0, ""},
    };

    assert_int_equal(mock_state_terminate(s, T_MCHID_A, "oL0", "wx1", "S1", "r", 1), MOCK_TERM_OK);
    assert_int_equal(mock_state_terminate(s, T_MCHID_A, "oL1", "wx1", "S1", "r", 1), MOCK_TERM_OK);
    for (size_t i = 0; i < NELEM(rows); i++) {
        char got[256] = "";
        size_t n = 0;
        cJSON *root;
        wxp_buf_init(&b, (size_t)1 << 20);
        assert_int_equal(mock_state_dump_page(s, rows[i].offset, rows[i].limit, &b, &total),
                         WXP_OK);
        root = cJSON_Parse(b.ptr);
        assert_non_null(root);
        for (const cJSON *r = root->child; r != NULL; r = r->next) {
            const cJSON *o = cJSON_GetObjectItemCaseSensitive(r, "openid");
            n += (size_t)snprintf(got + n, sizeof got - n, "%s%s", n ? "," : "", o->valuestring);
        }
        if (strcmp(got, rows[i].openids) != 0 || total != 5) {
            fail_msg("row at line %d: got [%s] of %zu", rows[i].line, got, total);
        }
        cJSON_Delete(root);
        wxp_buf_free(&b);
    }
    wxp_buf_init(&b, 100);
    assert_int_equal(wxp_buf_addstr(&b, "x"), WXP_OK);
    total = 0;
    assert_int_equal(mock_state_dump_page(s, 0, 0, &b, &total), WXP_E_TOO_LARGE);
    assert_string_equal(b.ptr, "x");
    assert_int_equal(total, 5);
    wxp_buf_free(&b);
    /* Only learned records (no stored one can hide them): skipped ones are counted undecoded. */
    assert_int_equal(mock_state_load_json(s, "[]", 2, NULL), WXP_OK);
    for (int i = 0; i < 3; i++) {
        char openid[8];
        snprintf(openid, sizeof openid, "oM%d", i);
        assert_int_equal(mock_state_terminate(s, T_MCHID_A, openid, "wx1", "S1", "r", 1),
                         MOCK_TERM_OK);
    }
    wxp_buf_init(&b, (size_t)1 << 20);
    assert_int_equal(mock_state_dump_page(s, 1, 1, &b, &total), WXP_OK);
    assert_int_equal(total, 3);
    assert_non_null(strstr(b.ptr, "\"openid\":\"oM1\""));
    assert_null(strstr(b.ptr, "oM0"));
    assert_null(strstr(b.ptr, "oM2"));
    wxp_buf_free(&b);
    mock_state_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_state_terminate_transitions),
        cmocka_unit_test(test_state_unknown_policy_authorized_once),
        cmocka_unit_test(test_state_unknown_policy_always_authorized),
        cmocka_unit_test(test_state_many_learned_records),
        cmocka_unit_test(test_state_unknown_policy_not_found),
        cmocka_unit_test(test_state_unstorable_unknown_is_not_found),
        cmocka_unit_test(test_state_reason_cut_at_character_boundary),
        cmocka_unit_test(test_state_dump_load_round_trip),
        cmocka_unit_test(test_state_load_errors_name_the_field),
        cmocka_unit_test(test_state_load_limits_exact),
        cmocka_unit_test(test_state_concurrent_terminate_one_winner),
        cmocka_unit_test(test_state_lifecycle_policy_not_found),
        cmocka_unit_test(test_state_lifecycle_policy_authorized),
        cmocka_unit_test(test_state_lifecycle_dump_load),
        cmocka_unit_test(test_state_time_text_is_rfc3339_cst),
        cmocka_unit_test(test_state_concurrent_apply_one_winner_then_reset),
        cmocka_unit_test(test_state_dump_put_round_trip_exact_bug),
        cmocka_unit_test(test_state_record_cap_is_full_not_found_bug),
        cmocka_unit_test(test_state_dump_pages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
