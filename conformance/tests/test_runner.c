/* SPDX-License-Identifier: MIT */
/* test_runner.c: wxpay-conformance end to end. Runs the runner as a child (against the bundled
 * wxpay-mock, our wxpay command and the careless example client), then reads its JSON report
 * back and checks the verdicts case by case. argv[1] picks the group: server_vs_mock,
 * client_wxpay, client_careless, reports or diagnostics (-v, runs that stop early, JUnit
 * against the exit status). */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cJSON.h>
#include <cmocka.h>
#include <dirent.h>

#include "wxp/json.h"
#include "wxp/keys.h"
#include "wxp/mem.h"
#include "wxp/op.h"

static char tmpdir[256];

static int make_tmpdir(void **state)
{
    const char *base = getenv("TMPDIR");
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "%s/wxpay-conf-test.XXXXXX",
             base != NULL && base[0] != '\0' ? base : "/tmp");
    return mkdtemp(tmpdir) != NULL ? 0 : -1;
}

static int remove_tmpdir(void **state)
{
    DIR *d = opendir(tmpdir);
    struct dirent *e;
    char path[512];
    (void)state;
    while (d != NULL && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            snprintf(path, sizeof path, "%s/%s", tmpdir, e->d_name);
            unlink(path);
        }
    }
    if (d != NULL) {
        closedir(d);
    }
    rmdir(tmpdir);
    return 0;
}

static void tmp_path(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", tmpdir, name);
}

/* Runs argv[0] with argv; stdout and stderr are inherited (ctest shows them on failure).
 * Returns the exit status, or -1 when it did not exit normally. */
static int run(const char *const *argv)
{
    int st = 0;
    pid_t pid;
    fflush(stdout);
    fflush(stderr);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        execv(argv[0], (char *const *)(uintptr_t)argv);
        _exit(127);
    }
    assert_int_equal(waitpid(pid, &st, 0), pid);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* As run(), with stdout and stderr both written to `path` (read it back with read_file). */
static int run_to(const char *const *argv, const char *path)
{
    int st = 0;
    pid_t pid;
    fflush(stdout);
    fflush(stderr);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd < 0) {
            _exit(126);
        }
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        close(fd);
        execv(argv[0], (char *const *)(uintptr_t)argv);
        _exit(127);
    }
    assert_int_equal(waitpid(pid, &st, 0), pid);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char *read_file(const char *path, size_t *len)
{
    struct wxp_err err;
    char *text = NULL;
    if (wxp_file_read(path, 64u * 1024u * 1024u, &text, len, &err) != WXP_OK) {
        fail_msg("%s: %s", path, err.msg);
    }
    assert_non_null(text);
    return text;
}

/* The JSON report, strictly checked (RFC 8259, valid UTF-8) before cJSON sees it. */
static cJSON *read_report(const char *path)
{
    size_t len = 0, bad = 0;
    struct wxp_err err;
    char *text = read_file(path, &len);
    cJSON *root;
    if (wxp_json_check(text, len, &bad, &err) != WXP_OK) {
        fail_msg("%s: not strict JSON at byte %zu: %s", path, bad, err.msg);
    }
    root = cJSON_ParseWithLength(text, len);
    wxp_free(text);
    assert_non_null(root);
    return root;
}

static bool contains(const char *hay, const char *needle)
{
    return strstr(hay, needle) != NULL;
}

static const cJSON *member(const cJSON *obj, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (v == NULL) {
        fail_msg("report: member \"%s\" is missing", name);
    }
    return v;
}

static void want_string(const cJSON *obj, const char *name)
{
    if (!cJSON_IsString(member(obj, name))) {
        fail_msg("report: \"%s\" is not a string", name);
    }
}

static void want_count(const cJSON *obj, const char *name)
{
    const cJSON *v = member(obj, name);
    if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble != (double)v->valueint) {
        fail_msg("report: \"%s\" is not a count", name);
    }
}

static bool one_of(const char *s, const char *const *set)
{
    for (; *set != NULL; set++) {
        if (strcmp(s, *set) == 0) {
            return true;
        }
    }
    return false;
}

