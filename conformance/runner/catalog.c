/* SPDX-License-Identifier: MIT */
/* catalog.c: loads the case catalogue (cases/server.json, client.json and notify.json, compiled in
 * as NUL-terminated strings) into struct conf_catalog, validating every case strictly. */
#include <stdio.h>
#include <string.h>

#include <cJSON.h>

#include "conf.h"
#include "wxp/json.h"
#include "wxp/mem.h"
#include "wxp/op.h"
#include "wxp/str.h"
#include "wxp/keyfile.h"

/* Generated from cases/server.json, client.json and notify.json by cmake/embed.cmake
 * (conformance/CMakeLists.txt). */
extern const char conf_cases_server[];
extern const char conf_cases_client[];
extern const char conf_cases_notify[];

/* The operation every notify-mode case names: notifications are not calls of the table. */
#define NOTIFY_OPERATION "notification"

/* Outcome buffers are capped: a report keeps what was exchanged, not whatever a server streams. */
#define OUTCOME_EXCHANGE_MAX (256 * 1024)
#define OUTCOME_OUTPUT_MAX (64 * 1024)

static const char *const CASE_KEYS[] = {"_comment", "id",   "operation", "title",  "rule",
                                        "source",   "kind", "param",     "expect", "severity"};
static const char *const SERVER_EXPECT_KEYS[] = {"_comment", "status", "code", "signed"};
static const char *const CLIENT_EXPECT_KEYS[] = {"_comment", "exit", "verified"};
static const char *const NOTIFY_EXPECT_KEYS[] = {"_comment", "answer", "fail_body"};

/* Where an error was found, to name it in messages: "cases/server.json: case 3 (AUTH-003)". */
struct where {
    const char *file;
    size_t index;
    const char *id; /* NULL until the id has been read */
};

static enum wxp_code fail(struct wxp_err *err, enum wxp_code code, const struct where *w,
                          const char *field, const char *what)
{
    char fld[64];
    snprintf(fld, sizeof fld, "cases[%zu].%s", w->index, field);
    return wxp_err_set(err, code, fld, "%s: case %zu%s%s%s: field \"%s\": %s", w->file, w->index,
                       w->id ? " (" : "", w->id ? w->id : "", w->id ? ")" : "", field, what);
}

static bool key_known(const char *key, const char *const *keys, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(key, keys[i]) == 0) {
            return true;
        }
    }
    return false;
}

/* cJSON keeps duplicate members (and finds the first); a catalogue must not have any. Also
 * rejects members no reader would look at, so a misspelt field is an error, not a default. */
static enum wxp_code check_members(const cJSON *obj, const char *const *keys, size_t nkeys,
                                   const struct where *w, const char *prefix, struct wxp_err *err)
{
    char what[160];
    for (const cJSON *a = obj->child; a != NULL; a = a->next) {
        if (!key_known(a->string, keys, nkeys)) {
            snprintf(what, sizeof what, "unknown member \"%s%s\"", prefix,
                     wxp_name_shown(a->string));
            return fail(err, WXP_E_INVALID_ARG, w, wxp_name_shown(a->string), what);
        }
        for (const cJSON *b = a->next; b != NULL; b = b->next) {
            if (strcmp(a->string, b->string) == 0) {
                snprintf(what, sizeof what, "member \"%s%s\" appears twice", prefix, a->string);
                return fail(err, WXP_E_JSON_DUPLICATE_KEY, w, a->string, what);
            }
        }
    }
    return WXP_OK;
}

/* ^[A-Z]+(-[A-Z]+)*-[0-9]{3}$ */
static bool id_valid(const char *s)
{
    size_t n = strlen(s);
    size_t letters = 0;
    if (n < 5 || s[n - 4] != '-') {
        return false;
    }
    for (size_t i = n - 3; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
    }
    for (size_t i = 0; i < n - 4; i++) {
        if (s[i] >= 'A' && s[i] <= 'Z') {
            letters++;
        } else if (s[i] == '-' && letters > 0) {
            letters = 0;
        } else {
            return false;
        }
    }
    return letters > 0;
}

