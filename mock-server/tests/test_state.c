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
    assert_non_null(strstr(j, "\"appid\":\"\""));
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_state_terminate_transitions),
        cmocka_unit_test(test_state_unknown_policy_authorized_once),
        cmocka_unit_test(test_state_many_learned_records),
        cmocka_unit_test(test_state_unknown_policy_not_found),
        cmocka_unit_test(test_state_unstorable_unknown_is_not_found),
        cmocka_unit_test(test_state_reason_cut_at_character_boundary),
        cmocka_unit_test(test_state_dump_load_round_trip),
        cmocka_unit_test(test_state_load_errors_name_the_field),
        cmocka_unit_test(test_state_load_limits_exact),
        cmocka_unit_test(test_state_concurrent_terminate_one_winner),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