/* The documented shape of schema wxpay-conformance/1 (docs/conformance.md#json-report). */
static void check_schema(const cJSON *root, const char *mode)
{
    static const char *const SEVS[] = {"MUST", "SHOULD", "INFO", NULL};
    static const char *const VERDICTS[] = {"pass", "fail", "skip", "error", "unobservable", NULL};
    static const char *const TOP[] = {"schema",  "mode", "target", "generated_at",
                                      "summary", "ok",   "cases",  NULL};
    static const char *const CASE[] = {"id",          "operation", "title",    "rule",
                                       "source",      "severity",  "verdict",  "reason",
                                       "seconds",     "request",   "response", "output",
                                       "exit_status", "sections",  "sources",  NULL};
    const cJSON *summary, *cases, *c;
    const char *at;
    size_t total = 0, sum = 0;

    assert_true(cJSON_IsObject(root));
    for (const cJSON *m = root->child; m != NULL; m = m->next) {
        if (!one_of(m->string, TOP)) {
            fail_msg("report: undocumented member \"%s\"", m->string);
        }
    }
    assert_string_equal(member(root, "schema")->valuestring, "wxpay-conformance/1");
    assert_string_equal(member(root, "mode")->valuestring, mode);
    want_string(root, "target");
    want_string(root, "generated_at");
    at = member(root, "generated_at")->valuestring;
    /* RFC 3339 UTC: 2024-01-02T03:04:05Z */
    assert_int_equal(strlen(at), 20);
    assert_true(at[4] == '-' && at[7] == '-' && at[10] == 'T' && at[13] == ':' && at[16] == ':' &&
                at[19] == 'Z');
    assert_true(cJSON_IsBool(member(root, "ok")));
    summary = member(root, "summary");
    assert_true(cJSON_IsObject(summary));
    for (size_t s = 0; SEVS[s] != NULL; s++) {
        const cJSON *t = member(summary, SEVS[s]);
        want_count(t, "passed");
        want_count(t, "failed");
        want_count(t, "skipped");
        want_count(t, "errors");
        want_count(t, "unobservable");
        sum += (size_t)(member(t, "passed")->valueint + member(t, "failed")->valueint +
                        member(t, "skipped")->valueint + member(t, "errors")->valueint +
                        member(t, "unobservable")->valueint);
    }
    cases = member(root, "cases");
    assert_true(cJSON_IsArray(cases));
    cJSON_ArrayForEach(c, cases)
    {
        assert_true(cJSON_IsObject(c));
        for (const cJSON *m = c->child; m != NULL; m = m->next) {
            if (!one_of(m->string, CASE)) {
                fail_msg("report: undocumented case member \"%s\"", m->string);
            }
        }
        want_string(c, "id");
        want_string(c, "operation");
        assert_non_null(wxp_op_by_name(wxp_str_c(member(c, "operation")->valuestring)));
        want_string(c, "title");
        want_string(c, "rule");
        want_string(c, "source");
        want_string(c, "reason");
        want_string(c, "request");
        want_string(c, "response");
        want_string(c, "output");
        assert_true(one_of(member(c, "severity")->valuestring, SEVS));
        assert_true(one_of(member(c, "verdict")->valuestring, VERDICTS));
        assert_true(cJSON_IsNumber(member(c, "seconds")));
        /* Every case links to its rule: a docs section, and each source key resolved through
         * docs/sources.md to where the source is. */
        {
            const cJSON *x;
            assert_true(cJSON_IsArray(member(c, "sections")));
            assert_true(cJSON_IsArray(member(c, "sources")));
            assert_true(cJSON_GetArraySize(member(c, "sections")) +
                            cJSON_GetArraySize(member(c, "sources")) >
                        0);
            cJSON_ArrayForEach(x, member(c, "sections"))
            {
                assert_true(cJSON_IsString(x) && strncmp(x->valuestring, "docs/", 5) == 0 &&
                            strchr(x->valuestring, '#') != NULL);
            }
            cJSON_ArrayForEach(x, member(c, "sources"))
            {
                want_string(x, "key");
                want_string(x, "where");
                if (member(x, "where")->valuestring[0] == '\0') {
                    fail_msg("%s: source key [%s] is not in docs/sources.md",
                             member(c, "id")->valuestring, member(x, "key")->valuestring);
                }
            }
        }
        if (strcmp(mode, "client") == 0) {
            assert_true(cJSON_IsNumber(member(c, "exit_status")));
        } else {
            assert_null(cJSON_GetObjectItemCaseSensitive(c, "exit_status"));
        }
        total++;
    }
    assert_int_equal(total, sum);
    /* The classes of the summary agree with the counts per severity. */
    {
        const cJSON *cls = member(summary, "classes");
        int must = member(member(summary, "MUST"), "failed")->valueint +
                   member(member(summary, "MUST"), "errors")->valueint;
        int should = member(member(summary, "SHOULD"), "failed")->valueint +
                     member(member(summary, "SHOULD"), "errors")->valueint;
        int info = member(member(summary, "INFO"), "failed")->valueint +
                   member(member(summary, "INFO"), "errors")->valueint;
        assert_true(cJSON_IsObject(cls));
        assert_int_equal(member(cls, "must_failures")->valueint, must);
        assert_int_equal(member(cls, "should_failures")->valueint, should);
        assert_int_equal(member(cls, "info_differences")->valueint, info);
        assert_int_equal(member(cls, "not_observable")->valueint,
                         member(member(summary, "MUST"), "unobservable")->valueint +
                             member(member(summary, "SHOULD"), "unobservable")->valueint +
                             member(member(summary, "INFO"), "unobservable")->valueint);
        assert_int_equal(member(cls, "must_failures")->valueint +
                             member(cls, "should_failures")->valueint +
                             member(cls, "info_differences")->valueint +
                             member(cls, "not_observable")->valueint +
                             member(cls, "skipped")->valueint + member(cls, "passed")->valueint,
                         (int)total);
    }
}

static const cJSON *find_case(const cJSON *root, const char *id)
{
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(root, "cases"))
    {
        if (strcmp(member(c, "id")->valuestring, id) == 0) {
            return c;
        }
    }
    fail_msg("report: no case %s", id);
    return NULL;
}

static void expect_verdict(const cJSON *root, const char *id, const char *verdict)
{
    const cJSON *c = find_case(root, id);
    const char *got = member(c, "verdict")->valuestring;
    if (strcmp(got, verdict) != 0) {
        fail_msg("%s: expected %s, got %s (%s)", id, verdict, got,
                 member(c, "reason")->valuestring);
    }
}

/* Cases of that operation with that verdict. */
static size_t cases_of(const cJSON *root, const char *op, const char *verdict)
{
    const cJSON *c;
    size_t n = 0;
    cJSON_ArrayForEach(c, member(root, "cases"))
    {
        n += strcmp(member(c, "operation")->valuestring, op) == 0 &&
             strcmp(member(c, "verdict")->valuestring, verdict) == 0;
    }
    return n;
}

static size_t every_must_passed(const cJSON *root)
{
    const cJSON *c;
    size_t n = 0;
    cJSON_ArrayForEach(c, member(root, "cases"))
    {
        if (strcmp(member(c, "severity")->valuestring, "MUST") == 0 &&
            strcmp(member(c, "verdict")->valuestring, "pass") != 0) {
            fail_msg("MUST case %s: %s: %s", member(c, "id")->valuestring,
                     member(c, "verdict")->valuestring, member(c, "reason")->valuestring);
        }
        n++;
    }
    assert_true(cJSON_IsTrue(member(root, "ok")));
    assert_int_equal(member(member(member(root, "summary"), "MUST"), "failed")->valueint, 0);
    return n;
}

static void test_conformance_server_vs_mock(void **state)
{
    char json[512];
    cJSON *root;
    (void)state;
    tmp_path(json, sizeof json, "server.json");
    /* with the TEST merchant's APIv3 key, CERTS-005 decrypts the mock's certificates */
    const char *argv[] = {
        CONF_BIN, "server",           "--json",
        json,     "--apiv3-key-file", WXP_FIXTURES_DIR "/keys/test-merchant-a.apiv3.key",
        NULL};
    assert_int_equal(run(argv), 0);
    root = read_report(json);
    check_schema(root, "server");
    expect_verdict(root, "CERTS-005", "pass");
    assert_true(every_must_passed(root) >= 40);
    /* Every operation of the table is graded, and the lifecycle runs end to end (the bundled mock
     * offers the admin API, so it is a pass, not "not applicable"). */
    for (size_t i = 0; i < WXP_OP_COUNT; i++) {
        assert_true(cases_of(root, WXP_OPS[i].name, "pass") >= 4);
    }
    expect_verdict(root, "LIFE-001", "pass");
    expect_verdict(root, "QOPENID-001", "pass");
    expect_verdict(root, "QOPENID-002", "pass");
    cJSON_Delete(root);
}

/* The earlier terminate-by-openid cases keep their ids and operation: 94 server (93, plus SIG-008
 * and TS-007, less ERR-003, now graded on a refused second apply), 42 client. */
static void test_conformance_terminate_cases_kept(void **state)
{
    char out[512];
    cJSON *root;
    size_t len = 0, server = 0, client = 0;
    char *text;
    const cJSON *c;
    (void)state;
    tmp_path(out, sizeof out, "list.json");
    const char *argv[] = {CONF_BIN, "list", "--json", NULL};
    assert_int_equal(run_to(argv, out), 0);
    text = read_file(out, &len);
    root = cJSON_ParseWithLength(text, len);
    wxp_free(text);
    assert_non_null(root);
    cJSON_ArrayForEach(c, root)
    {
        if (strcmp(member(c, "operation")->valuestring,
                   "payscore.permissions.terminate-by-openid") != 0) {
            continue;
        }
        if (strcmp(member(c, "mode")->valuestring, "server") == 0) {
            server++;
        } else {
            client++;
        }
    }
    assert_int_equal(server, 94);
    assert_int_equal(client, 52);
    cJSON_Delete(root);
}