/* A required string member (non-empty and one line, except param), copied into *out. */
static enum wxp_code take_string(const cJSON *obj, const char *name, bool nullable,
                                 const struct where *w, char **out, struct wxp_err *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    *out = NULL;
    if (v == NULL) {
        return fail(err, WXP_E_PARAM_MISSING, w, name, "required member is missing");
    }
    if (nullable && cJSON_IsNull(v)) {
        return WXP_OK;
    }
    if (!cJSON_IsString(v)) {
        return fail(err, WXP_E_PARAM_TYPE, w, name,
                    nullable ? "must be a string or null" : "must be a string");
    }
    /* param is the executor's business: any string, even empty or several lines. */
    if (strcmp(name, "param") != 0 && v->valuestring[0] == '\0') {
        return fail(err, WXP_E_PARAM_TOO_SHORT, w, name, "must not be empty");
    }
    if (strcmp(name, "param") != 0 && strpbrk(v->valuestring, "\r\n") != NULL) {
        return fail(err, WXP_E_PARAM_CHARSET, w, name, "must be one line");
    }
    *out = wxp_strndup(v->valuestring, strlen(v->valuestring));
    if (*out == NULL) {
        return wxp_err_set(err, WXP_E_NOMEM, name, NULL);
    }
    return WXP_OK;
}

static enum wxp_code parse_server_expect(const cJSON *e, const struct where *w, struct conf_case *c,
                                         struct wxp_err *err)
{
    const cJSON *status = cJSON_GetObjectItemCaseSensitive(e, "status");
    const cJSON *sig = cJSON_GetObjectItemCaseSensitive(e, "signed");
    enum wxp_code rc =
        check_members(e, SERVER_EXPECT_KEYS,
                      sizeof SERVER_EXPECT_KEYS / sizeof SERVER_EXPECT_KEYS[0], w, "expect.", err);
    if (rc != WXP_OK) {
        return rc;
    }
    if (status == NULL) {
        return fail(err, WXP_E_PARAM_MISSING, w, "expect.status", "required member is missing");
    }
    if (!cJSON_IsNumber(status) || status->valuedouble != (double)status->valueint ||
        (status->valueint != 0 && (status->valueint < 100 || status->valueint > 599))) {
        return fail(err, WXP_E_PARAM_TYPE, w, "expect.status",
                    "must be an HTTP status 100..599, or 0 for any 4xx");
    }
    c->expect_status = status->valueint;
    rc = take_string(e, "code", true, w, &c->expect_code, err);
    if (rc != WXP_OK) {
        return rc;
    }
    if (sig == NULL) {
        return fail(err, WXP_E_PARAM_MISSING, w, "expect.signed", "required member is missing");
    }
    if (!cJSON_IsNumber(sig) || sig->valuedouble != (double)sig->valueint || sig->valueint < -1 ||
        sig->valueint > 1) {
        return fail(err, WXP_E_PARAM_TYPE, w, "expect.signed", "must be 1, 0 or -1");
    }
    c->expect_signed = sig->valueint;
    return WXP_OK;
}

static enum wxp_code parse_client_expect(const cJSON *e, const struct where *w, struct conf_case *c,
                                         struct wxp_err *err)
{
    const cJSON *ex = cJSON_GetObjectItemCaseSensitive(e, "exit");
    const cJSON *ver;
    enum wxp_code rc =
        check_members(e, CLIENT_EXPECT_KEYS,
                      sizeof CLIENT_EXPECT_KEYS / sizeof CLIENT_EXPECT_KEYS[0], w, "expect.", err);
    if (rc != WXP_OK) {
        return rc;
    }
    if (ex == NULL) {
        return fail(err, WXP_E_PARAM_MISSING, w, "expect.exit", "required member is missing");
    }
    if (!cJSON_IsString(ex) ||
        (strcmp(ex->valuestring, "success") != 0 && strcmp(ex->valuestring, "failure") != 0)) {
        return fail(err, WXP_E_PARAM_TYPE, w, "expect.exit", "must be \"success\" or \"failure\"");
    }
    c->expect_status = strcmp(ex->valuestring, "success") == 0 ? 0 : 1;
    c->expect_code = NULL;
    c->expect_signed = -1;
    c->expect_verified = CONF_VERIFIED_ANY;
    /* expect.verified: what the client's result file must say (docs/conformance.md#the-result-file)
     */
    ver = cJSON_GetObjectItemCaseSensitive(e, "verified");
    if (ver == NULL) {
        return WXP_OK;
    }
    if (cJSON_IsString(ver) && strcmp(ver->valuestring, "false") == 0) {
        c->expect_verified = CONF_VERIFIED_FALSE;
    } else if (cJSON_IsString(ver) && strcmp(ver->valuestring, "not true") == 0) {
        c->expect_verified = CONF_VERIFIED_NOT_TRUE;
    } else {
        return fail(err, WXP_E_PARAM_TYPE, w, "expect.verified",
                    "must be \"false\" or \"not true\"");
    }
    return WXP_OK;
}

static enum wxp_code parse_notify_expect(const cJSON *e, const struct where *w, struct conf_case *c,
                                         struct wxp_err *err)
{
    const cJSON *ans = cJSON_GetObjectItemCaseSensitive(e, "answer");
    const cJSON *fb = cJSON_GetObjectItemCaseSensitive(e, "fail_body");
    enum wxp_code rc =
        check_members(e, NOTIFY_EXPECT_KEYS,
                      sizeof NOTIFY_EXPECT_KEYS / sizeof NOTIFY_EXPECT_KEYS[0], w, "expect.", err);
    if (rc != WXP_OK) {
        return rc;
    }
    if (ans == NULL) {
        return fail(err, WXP_E_PARAM_MISSING, w, "expect.answer", "required member is missing");
    }
    if (!cJSON_IsString(ans) ||
        (strcmp(ans->valuestring, "accept") != 0 && strcmp(ans->valuestring, "reject") != 0)) {
        return fail(err, WXP_E_PARAM_TYPE, w, "expect.answer", "must be \"accept\" or \"reject\"");
    }
    c->expect_status = strcmp(ans->valuestring, "accept") == 0 ? 200 : 0;
    c->expect_signed = -1;
    c->expect_verified = CONF_VERIFIED_ANY;
    if (fb != NULL && !cJSON_IsBool(fb)) {
        return fail(err, WXP_E_PARAM_TYPE, w, "expect.fail_body", "must be true or false");
    }
    if (cJSON_IsTrue(fb)) {
        if (c->expect_status != 0) {
            return fail(err, WXP_E_INVALID_ARG, w, "expect.fail_body",
                        "only a refusal (\"answer\": \"reject\") has a FAIL body");
        }
        c->expect_code = wxp_strndup("FAIL", 4);
        if (c->expect_code == NULL) {
            return wxp_err_set(err, WXP_E_NOMEM, "expect.fail_body", NULL);
        }
    }
    return WXP_OK;
}

static enum wxp_code parse_severity(const cJSON *obj, const struct where *w, struct conf_case *c,
                                    struct wxp_err *err)
{
    static const struct {
        const char *name;
        enum conf_severity sev;
    } SEVERITIES[] = {{"MUST", CONF_MUST}, {"SHOULD", CONF_SHOULD}, {"INFO", CONF_INFO}};
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, "severity");
    if (v == NULL) {
        return fail(err, WXP_E_PARAM_MISSING, w, "severity", "required member is missing");
    }
    for (size_t i = 0; cJSON_IsString(v) && i < sizeof SEVERITIES / sizeof SEVERITIES[0]; i++) {
        if (strcmp(v->valuestring, SEVERITIES[i].name) == 0) {
            c->severity = SEVERITIES[i].sev;
            return WXP_OK;
        }
    }
    return fail(err, WXP_E_PARAM_TYPE, w, "severity", "must be \"MUST\", \"SHOULD\" or \"INFO\"");
}

static void case_free(struct conf_case *c)
{
    wxp_free(c->id);
    wxp_free(c->operation);
    wxp_free(c->title);
    wxp_free(c->rule);
    wxp_free(c->source);
    wxp_free(c->kind);
    wxp_free(c->param);
    wxp_free(c->expect_code);
    memset(c, 0, sizeof *c);
}

/* Parses one case object into *c (zeroed by the caller). On failure *c may hold some strings;
 * the caller frees it with case_free. */
static enum wxp_code parse_case(const cJSON *obj, enum conf_mode mode, struct where *w,
                                struct conf_case *c, struct wxp_err *err)
{
    const cJSON *expect;
    enum wxp_code rc;