/* wxpay-mock started with --admin-token does not let the runner play the user's consent: the
 * cases that need it are not applicable (skip, with the reason), never passes or failures. */
static void test_conformance_lifecycle_not_applicable(void **state)
{
    char json[512], xml[512], wrapper[512];
    cJSON *root;
    FILE *f;
    char *text;
    size_t len = 0;
    (void)state;
    tmp_path(json, sizeof json, "na.json");
    tmp_path(xml, sizeof xml, "na.xml");
    tmp_path(wrapper, sizeof wrapper, "mock-with-token.sh");
    f = fopen(wrapper, "w");
    assert_non_null(f);
    fprintf(f, "#!/bin/sh\nexec '%s' --admin-token conformance-test \"$@\"\n", MOCK_BIN);
    fclose(f);
    assert_int_equal(chmod(wrapper, 0700), 0);
    const char *argv[] = {CONF_BIN, "server", "--mock",  wrapper, "--only", "LIFE-001,TCODE-001",
                          "--json", json,     "--junit", xml,     NULL};
    assert_int_equal(run(argv), 0);
    root = read_report(json);
    check_schema(root, "server");
    expect_verdict(root, "LIFE-001", "skip");
    expect_verdict(root, "TCODE-001", "skip");
    assert_true(strncmp(member(find_case(root, "LIFE-001"), "reason")->valuestring,
                        "not applicable: ", 16) == 0);
    assert_true(cJSON_IsTrue(member(root, "ok")));
    cJSON_Delete(root);
    text = read_file(xml, &len);
    assert_true(contains(text, "<skipped message=\"not applicable: the server does not offer "
                               "/__admin/payscore/user-accept"));
    assert_false(contains(text, "<failure"));
    wxp_free(text);
}

/* A client script built on wxpay's generic signed request (tests/ops-client.sh), which can be
 * told to make a known mistake. */
#define OPS_CMD "bash " OPS_CLIENT " " WXPAY_CLI_BIN

static const char WXPAY_CMD[] =
    WXPAY_CLI_BIN " payscore permissions terminate --openid \"$WXPAY_OPENID\" --service-id "
                  "\"$WXPAY_SERVICE_ID\" --appid \"$WXPAY_APPID\" --reason \"$WXPAY_REASON\"";

static const char *const WXPAY_ALSO_PASSES[] = {"CLI-REQ-012",
                                                "CLI-RESP-032",
                                                "CLI-RESP-033",
                                                "CLI-RESP-034",
                                                "CLI-RESP-035",
                                                "CLI-RESP-036",
                                                "CLI-RESP-037",
                                                "CLI-RESP-038",
                                                "CLI-RESP-039",
                                                "CLI-RESP-040",
                                                NULL};

/* The reference client for every operation: `wxpay call --from-env` reads WXPAY_OPERATION and the
 * WXPAY_<NAME> parameters; every MUST case of every operation passes. */
static void test_conformance_client_wxpay(void **state)
{
    char json[512];
    cJSON *root;
    (void)state;
    tmp_path(json, sizeof json, "client-wxpay.json");
    const char *argv[] = {CONF_BIN, "client", "--cmd", WXPAY_CLI_BIN " call --from-env",
                          "--json", json,     NULL};
    assert_int_equal(run(argv), 0);
    root = read_report(json);
    check_schema(root, "client");
    assert_true(every_must_passed(root) >= 15);
    for (size_t i = 0; i < WXP_OP_COUNT; i++) {
        assert_true(cases_of(root, WXP_OPS[i].name, "pass") >= 3);
    }
    /* wxpay writes WXPAY_RESULT_FILE ("verified": false on a forged signed error), refuses every
     * malformed Wechatpay-Timestamp and sends an upper-case serial_no. */
    for (size_t i = 0; WXPAY_ALSO_PASSES[i] != NULL; i++) {
        expect_verdict(root, WXPAY_ALSO_PASSES[i], "pass");
    }
    cJSON_Delete(root);
}

/* A result file that is not the contract's JSON fails the cases that grade it (never a pass, never
 * "not observable"); the cases that do not grade it ignore it. */
static void test_conformance_result_file_malformed(void **state)
{
    static const struct {
        const char *text;
        const char *reason;
        int line;
    } ROWS[] = {
        {"{\\\"verified\\\":\\\"no\\\"}", "\"verified\" is not a boolean", __LINE__},
        {"{\\\"status\\\":400}", "\"verified\" is missing", __LINE__},
        {"[false]", "not one JSON object", __LINE__},
        {"{\\\"verified\\\":false}x", "not one JSON object", __LINE__},
        {"{\\\"verified\\\":false,\\\"code\\\":5}", "\"code\" is not a string", __LINE__},
    };
    char json[512], cmd[1024];
    (void)state;
    tmp_path(json, sizeof json, "result-malformed.json");
    for (size_t r = 0; r < sizeof ROWS / sizeof ROWS[0]; r++) {
        cJSON *root;
        snprintf(cmd, sizeof cmd,
                 "%s call --from-env >/dev/null 2>&1; rc=$?; printf '%%s' \"%s\" "
                 ">\"$WXPAY_RESULT_FILE\"; exit $rc",
                 WXPAY_CLI_BIN, ROWS[r].text);
        const char *argv[] = {CONF_BIN, "client", "--only", "CLI-RESP-001,CLI-RESP-032",
                              "--cmd",  cmd,      "--json", json,
                              NULL};
        assert_int_equal(run(argv), 1);
        root = read_report(json);
        expect_verdict(root, "CLI-RESP-001", "pass");
        expect_verdict(root, "CLI-RESP-032", "fail");
        if (!contains(member(find_case(root, "CLI-RESP-032"), "reason")->valuestring,
                      ROWS[r].reason)) {
            fail_msg("row at line %d: %s", ROWS[r].line,
                     member(find_case(root, "CLI-RESP-032"), "reason")->valuestring);
        }
        cJSON_Delete(root);
    }
}

/* Each mode of examples/broken-client.sh breaks one rule: a run over the cases of its two
 * operations fails exactly these ids (MUST unless said), and the mode without a bug fails none. */
static void test_conformance_broken_clients(void **state)
{
    static const struct {
        const char *bug;
        const char *fails[4];
        const char *severity;
        int exit_status;
        /* --only: the broken rule's cases and their neighbours (a full run of a shell client is
         * ~12 s, so only the correct one gets it); NULL: every case of the two operations */
        const char *only;
        size_t passes; /* at least */
        int line;
    } ROWS[] = {
        {"", {NULL}, NULL, 0, NULL, 50, __LINE__},
        {"ignore-error-signatures",
         {"CLI-RESP-032", "CLI-RESP-033", "CLI-RESP-034", NULL},
         "MUST",
         1,
         "CLI-RESP-001,CLI-RESP-002,CLI-RESP-023,CLI-RESP-028,CLI-RESP-032,CLI-RESP-033,"
         "CLI-RESP-034",
         4,
         __LINE__},
        {"trust-nan-timestamp",
         {"CLI-RESP-035", NULL},
         "MUST",
         1,
         "CLI-RESP-001,CLI-RESP-005,CLI-RESP-006,CLI-RESP-011,CLI-RESP-035,CLI-RESP-036,"
         "CLI-RESP-037,CLI-RESP-038,CLI-RESP-039",
         8,
         __LINE__},
        {"lowercase-serial",
         {"CLI-REQ-012", NULL},
         "SHOULD",
         0,
         "CLI-REQ-001,CLI-REQ-002,CLI-REQ-012,CLI-RESP-001",
         3,
         __LINE__},
        {"double-question-mark",
         {"CLI-OP-003", NULL},
         "MUST",
         1,
         "CLI-OP-001,CLI-OP-002,CLI-OP-003,CLI-OP-006,CLI-OPR-001",
         4,
         __LINE__},
    };
    char json[512], cmd[1024];
    (void)state;
    tmp_path(json, sizeof json, "broken.json");
    for (size_t r = 0; r < sizeof ROWS / sizeof ROWS[0]; r++) {
        const cJSON *c;
        cJSON *root;
        size_t failed = 0, passed = 0;
        snprintf(cmd, sizeof cmd, "bash %s %s", BROKEN_CLIENT, ROWS[r].bug);
        const char *argv[] = {CONF_BIN,
                              "client",
                              "--cmd",
                              cmd,
                              "--operations",
                              "payscore.permissions.terminate-by-openid,"
                              "payscore.permissions.query-by-openid",
                              "--json",
                              json,
                              ROWS[r].only != NULL ? "--only" : NULL,
                              ROWS[r].only,
                              NULL};
        if (run(argv) != ROWS[r].exit_status) {
            fail_msg("row at line %d: exit status", ROWS[r].line);
        }
        root = read_report(json);
        cJSON_ArrayForEach(c, member(root, "cases"))
        {
            const char *id = member(c, "id")->valuestring;
            const char *v = member(c, "verdict")->valuestring;
            bool want = false;
            for (size_t k = 0; ROWS[r].fails[k] != NULL; k++) {
                want = want || strcmp(ROWS[r].fails[k], id) == 0;
            }
            passed += strcmp(v, "pass") == 0;
            /* INFO cases are reported only (the exactly-300-s ones race a shell's clock). */
            if (strcmp(member(c, "severity")->valuestring, "INFO") == 0) {
                continue;
            }
            if (strcmp(v, "pass") != 0 && strcmp(v, "skip") != 0) {
                if (!want || strcmp(v, "fail") != 0) {
                    fail_msg("row at line %d: %s is %s: %s", ROWS[r].line, id, v,
                             member(c, "reason")->valuestring);
                }
                failed++;
            }
        }
        if (ROWS[r].fails[0] != NULL) {
            assert_string_equal(member(find_case(root, ROWS[r].fails[0]), "severity")->valuestring,
                                ROWS[r].severity);
        }
        for (size_t k = 0; ROWS[r].fails[k] != NULL; k++) {
            failed--;
        }
        if (failed != 0 || passed < ROWS[r].passes) {
            fail_msg("row at line %d: %zu failures missing, %zu passes", ROWS[r].line, failed,
                     passed);
        }
        cJSON_Delete(root);
    }
}

/* wxpay's terminate command alone, declared with --operations: the other operations' cases are
 * not applicable (skip, JUnit <skipped>), the command is not run for them, and the run passes. */
static void test_conformance_client_operations_option(void **state)
{
    char json[512], xml[512];
    cJSON *root;
    const cJSON *c;
    char *text;
    size_t len = 0, na = 0;
    (void)state;
    tmp_path(json, sizeof json, "client-ops.json");
    tmp_path(xml, sizeof xml, "client-ops.xml");
    const char *argv[] = {CONF_BIN,
                          "client",
                          "--cmd",
                          WXPAY_CMD,
                          "--operations",
                          "payscore.permissions.terminate-by-openid",
                          "--json",
                          json,
                          "--junit",
                          xml,
                          NULL};
    assert_int_equal(run(argv), 0);
    root = read_report(json);
    check_schema(root, "client");
    assert_true(cases_of(root, "payscore.permissions.terminate-by-openid", "pass") >= 30);
    cJSON_ArrayForEach(c, member(root, "cases"))
    {
        if (strcmp(member(c, "operation")->valuestring,
                   "payscore.permissions.terminate-by-openid") == 0) {
            continue;
        }
        assert_string_equal(member(c, "verdict")->valuestring, "skip");
        assert_true(strncmp(member(c, "reason")->valuestring, "not applicable: ", 16) == 0);
        assert_int_equal(member(c, "exit_status")->valueint, -1);
        na++;
    }
    assert_true(na >= 20);
    cJSON_Delete(root);
    text = read_file(xml, &len);
    assert_true(contains(text, "classname=\"wxpay-conformance.client.payscore.permissions."
                               "query-by-openid\""));
    assert_true(contains(text, "<skipped message=\"not applicable: payscore.permissions.apply is "
                               "not among --operations\"/>"));
    assert_false(contains(text, "<failure"));
    wxp_free(text);
    /* The same command without --operations (a client written before WXPAY_OPERATION): asked
     * for a query, it terminates; the case is not applicable and the run stays green. */
    const char *implicit[] = {CONF_BIN,  "client", "--cmd",
                              WXPAY_CMD, "--only", "CLI-REQ-001,CLI-OP-001,CLI-OPR-009",
                              "--json",  json,     NULL};
    assert_int_equal(run(implicit), 0);
    root = read_report(json);
    expect_verdict(root, "CLI-REQ-001", "pass");
    expect_verdict(root, "CLI-OP-001", "skip");
    expect_verdict(root, "CLI-OPR-009", "skip");
    assert_true(contains(member(find_case(root, "CLI-OP-001"), "reason")->valuestring,
                         "not applicable: asked for payscore.permissions.query-by-openid, the "
                         "client called payscore.permissions.terminate-by-openid"));
    cJSON_Delete(root);
    /* An operation name the table does not have is a usage error. */
    const char *bad[] = {CONF_BIN,       "client",        "--cmd", WXPAY_CMD,
                         "--operations", "payscore.nope", NULL};
    assert_int_equal(run(bad), 2);
    const char *empty[] = {CONF_BIN, "client", "--cmd", WXPAY_CMD, "--operations", ",", NULL};
    assert_int_equal(run(empty), 2);
}

/* A client that believes any answer (wxpay's exit status thrown away) is caught by every forged or
 * tampered success of the new operations, and still passes the valid ones. */