    if (!cJSON_IsObject(obj)) {
        return fail(err, WXP_E_JSON_NOT_OBJECT, w, "", "a case must be a JSON object");
    }
    rc = take_string(obj, "id", false, w, &c->id, err);
    if (rc != WXP_OK) {
        return rc;
    }
    if (!id_valid(c->id)) {
        return fail(err, WXP_E_PARAM_CHARSET, w, "id",
                    "must look like AUTH-003 (^[A-Z]+(-[A-Z]+)*-[0-9]{3}$)");
    }
    w->id = c->id;
    rc = check_members(obj, CASE_KEYS, sizeof CASE_KEYS / sizeof CASE_KEYS[0], w, "", err);
    if (rc == WXP_OK) {
        rc = take_string(obj, "operation", false, w, &c->operation, err);
    }
    if (rc != WXP_OK) {
        return rc;
    }
    c->op = wxp_op_by_name(wxp_str_c(c->operation));
    if (mode == CONF_NOTIFY && strcmp(c->operation, NOTIFY_OPERATION) != 0) {
        return fail(err, WXP_E_PARAM_CHARSET, w, "operation",
                    "a notify-mode case names the operation \"" NOTIFY_OPERATION "\"");
    }
    if (c->op == NULL && mode != CONF_NOTIFY) {
        return fail(err, WXP_E_PARAM_CHARSET, w, "operation",
                    "not an operation of the table (core/include/wxp/op.h), e.g. "
                    "\"payscore.permissions.terminate-by-openid\"");
    }
    rc = take_string(obj, "title", false, w, &c->title, err);
    if (rc == WXP_OK) {
        rc = take_string(obj, "rule", false, w, &c->rule, err);
    }
    if (rc == WXP_OK) {
        rc = take_string(obj, "source", false, w, &c->source, err);
    }
    if (rc == WXP_OK) {
        rc = parse_severity(obj, w, c, err);
    }
    if (rc == WXP_OK) {
        rc = take_string(obj, "kind", false, w, &c->kind, err);
    }
    if (rc == WXP_OK) {
        rc = take_string(obj, "param", true, w, &c->param, err);
    }
    if (rc != WXP_OK) {
        return rc;
    }
    c->mode = mode;
    expect = cJSON_GetObjectItemCaseSensitive(obj, "expect");
    if (expect == NULL) {
        return fail(err, WXP_E_PARAM_MISSING, w, "expect", "required member is missing");
    }
    if (!cJSON_IsObject(expect)) {
        return fail(err, WXP_E_PARAM_TYPE, w, "expect", "must be an object");
    }
    if (mode == CONF_NOTIFY) {
        return parse_notify_expect(expect, w, c, err);
    }
    return mode == CONF_SERVER ? parse_server_expect(expect, w, c, err)
                               : parse_client_expect(expect, w, c, err);
}

/* Appends the cases of one catalogue file to `cat`. */
static enum wxp_code load_file(struct conf_catalog *cat, const char *file, const char *text,
                               enum conf_mode mode, struct wxp_err *err)
{
    static const char *const ROOT_KEYS[] = {"_comment", "cases"};
    /* `file` in messages: a long path keeps its end, and the reason after it stays whole. */
    char shown[WXP_PATH_IN_MSG];
    struct where w = {wxp_str_tail(shown, sizeof shown, file), 0, NULL};
    size_t len = strlen(text), bad = 0, n;
    const char *end = NULL;
    cJSON *root = NULL;
    const cJSON *cases, *item;
    struct conf_case *grown;
    enum wxp_code rc = wxp_json_check(text, len, &bad, err);