static void test_conformance_client_believes_forged_200(void **state)
{
    static const char *const FAIL[] = {"CLI-OPR-002", "CLI-OPR-003", "CLI-OPR-004", "CLI-OPR-006",
                                       "CLI-OPR-008", "CLI-OPR-010", NULL};
    char json[512];
    cJSON *root;
    (void)state;
    tmp_path(json, sizeof json, "client-believer.json");
    const char *argv[] = {CONF_BIN,
                          "client",
                          "--cmd",
                          OPS_CMD "; exit 0",
                          "--only",
                          "CLI-OPR-001,CLI-OPR-002,CLI-OPR-003,CLI-OPR-004,CLI-OPR-006,CLI-OPR-007,"
                          "CLI-OPR-008,CLI-OPR-010",
                          "--json",
                          json,
                          NULL};
    assert_int_equal(run(argv), 1);
    root = read_report(json);
    for (size_t i = 0; FAIL[i] != NULL; i++) {
        expect_verdict(root, FAIL[i], "fail");
    }
    expect_verdict(root, "CLI-OPR-001", "pass");
    expect_verdict(root, "CLI-OPR-007", "pass");
    cJSON_Delete(root);
}

/* A client that builds ?service_id=X?appid=Y fails the query MUST case (and only the checks that
 * look at the query); the same client without the bug passes it. */
static void test_conformance_client_second_question_mark(void **state)
{
    char json[512];
    cJSON *root;
    (void)state;
    tmp_path(json, sizeof json, "client-qq.json");
    const char *bug[] = {CONF_BIN, "client",
                         "--cmd",  OPS_CMD " second-question-mark",
                         "--only", "CLI-OP-001,CLI-OP-003,CLI-OP-006",
                         "--json", json,
                         NULL};
    const char *good[] = {CONF_BIN,     "client", "--cmd", OPS_CMD, "--only",
                          "CLI-OP-003", "--json", json,    NULL};
    assert_int_equal(run(bug), 1);
    root = read_report(json);
    expect_verdict(root, "CLI-OP-003", "fail");
    assert_true(contains(member(find_case(root, "CLI-OP-003"), "reason")->valuestring,
                         "a second '?' in the target"));
    assert_string_equal(member(find_case(root, "CLI-OP-003"), "severity")->valuestring, "MUST");
    expect_verdict(root, "CLI-OP-001", "pass");
    cJSON_Delete(root);
    assert_int_equal(run(good), 0);
    root = read_report(json);
    expect_verdict(root, "CLI-OP-003", "pass");
    cJSON_Delete(root);
}

/* The careless client signs its requests correctly but believes any 2xx: it must pass the
 * request cases and the valid 204, and fail every forged-2xx case (cases/client.json). */
static void test_conformance_client_careless(void **state)
{
    static const char *const PASS[] = {"CLI-REQ-001", "CLI-REQ-002",  "CLI-REQ-003",
                                       "CLI-REQ-005", "CLI-REQ-007",  "CLI-REQ-008",
                                       "CLI-REQ-009", "CLI-RESP-001", NULL};
    static const char *const FAIL[] = {
        "CLI-RESP-002", "CLI-RESP-003", "CLI-RESP-004", "CLI-RESP-005",
        "CLI-RESP-006", "CLI-RESP-011", "CLI-RESP-012", "CLI-RESP-013",
        "CLI-RESP-014", "CLI-RESP-015", "CLI-RESP-016", "CLI-RESP-035",
        "CLI-RESP-036", "CLI-RESP-037", "CLI-RESP-038", NULL};
    /* It writes no result file: the cases that grade what it concluded are not observable. */
    static const char *const UNOBSERVED[] = {"CLI-RESP-032", "CLI-RESP-033", "CLI-RESP-034", NULL};
    char json[512];
    cJSON *root;
    (void)state;
    tmp_path(json, sizeof json, "client-careless.json");
    const char *argv[] = {CONF_BIN, "client", "--cmd", CARELESS_CLIENT, "--json", json, NULL};
    assert_int_equal(run(argv), 1);
    root = read_report(json);
    check_schema(root, "client");
    assert_true(cJSON_IsFalse(member(root, "ok")));
    for (size_t i = 0; PASS[i] != NULL; i++) {
        expect_verdict(root, PASS[i], "pass");
    }
    for (size_t i = 0; FAIL[i] != NULL; i++) {
        expect_verdict(root, FAIL[i], "fail");
        assert_int_equal(member(find_case(root, FAIL[i]), "exit_status")->valueint, 0);
    }
    for (size_t i = 0; UNOBSERVED[i] != NULL; i++) {
        expect_verdict(root, UNOBSERVED[i], "unobservable");
        assert_true(contains(member(find_case(root, UNOBSERVED[i]), "reason")->valuestring,
                             "not observable without a result file"));
    }
    assert_int_equal(member(member(member(root, "summary"), "MUST"), "unobservable")->valueint, 2);
    assert_int_equal(member(member(member(root, "summary"), "SHOULD"), "unobservable")->valueint,
                     1);
    /* It implements terminate-by-openid only and exits 64 for the rest: not applicable. */
    expect_verdict(root, "CLI-OP-003", "skip");
    expect_verdict(root, "CLI-OPR-002", "skip");
    assert_int_equal(member(find_case(root, "CLI-OPR-002"), "exit_status")->valueint, 64);
    assert_true(contains(member(find_case(root, "CLI-OPR-002"), "reason")->valuestring,
                         "not applicable: the client does not support "
                         "payscore.permissions.query-by-openid"));
    assert_int_equal(cases_of(root, "payscore.permissions.apply", "fail"), 0);
    cJSON_Delete(root);
}

/* All three report files from one run that has both passes and failures. */
static void test_conformance_reports_written(void **state)
{
    static const char *const IDS[] = {"CLI-REQ-001", "CLI-RESP-001", "CLI-RESP-002", NULL};
    char json[512], xml[512], html[512];
    char *text;
    size_t len = 0;
    cJSON *root;
    DIR *d;
    struct dirent *e;
    (void)state;
    tmp_path(json, sizeof json, "r.json");
    tmp_path(xml, sizeof xml, "r.xml");
    tmp_path(html, sizeof html, "r.html");
    const char *argv[] = {CONF_BIN,  "client",
                          "--cmd",   CARELESS_CLIENT,
                          "--only",  "CLI-REQ-001,CLI-RESP-001",
                          "--only",  "CLI-RESP-002",
                          "--junit", xml,
                          "--json",  json,
                          "--html",  html,
                          NULL};
    assert_int_equal(run(argv), 1);

    root = read_report(json);
    check_schema(root, "client");
    assert_int_equal(cJSON_GetArraySize(member(root, "cases")), 3);
    expect_verdict(root, "CLI-RESP-002", "fail");
    assert_int_equal(member(member(member(root, "summary"), "MUST"), "failed")->valueint, 1);
    cJSON_Delete(root);

    text = read_file(xml, &len);
    assert_true(contains(text, "<testsuite name=\"wxpay-conformance client\" tests=\"3\" "
                               "failures=\"1\" errors=\"0\" skipped=\"0\""));
    assert_true(contains(
        text, "classname=\"wxpay-conformance.client.payscore.permissions.terminate-by-openid\" "
              "name=\"CLI-RESP-002 "));
    assert_true(contains(text, "<failure message=\""));
    assert_true(contains(text, "type=\"MUST\""));
    wxp_free(text);
    if (access("/usr/bin/python3", X_OK) != 0 && system("command -v python3 >/dev/null") != 0) {
        skip();
    }
    {
        const char *py[] = {"/bin/sh", "-c",
                            "python3 -c 'import sys,xml.dom.minidom; "
                            "xml.dom.minidom.parse(sys.argv[1])' \"$0\"",
                            xml, NULL};
        assert_int_equal(run(py), 0);
    }

    text = read_file(html, &len);
    assert_true(contains(text, "<!DOCTYPE html>"));
    assert_true(contains(text, "<details>"));
    assert_false(contains(text, "<script"));
    assert_false(contains(text, "src=\""));
    assert_false(contains(text, "href=\""));
    for (size_t i = 0; IDS[i] != NULL; i++) {
        assert_true(contains(text, IDS[i]));
    }
    wxp_free(text);

    /* Written atomically: no temporary file is left behind. */
    d = opendir(tmpdir);
    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        if (strstr(e->d_name, ".tmp.") != NULL) {
            fail_msg("temporary file left: %s", e->d_name);
        }
    }
    closedir(d);
}