    if (rc != WXP_OK) {
        char why[sizeof err->msg];
        snprintf(why, sizeof why, "%s", err != NULL ? err->msg : "");
        rc = wxp_err_set(err, rc, file, "%s: not strict JSON at byte %zu: %s", shown, bad, why);
        goto out;
    }
    root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (root == NULL) {
        rc = wxp_err_set(err, WXP_E_NOMEM, file, "%s: cJSON could not parse it", shown);
        goto out;
    }
    if (!cJSON_IsObject(root)) {
        rc = wxp_err_set(err, WXP_E_JSON_NOT_OBJECT, file, "%s: the top level must be an object",
                         shown);
        goto out;
    }
    for (const cJSON *a = root->child; a != NULL; a = a->next) {
        if (!key_known(a->string, ROOT_KEYS, sizeof ROOT_KEYS / sizeof ROOT_KEYS[0])) {
            rc = wxp_err_set(err, WXP_E_INVALID_ARG, a->string,
                             "%s: unknown top-level member \"%s\"", shown, a->string);
            goto out;
        }
    }
    cases = cJSON_GetObjectItemCaseSensitive(root, "cases");
    if (!cJSON_IsArray(cases)) {
        rc =
            wxp_err_set(err, WXP_E_PARAM_MISSING, "cases", "%s: \"cases\" must be an array", shown);
        goto out;
    }
    n = (size_t)cJSON_GetArraySize(cases);
    grown = wxp_realloc(cat->cases, (cat->count + n + 1) * sizeof *cat->cases); /* never 0 */
    if (grown == NULL) {
        rc = wxp_err_set(err, WXP_E_NOMEM, file, NULL);
        goto out;
    }
    cat->cases = grown;
    cJSON_ArrayForEach(item, cases)
    {
        struct conf_case *c = &cat->cases[cat->count];
        memset(c, 0, sizeof *c);
        w.id = NULL;
        rc = parse_case(item, mode, &w, c, err);
        for (size_t j = 0; rc == WXP_OK && j < cat->count; j++) {
            if (strcmp(cat->cases[j].id, c->id) == 0) {
                rc = fail(err, WXP_E_INVALID_ARG, &w, "id",
                          "this id is already used by another case (ids are unique across "
                          "server.json, client.json and notify.json)");
            }
        }
        if (rc != WXP_OK) {
            case_free(c);
            goto out;
        }
        cat->count++;
        w.index++;
    }
out:
    cJSON_Delete(root);
    return rc;
}

enum wxp_code conf_catalog_load(struct conf_catalog *cat, struct wxp_err *err)
{
    enum wxp_code rc;
    memset(cat, 0, sizeof *cat);
    wxp_err_clear(err);
    rc = load_file(cat, "cases/server.json", conf_cases_server, CONF_SERVER, err);
    if (rc == WXP_OK) {
        rc = load_file(cat, "cases/client.json", conf_cases_client, CONF_CLIENT, err);
    }
    if (rc == WXP_OK) {
        rc = load_file(cat, "cases/notify.json", conf_cases_notify, CONF_NOTIFY, err);
    }
    if (rc != WXP_OK) {
        conf_catalog_free(cat);
    }
    return rc;
}

void conf_catalog_free(struct conf_catalog *cat)
{
    if (cat == NULL) {
        return;
    }
    for (size_t i = 0; i < cat->count; i++) {
        case_free(&cat->cases[i]);
    }
    wxp_free(cat->cases);
    cat->cases = NULL;
    cat->count = 0;
}

const char *conf_severity_name(enum conf_severity s)
{
    switch (s) {
    case CONF_MUST:
        return "MUST";
    case CONF_SHOULD:
        return "SHOULD";
    case CONF_INFO:
        return "INFO";
    }
    return "?";
}

const char *conf_mode_name(enum conf_mode m)
{
    switch (m) {
    case CONF_SERVER:
        return "server";
    case CONF_CLIENT:
        return "client";
    case CONF_NOTIFY:
        break;
    }
    return "notify";
}

const char *conf_verdict_name(enum conf_verdict v)
{
    switch (v) {
    case CONF_PASS:
        return "pass";
    case CONF_FAIL:
        return "fail";
    case CONF_SKIP:
        return "skip";
    case CONF_ERROR:
        return "error";
    case CONF_UNOBSERVED:
        return "unobservable";
    }
    return "?";
}

void conf_outcome_init(struct conf_outcome *o)
{
    memset(o, 0, sizeof *o);
    /* A case passes unless its executor finds otherwise; executors set FAIL/SKIP/ERROR with a
     * reason. */
    o->verdict = CONF_PASS;
    wxp_buf_init(&o->request, OUTCOME_EXCHANGE_MAX);
    wxp_buf_init(&o->response, OUTCOME_EXCHANGE_MAX);
    wxp_buf_init(&o->output, OUTCOME_OUTPUT_MAX);
    o->exit_status = -1;
}

void conf_outcome_free(struct conf_outcome *o)
{
    if (o == NULL) {
        return;
    }
    wxp_buf_free(&o->request);
    wxp_buf_free(&o->response);
    wxp_buf_free(&o->output);
}