static void test_conformance_usage_errors(void **state)
{
    const char *unknown[] = {CONF_BIN, "server", "--bogus", NULL};
    const char *no_cmd[] = {CONF_BIN, "client", NULL};
    const char *bad_only[] = {CONF_BIN, "server", "--only", "NOPE-999", NULL};
    const char *bad_timeout[] = {CONF_BIN, "server", "--timeout-ms", "0", NULL};
    const char *nothing[] = {CONF_BIN, NULL};
    const char *list[] = {CONF_BIN, "list", "--mode", "client", NULL};
    const char *help[] = {CONF_BIN, "--help", NULL};
    (void)state;
    assert_int_equal(run(unknown), 2);
    assert_int_equal(run(no_cmd), 2);
    assert_int_equal(run(bad_only), 2);
    assert_int_equal(run(bad_timeout), 2);
    assert_int_equal(run(nothing), 2);
    assert_int_equal(run(list), 0);
    assert_int_equal(run(help), 0);
}

static void test_conformance_mock_missing(void **state)
{
    const char *argv[] = {CONF_BIN, "server", "--mock", "/nonexistent/wxpay-mock", NULL};
    (void)state;
    assert_int_equal(run(argv), 3);
}

/* ---- diagnostics: -v, runs that stop early, JUnit against the exit status ------------------- */

/* No line of the PEM private key in `path` appears in `text`. */
static void no_key_material(const char *text, const char *path)
{
    size_t len = 0;
    char *key = read_file(path, &len);
    const char *line = strchr(key, '\n');
    char first[65];
    assert_non_null(line);
    snprintf(first, sizeof first, "%.64s", line + 1);
    assert_int_equal(strlen(first), 64);
    assert_false(contains(text, "PRIVATE KEY"));
    if (contains(text, first)) {
        fail_msg("the output holds a line of the private key %s", path);
    }
    wxp_free(key);
}

/* A failing case shows what was sent and received: in the summary, cut (12 lines of each, 200
 * bytes a line), with its rule and where its sources are; with -v also after its progress line
 * (40 lines, 640 bytes a line). A merchant key the bundled mock does not know makes it refuse
 * SIG-001's valid request. */
static void test_conformance_verbose_shows_exchange(void **state)
{
    char out[512], key[512];
    char *text;
    size_t len = 0;
    (void)state;
    tmp_path(out, sizeof out, "verbose.txt");
    snprintf(key, sizeof key, "%s/keys/test-merchant-b.key.pem", WXP_FIXTURES_DIR);
    const char *quiet[] = {CONF_BIN, "server", "--mch-key", key, "--only", "SIG-001", NULL};
    const char *verbose[] = {CONF_BIN, "server", "--mch-key", key, "--only", "SIG-001", "-v", NULL};

    assert_int_equal(run_to(quiet, out), 1);
    text = read_file(out, &len);
    assert_true(contains(text, "expected 204, got 401"));
    assert_true(contains(text, "MUST SIG-001 failed: "));
    assert_true(contains(text, "see: docs/protocol.md#"));
    assert_true(contains(text, "source [D-TERM]: https://pay.weixin.qq.com/"));
    assert_true(contains(text, "--- sent ("));
    assert_true(contains(text, "POST /v3/payscore/permissions/openid/"));
    assert_true(contains(text, "[cut: the line has "));
    assert_true(contains(text, "--- received ("));
    assert_true(contains(text, "HTTP/1.1 401"));
    assert_true(contains(text, "MUST failures                  1"));
    no_key_material(text, key);
    wxp_free(text);

    assert_int_equal(run_to(verbose, out), 1);
    text = read_file(out, &len);
    assert_true(contains(text, "--- sent ("));
    assert_true(contains(text, "POST /v3/payscore/permissions/openid/"));
    assert_true(contains(text, "Authorization: WECHATPAY2-SHA256-RSA2048 mchid=\"1900000109\""));
    assert_true(contains(text, "{\"service_id\":\"500001\""));
    assert_true(contains(text, "--- received ("));
    assert_true(contains(text, "HTTP/1.1 401"));
    assert_true(contains(text, "\"code\":\"SIGN_ERROR\""));
    no_key_material(text, key);
    wxp_free(text);
}

/* What the runner prints of a command's output is bounded: a 5000-byte line is cut with its
 * length, a PEM private key becomes one note, 100 lines become the first few. */
static void test_conformance_output_bounded(void **state)
{
    static const char NOISY[] = "printf '%05000d\\n' 7; cat \"$WXPAY_MCH_KEY\"; i=0; "
                                "while [ $i -lt 100 ]; do echo line$i; i=$((i+1)); done; exit 1";
    char out[512], key[512], xml[512], json[512], html[512];
    char *text;
    size_t len = 0;
    (void)state;
    tmp_path(out, sizeof out, "noisy.txt");
    tmp_path(xml, sizeof xml, "noisy.xml");
    tmp_path(json, sizeof json, "noisy.json");
    tmp_path(html, sizeof html, "noisy.html");
    snprintf(key, sizeof key, "%s/keys/test-merchant-a.key.pem", WXP_FIXTURES_DIR);
    const char *argv[] = {CONF_BIN, "client", "--cmd", NOISY,    "-v", "--junit",
                          xml,      "--json", json,    "--html", html, NULL};
    assert_int_equal(run_to(argv, out), 3);
    /* The report files keep the command's output, but never the key it printed. */
    {
        const char *reports[] = {xml, json, html};
        for (size_t i = 0; i < 3; i++) {
            char *r = read_file(reports[i], &len);
            assert_true(contains(r, "line99"));
            assert_true(contains(r, "[private key material not shown]"));
            no_key_material(r, key);
            wxp_free(r);
        }
    }
    text = read_file(out, &len);
    assert_true(contains(text, "[cut: the line has 5000 bytes]"));
    assert_true(contains(text, "[private key material not shown]"));
    assert_true(contains(text, "line0\n"));
    assert_true(contains(text, "more lines not shown"));
    assert_false(contains(text, "line99"));
    assert_true(len < 16 * 1024);
    no_key_material(text, key);
    wxp_free(text);
}

/* A command that is not found stops the run after its first case: exit 3, the shell's message on
 * stderr, and reports that hold that one case and say why the run stopped. */
static void test_conformance_client_not_found(void **state)
{
    char out[512], xml[512], json[512];
    char *text;
    size_t len = 0;
    cJSON *root;
    const cJSON *c;
    (void)state;
    tmp_path(out, sizeof out, "notfound.txt");
    tmp_path(xml, sizeof xml, "notfound.xml");
    tmp_path(json, sizeof json, "notfound.json");
    const char *argv[] = {CONF_BIN,  "client", "--cmd",  "wxpay-no-such-client terminate",
                          "--junit", xml,      "--json", json,
                          NULL};
    assert_int_equal(run_to(argv, out), 3);
    text = read_file(out, &len);
    assert_true(contains(text, "wxpay-no-such-client: not found"));
    assert_true(contains(text, "the command could not be run: exit status 127"));
    assert_true(contains(text, "the run stopped after case 1 of "));
    assert_true(contains(text, "Result: STOPPED: "));
    assert_false(contains(text, "[  2/"));
    wxp_free(text);

    text = read_file(xml, &len);
    assert_true(contains(text, "tests=\"1\" failures=\"0\" errors=\"1\""));
    assert_true(contains(text, "<error message=\"the command could not be run: exit status 127"));
    assert_true(contains(text, "the run stopped after case 1 of "));
    wxp_free(text);

    root = read_report(json);
    check_schema(root, "client");
    assert_true(cJSON_IsFalse(member(root, "ok")));
    assert_int_equal(cJSON_GetArraySize(member(root, "cases")), 1);
    c = cJSON_GetArrayItem(member(root, "cases"), 0);
    assert_string_equal(member(c, "verdict")->valuestring, "error");
    assert_int_equal(member(c, "exit_status")->valueint, 127);
    assert_true(contains(member(c, "reason")->valuestring, "the run stopped"));
    cJSON_Delete(root);

    /* The case that stops the run is an <error> whatever its severity (CLI-REQ-004 is SHOULD):
     * the exit status is not 0, so JUnit must not look green. */
    const char *should[] = {CONF_BIN, "client",      "--cmd",   "wxpay-no-such-client terminate",
                            "--only", "CLI-REQ-004", "--junit", xml,
                            "--json", json,          NULL};
    assert_int_equal(run_to(should, out), 3);
    text = read_file(xml, &len);
    assert_true(contains(text, "<error message=\"the command could not be run"));
    assert_true(contains(text, "type=\"SHOULD\""));
    wxp_free(text);
    root = read_report(json);
    assert_true(cJSON_IsFalse(member(root, "ok")));
    cJSON_Delete(root);
}

/* A command that runs but sends no request in the first case (a bash script run with sh that
 * dies on `set -o pipefail`, say) stops the run too, and its stderr is shown. */
static void test_conformance_client_sends_nothing(void **state)
{
    char out[512];
    char *text;
    size_t len = 0;
    (void)state;
    tmp_path(out, sizeof out, "nothing.txt");
    const char *argv[] = {CONF_BIN, "client", "--cmd",
                          "echo 'my-client: Illegal option -o pipefail' >&2; exit 2", NULL};
    assert_int_equal(run_to(argv, out), 3);
    text = read_file(out, &len);
    assert_true(contains(text, "sent no request in the first case (exit status 2)"));
    assert_true(contains(text, "        my-client: Illegal option -o pipefail\n"));
    assert_false(contains(text, "[  2/"));
    wxp_free(text);
}

/* A loopback port bound but not listening: connections to it are refused, and no other process
 * can take it while we hold it. */
static int refused_port(int *fd)
{
    struct sockaddr_in a;
    socklen_t alen = sizeof a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    *fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(*fd >= 0);
    assert_int_equal(bind(*fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(*fd, (struct sockaddr *)&a, &alen), 0);
    return ntohs(a.sin_port);
}

static void test_conformance_server_unreachable(void **state)
{
    char out[512], xml[512], url[128], want[200];
    char *text, *nl;
    size_t len = 0;
    int fd = -1;
    (void)state;
    tmp_path(out, sizeof out, "unreachable.txt");
    tmp_path(xml, sizeof xml, "unreachable.xml");
    snprintf(url, sizeof url, "http://127.0.0.1:%d/base", refused_port(&fd));
    const char *argv[] = {CONF_BIN, "server", "--base-url", url, "--junit", xml, NULL};
    assert_int_equal(run_to(argv, out), 3);
    close(fd);
    text = read_file(out, &len);
    snprintf(want, sizeof want, "wxpay-conformance: cannot reach %s: ", url);
    assert_true(strncmp(text, want, strlen(want)) == 0);
    assert_true(len > strlen(want) + 1);
    nl = strchr(text, '\n');
    assert_non_null(nl);
    assert_int_equal((size_t)(nl - text) + 1, len); /* one line, nothing else */
    wxp_free(text);
    assert_int_equal(access(xml, F_OK), -1);
}

/* A server that answers 404 to everything, in a child (killed by the caller; alarm(2) ends it if
 * a failed assertion skips that). */
static pid_t serve_404(int *port)
{
    static const char ANSWER[] = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n"
                                 "Connection: close\r\n\r\n";
    int fd = -1;
    pid_t pid;
    struct sockaddr_in a;
    socklen_t alen = sizeof a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd, 16), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
    *port = ntohs(a.sin_port);
    fflush(stdout);
    fflush(stderr);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        alarm(60);
        for (;;) {
            char buf[4096];
            size_t got = 0;
            ssize_t n = 0;
            int c = accept(fd, NULL, NULL);
            if (c < 0) {
                continue;
            }
            while (got < sizeof buf - 1 && (n = read(c, buf + got, sizeof buf - 1 - got)) > 0) {
                got += (size_t)n;
                buf[got] = '\0';
                if (strstr(buf, "\r\n\r\n") != NULL) {
                    break;
                }
            }
            n = write(c, ANSWER, sizeof ANSWER - 1);
            (void)n;
            shutdown(c, SHUT_WR);
            while (read(c, buf, sizeof buf) > 0) {
            }
            close(c);
        }
    }
    close(fd);
    return pid;
}

/* Any HTTP answer counts as reachable: a server answering 404 is graded (and fails), exit 1. */
static void test_conformance_server_404_is_reachable(void **state)
{
    char out[512], url[128];
    char *text;
    size_t len = 0;
    int port = 0;
    pid_t pid = serve_404(&port);
    (void)state;
    tmp_path(out, sizeof out, "404.txt");
    snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
    const char *argv[] = {CONF_BIN, "server", "--base-url", url, "--only", "SIG-001", NULL};
    int rc = run_to(argv, out);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    assert_int_equal(rc, 1);
    text = read_file(out, &len);
    assert_false(contains(text, "cannot reach"));
    assert_true(contains(text, "expected 204, got 404"));
    wxp_free(text);
}

/* The new operations' cases grade another server too: one that answers 404 to everything fails
 * the query (GET signing in both orders) and the lifecycle, whose apply set-up fails first (a
 * failure, not "not applicable": only a missing admin step is that). */
static void test_conformance_server_404_fails_operations(void **state)
{
    char json[512], url[128];
    cJSON *root;
    int port = 0;
    pid_t pid = serve_404(&port);
    (void)state;
    tmp_path(json, sizeof json, "404-ops.json");
    snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
    const char *argv[] = {CONF_BIN, "server", "--base-url",
                          url,      "--only", "QOPENID-001,QOPENID-002,LIFE-001",
                          "--json", json,     NULL};
    int rc = run(argv);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    assert_int_equal(rc, 1);
    root = read_report(json);
    expect_verdict(root, "QOPENID-001", "fail");
    expect_verdict(root, "QOPENID-002", "fail");
    assert_true(contains(member(find_case(root, "QOPENID-002"), "reason")->valuestring,
                         "expected 200, got 404"));
    assert_true(contains(member(find_case(root, "QOPENID-002"), "request")->valuestring,
                         "?service_id=500001&appid=wxd678efh567hg6787 HTTP/1.1"));
    expect_verdict(root, "LIFE-001", "fail");
    assert_true(contains(member(find_case(root, "LIFE-001"), "reason")->valuestring,
                         "setup: the setup request payscore.permissions.apply got 404"));
    cJSON_Delete(root);
}

/* JUnit agrees with the exit status: a SHOULD difference alone exits 0 with no <failure> (it is
 * <skipped>); --strict turns it into a <failure> and exit 1; a MUST failure is a <failure> and
 * exit 1 without --strict. The careless client fails CLI-RESP-007 (SHOULD) and CLI-RESP-002
 * (MUST) and passes CLI-RESP-001 (MUST). */
static void test_conformance_junit_agrees_with_exit(void **state)
{
    char xml[512];
    char *text;
    size_t len = 0;
    (void)state;
    tmp_path(xml, sizeof xml, "agree.xml");
    const char *should[] = {CONF_BIN,        "client", "--cmd",
                            CARELESS_CLIENT, "--only", "CLI-RESP-001,CLI-RESP-007",
                            "--junit",       xml,      NULL};
    const char *strict[] = {CONF_BIN,   "client",
                            "--cmd",    CARELESS_CLIENT,
                            "--only",   "CLI-RESP-001,CLI-RESP-007",
                            "--strict", "--junit",
                            xml,        NULL};
    const char *must[] = {CONF_BIN,        "client", "--cmd",
                          CARELESS_CLIENT, "--only", "CLI-RESP-002,CLI-RESP-007",
                          "--junit",       xml,      NULL};

    assert_int_equal(run(should), 0);
    text = read_file(xml, &len);
    assert_true(contains(text, "tests=\"2\" failures=\"0\" errors=\"0\" skipped=\"1\""));
    assert_false(contains(text, "<failure"));
    assert_false(contains(text, "<error"));
    assert_true(contains(text, "<skipped message=\"SHOULD not met (does not fail the run): "));
    wxp_free(text);

    assert_int_equal(run(strict), 1);
    text = read_file(xml, &len);
    assert_true(contains(text, "tests=\"2\" failures=\"1\" errors=\"0\" skipped=\"0\""));
    assert_true(contains(text, "type=\"SHOULD\">"));
    wxp_free(text);

    assert_int_equal(run(must), 1);
    text = read_file(xml, &len);
    assert_true(contains(text, "tests=\"2\" failures=\"1\" errors=\"0\" skipped=\"1\""));
    assert_true(contains(text, "type=\"MUST\">"));
    assert_false(contains(text, "type=\"SHOULD\">"));
    wxp_free(text);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest server[] = {cmocka_unit_test(test_conformance_server_vs_mock)};
    const struct CMUnitTest wxpay[] = {cmocka_unit_test(test_conformance_client_wxpay)};
    const struct CMUnitTest operations[] = {
        cmocka_unit_test(test_conformance_terminate_cases_kept),
        cmocka_unit_test(test_conformance_lifecycle_not_applicable),
        cmocka_unit_test(test_conformance_client_operations_option),
        cmocka_unit_test(test_conformance_client_second_question_mark),
        cmocka_unit_test(test_conformance_client_believes_forged_200),
    };
    const struct CMUnitTest careless[] = {cmocka_unit_test(test_conformance_client_careless)};
    const struct CMUnitTest broken[] = {cmocka_unit_test(test_conformance_result_file_malformed),
                                        cmocka_unit_test(test_conformance_broken_clients)};
    const struct CMUnitTest reports[] = {
        cmocka_unit_test(test_conformance_reports_written),
        cmocka_unit_test(test_conformance_usage_errors),
        cmocka_unit_test(test_conformance_mock_missing),
    };
    const struct CMUnitTest diagnostics[] = {
        cmocka_unit_test(test_conformance_verbose_shows_exchange),
        cmocka_unit_test(test_conformance_output_bounded),
        cmocka_unit_test(test_conformance_client_not_found),
        cmocka_unit_test(test_conformance_client_sends_nothing),
        cmocka_unit_test(test_conformance_server_unreachable),
        cmocka_unit_test(test_conformance_server_404_is_reachable),
        cmocka_unit_test(test_conformance_server_404_fails_operations),
        cmocka_unit_test(test_conformance_junit_agrees_with_exit),
    };
    const char *group = argc > 1 ? argv[1] : "";
    if (strcmp(group, "server_vs_mock") == 0) {
        return cmocka_run_group_tests(server, make_tmpdir, remove_tmpdir);
    }
    if (strcmp(group, "client_wxpay") == 0) {
        return cmocka_run_group_tests(wxpay, make_tmpdir, remove_tmpdir);
    }
    if (strcmp(group, "client_careless") == 0) {
        return cmocka_run_group_tests(careless, make_tmpdir, remove_tmpdir);
    }
    if (strcmp(group, "broken_clients") == 0) {
        return cmocka_run_group_tests(broken, make_tmpdir, remove_tmpdir);
    }
    if (strcmp(group, "operations") == 0) {
        return cmocka_run_group_tests(operations, make_tmpdir, remove_tmpdir);
    }
    if (strcmp(group, "reports") == 0) {
        return cmocka_run_group_tests(reports, make_tmpdir, remove_tmpdir);
    }
    if (strcmp(group, "diagnostics") == 0) {
        return cmocka_run_group_tests(diagnostics, make_tmpdir, remove_tmpdir);
    }
    fprintf(
        stderr,
        "usage: %s server_vs_mock|client_wxpay|client_careless|broken_clients|operations|reports|"
        "diagnostics\n",
        argv[0]);
    return 2;
}
