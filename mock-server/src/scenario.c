/* SPDX-License-Identifier: MIT */
/* scenario.c: scripted misbehaviour for wxpay-mock. Rules loaded from JSON (docs/mock-scenarios.md)
 * match requests and either answer for the server (an error, a dropped connection, a malformed
 * body) or tamper with the server's own signed answer (forged signature, skewed timestamp, ...). */
#include "mock.h"

#include "glob.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "wxp/envelope.h"
#include "wxp/json.h"
#include "wxp/mem.h"
#include "wxp/op.h"
#include "wxp/str.h"
#include "wxp/keyfile.h"

/* Limits; each is stated in docs/mock-scenarios.md. */
#define SCN_DOC_MAX ((size_t)1024 * 1024) /* bytes of one scenario document */
#define SCN_RULES_MAX 1000                /* rules loaded at once, over all documents */
#define SCN_STR_MAX 4096                  /* bytes of any string in a rule */
#define SCN_LIST_MAX 64                   /* members of match.body, entries of headers_* */
#define SCN_COUNT_MAX 1000000000LL        /* nth, times */
#define SCN_DELAY_MAX 600000LL            /* delay_ms: ten minutes */
#define SCN_TS_OFFSET_MAX                                                                          \
    100000000000LL                      /* |timestamp_offset| in seconds (~3170 years: 2^32 fits) */
#define SCN_SEED_MAX 9007199254740992.0 /* 2^53: every integer below is exact in a double */
/* rule: a scripted answer's status is a final one, 200..599. An interim 1xx status makes
 * libmicrohttpd send it, call the handler again and answer twice (the second time with the normal
 * checks), and a client then waits for a final answer that never comes. src: RFC 9110 §15.2
 * (1xx is interim); docs/mock-scenarios.md#action. */
#define SCN_STATUS_MIN 200
#define SCN_STATUS_MAX 599

/* What a rule does with the request when it fires, besides tampering. */
enum answer {
    ANSWER_NONE,      /* tamper only; the normal checks answer */
    ANSWER_RESPOND,   /* "respond": a status with an error envelope or a raw body */
    ANSWER_DROP,      /* "drop": close without answering */
    ANSWER_BODY,      /* "body": a raw, signed body with "status" (default 200) */
    ANSWER_MALFORMED, /* "malformed_json": truncated JSON with "status" (default 200) */
};

struct body_member {
    char *name;
    char *value;
};

struct rule {
    char *name; /* NULL when not given */
    char *json; /* the rule as given, compact, for mock_scenarios_dump */
    /* match */
    char *method;
    struct mock_glob *glob; /* the path pattern; NULL when not given */
    char *openid;
    char *mchid;
    char *operation;                 /* a WXP_OPS name; NULL when not given */
    struct body_member *path_params; /* decoded path parameters by name */
    size_t npath_params;
    struct body_member *body;
    size_t nbody;
    bool has_body;
    char **present;
    size_t npresent;
    char **absent;
    size_t nabsent;
    uint64_t nth; /* >= 1 */
    bool has_probability;
    double probability;
    uint64_t rng; /* xorshift64* state, never 0 */
    /* counters, under the lock; so are refs and removed */
    size_t refs;  /* the rule list's own reference, plus one per apply matching it */
    bool removed; /* cleared: no longer in the list, freed when refs drops to 0 */
    bool has_times;
    uint64_t times_left;
    uint64_t fired;
    uint64_t matched;
    /* action */
    enum answer answer;
    unsigned status; /* of respond, body or malformed_json */
    char *code;      /* respond envelope */
    char *message;
    char *detail_json;
    char *raw_body; /* respond.body or action.body; NULL when none */
    bool has_delay;
    long delay_ms;
    bool has_sigmode;
    enum mock_sigmode sigmode;
    bool unknown_serial;
    bool has_ts_offset;
    int64_t ts_offset;
    bool has_ts_text;
    char ts_text[MOCK_TS_TEXT_MAX + 1]; /* action.timestamp: the header's text, "{now}" kept */
    char omit_header[48];               /* canonical spelling, "" for none */
    char *sign_over;
};

struct mock_scenarios {
    pthread_mutex_t lock; /* guards everything below, and every rule's counters */
    struct rule **rules;
    size_t n;
};

/* Where a parse error is: "<origin>: rules[<index>].<where>". */
struct pctx {
    const char *origin;
    size_t index; /* SIZE_MAX outside any rule */
    struct wxp_err *err;
};

/* Canonical names of the headers "omit_header" may name. */
static const char *const OMITTABLE[] = {
    "Wechatpay-Timestamp", "Wechatpay-Nonce",          "Wechatpay-Signature",
    "Wechatpay-Serial",    "Wechatpay-Signature-Type", "Request-ID",
};

/* The body "malformed_json" answers with: an error envelope cut off after "message":. */
static const char MALFORMED_BODY[] = "{\"code\":\"SYSTEM_ERROR\",\"message\":";

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* ---- parsing ---------------------------------------------------------------------------- */

static enum wxp_code fail(const struct pctx *c, const char *where, const char *fmt, ...)
    WXP_PRINTF(3, 4);

/* "<origin>: <loc>" in out[cap]. When that does not fit, the origin (a file path) gives way
 * from its start, "…<tail>: <loc>" (wxp_str_tail: the tail starts on a UTF-8 character
 * boundary), so the location inside the document stays whole; the caller prints the whole path
 * beside it. */
static void locate(char *out, size_t cap, const char *origin, const char *loc)
{
    size_t need = loc[0] != '\0' ? strlen(loc) + 2 : 0;
    char tail[sizeof((struct wxp_err *)0)->field];
    size_t room = cap > need ? cap - need : 0;

    wxp_str_tail(tail, room < sizeof tail ? room : sizeof tail, origin);
    /* tail was cut to fit beside loc; only a loc longer than cap itself is cut here. */
    if (snprintf(out, cap, "%s%s%s", tail, need ? ": " : "", loc) < 0 && cap > 0) {
        out[0] = '\0';
    }
}

static enum wxp_code fail(const struct pctx *c, const char *where, const char *fmt, ...)
{
    char field[sizeof c->err->field];
    char loc[sizeof c->err->field];
    char msg[sizeof c->err->msg];
    va_list ap;

    if (c->index == SIZE_MAX) {
        snprintf(loc, sizeof loc, "%s", where != NULL ? where : "");
    } else if (where == NULL) {
        snprintf(loc, sizeof loc, "rules[%zu]", c->index);
    } else {
        snprintf(loc, sizeof loc, "rules[%zu].%s", c->index, where);
    }
    locate(field, sizeof field, c->origin, loc);
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return wxp_err_set(c->err, WXP_E_INVALID_ARG, field, "%s", msg);
}

static enum wxp_code nomem(const struct pctx *c)
{
    return wxp_err_set(c->err, WXP_E_NOMEM, c->origin, "out of memory loading scenarios");
}

/* Collects the members of `obj` into found[] by the index of their name in keys[]; an unknown or
 * repeated member is an error (cJSON keeps both copies of a repeated one). */
static enum wxp_code members(const struct pctx *c, const cJSON *obj, const char *where,
                             const char *const *keys, size_t nkeys, const cJSON **found)
{
    char sub[96];

    for (size_t k = 0; k < nkeys; k++) {
        found[k] = NULL;
    }
    for (const cJSON *it = obj->child; it != NULL; it = it->next) {
        size_t k = 0;
        while (k < nkeys && strcmp(keys[k], it->string) != 0) {
            k++;
        }
        /* A name that looks like key material is not echoed (docs/reliability.md#security). */
        snprintf(sub, sizeof sub, "%s%s%.40s", where ? where : "", where ? "." : "",
                 wxp_name_shown(it->string));
        if (k == nkeys) {
            return fail(c, sub, "unknown member");
        }
        if (found[k] != NULL) {
            return fail(c, sub, "member appears twice");
        }
        found[k] = it;
    }
    return WXP_OK;
}

/* A string of at most SCN_STR_MAX bytes, copied into *out (owned). */
static enum wxp_code get_string(const struct pctx *c, const cJSON *it, const char *where,
                                bool allow_empty, char **out)
{
    size_t len;

    if (!cJSON_IsString(it)) {
        return fail(c, where, "must be a string");
    }
    len = strlen(it->valuestring); /* wxp_json_check refused "\u0000" */
    if (len > SCN_STR_MAX) {
        return fail(c, where, "string is %zu bytes; at most %d allowed", len, SCN_STR_MAX);
    }
    if (len == 0 && !allow_empty) {
        return fail(c, where, "must not be empty");
    }
    *out = wxp_strndup(it->valuestring, len);
    return *out != NULL ? WXP_OK : nomem(c);
}

/* An integer in [min, max] written as a JSON number without a fraction. */
static enum wxp_code get_int(const struct pctx *c, const cJSON *it, const char *where,
                             long long min, long long max, long long *out)
{
    double v;

    if (!cJSON_IsNumber(it)) {
        return fail(c, where, "must be a number");
    }
    v = it->valuedouble;
    if (!(v >= (double)min && v <= (double)max)) {
        return fail(c, where, "must be between %lld and %lld", min, max);
    }
    if ((double)(long long)v != v) {
        return fail(c, where, "must be an integer");
    }
    *out = (long long)v;
    return WXP_OK;
}

/* A final HTTP status, SCN_STATUS_MIN..SCN_STATUS_MAX; a 1xx gets its own message. */
static enum wxp_code get_status(const struct pctx *c, const cJSON *it, const char *where,
                                long long *out)
{
    if (cJSON_IsNumber(it) && it->valuedouble >= 100 && it->valuedouble < SCN_STATUS_MIN) {
        return fail(c, where,
                    "must be between %d and %d: a 1xx status is an interim answer, not one a "
                    "scenario can give",
                    SCN_STATUS_MIN, SCN_STATUS_MAX);
    }
    return get_int(c, it, where, SCN_STATUS_MIN, SCN_STATUS_MAX, out);
}

static enum wxp_code get_bool(const struct pctx *c, const cJSON *it, const char *where, bool *out)
{
    if (!cJSON_IsBool(it)) {
        return fail(c, where, "must be true or false");
    }
    *out = cJSON_IsTrue(it);
    return WXP_OK;
}

/* rule: a header name is a token; anything else could never be present.
 * src: RFC 9110 section 5.1 (field-name = token) */
static bool is_tchar(unsigned char ch)
{
    if ((ch >= '0' && ch <= '9') || (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z')) {
        return true;
    }
    return ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL;
}

static bool is_token(const char *s)
{
    if (*s == '\0') {
        return false;
    }
    for (; *s != '\0'; s++) {
        if (!is_tchar((unsigned char)*s)) {
            return false;
        }
    }
    return true;
}

/* "headers_present"/"headers_absent": an array of header names. */
static enum wxp_code get_names(const struct pctx *c, const cJSON *it, const char *where,
                               char ***out, size_t *nout)
{
    char sub[64];
    size_t n;
    size_t i = 0;
    enum wxp_code rc;

    if (!cJSON_IsArray(it)) {
        return fail(c, where, "must be an array of header names");
    }
    n = (size_t)cJSON_GetArraySize(it);
    if (n > SCN_LIST_MAX) {
        return fail(c, where, "%zu names; at most %d allowed", n, SCN_LIST_MAX);
    }
    *out = wxp_malloc(n * sizeof **out);
    if (*out == NULL) {
        return nomem(c);
    }
    *nout = 0;
    for (const cJSON *e = it->child; e != NULL; e = e->next, i++) {
        snprintf(sub, sizeof sub, "%s[%zu]", where, i);
        rc = get_string(c, e, sub, false, &(*out)[*nout]);
        if (rc != WXP_OK) {
            return rc;
        }
        (*nout)++;
        if (!is_token((*out)[*nout - 1])) {
            return fail(c, sub, "not a valid header name");
        }
    }
    return WXP_OK;
}

/* "body": {"member":"value", ...}, every value a string. */
/* An object of string members (match.body, match.path_params) into name/value pairs. */
static enum wxp_code get_pairs(const struct pctx *c, const cJSON *it, const char *where,
                               struct body_member **out, size_t *nout)
{
    char sub[96];
    size_t n;
    enum wxp_code rc;

    if (!cJSON_IsObject(it)) {
        return fail(c, where, "must be an object of string members");
    }
    n = (size_t)cJSON_GetArraySize(it);
    if (n > SCN_LIST_MAX) {
        return fail(c, where, "%zu members; at most %d allowed", n, SCN_LIST_MAX);
    }
    *out = wxp_malloc((n ? n : 1) * sizeof **out);
    if (*out == NULL) {
        return nomem(c);
    }
    for (const cJSON *e = it->child; e != NULL; e = e->next) {
        struct body_member *m = &(*out)[*nout];
        snprintf(sub, sizeof sub, "%s.%.40s", where, e->string);
        for (size_t j = 0; j < *nout; j++) {
            if (strcmp((*out)[j].name, e->string) == 0) {
                return fail(c, sub, "member appears twice");
            }
        }
        if (strlen(e->string) > SCN_STR_MAX) {
            return fail(c, sub, "member name is longer than %d bytes", SCN_STR_MAX);
        }
        m->value = NULL;
        m->name = wxp_strndup(e->string, strlen(e->string));
        if (m->name == NULL) {
            return nomem(c);
        }
        (*nout)++;
        rc = get_string(c, e, sub, true, &m->value);
        if (rc != WXP_OK) {
            return rc;
        }
    }
    return WXP_OK;
}

static enum wxp_code get_body_match(const struct pctx *c, struct rule *r, const cJSON *it)
{
    r->has_body = cJSON_IsObject(it);
    return get_pairs(c, it, "match.body", &r->body, &r->nbody);
}

/* rule: match.operation names a row of the operation table. src:
 * docs/mock-scenarios.md#match */
static enum wxp_code get_operation(const struct pctx *c, struct rule *r, const cJSON *it)
{
    enum wxp_code rc = get_string(c, it, "match.operation", false, &r->operation);

    if (rc != WXP_OK) {
        return rc;
    }
    if (wxp_op_by_name(wxp_str_c(r->operation)) == NULL) {
        return fail(c, "match.operation",
                    "no such operation; the names are in docs/mock-scenarios.md#match");
    }
    return WXP_OK;
}

/* The path glob, compiled (glob.c; its bounds are in glob.h). */
static enum wxp_code get_glob(const struct pctx *c, struct rule *r, const cJSON *it)
{
    char *pat = NULL;
    const char *why = NULL;
    enum wxp_code rc;

    rc = get_string(c, it, "match.path", false, &pat);
    if (rc != WXP_OK) {
        return rc;
    }
    if (strchr(pat, '?') != NULL) {
        wxp_free(pat);
        return fail(c, "match.path", "the query is not part of the path; remove '?...'");
    }
    rc = mock_glob_compile(pat, strlen(pat), &r->glob, &why);
    wxp_free(pat);
    if (rc == WXP_E_NOMEM) {
        return nomem(c);
    }
    if (rc != WXP_OK) {
        return fail(c, "match.path", "%s", why);
    }
    return WXP_OK;
}

/* splitmix64: spreads small seeds (1, 2, 42) over the whole state space. */
static uint64_t seed_state(uint64_t seed)
{
    uint64_t z = seed + 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z ^= z >> 31;
    return z != 0 ? z : 0x9E3779B97F4A7C15ULL; /* xorshift never leaves 0 */
}

enum {
    MK_METHOD,
    MK_PATH,
    MK_OPENID,
    MK_MCHID,
    MK_BODY,
    MK_PRESENT,
    MK_ABSENT,
    MK_NTH,
    MK_PROBABILITY,
    MK_SEED,
    MK_OPERATION,
    MK_PATH_PARAMS,
    MK_COUNT
};
static const char *const MATCH_KEYS[MK_COUNT] = {
    "method",         "path", "openid",      "mchid", "body",      "headers_present",
    "headers_absent", "nth",  "probability", "seed",  "operation", "path_params",
};

static enum wxp_code parse_match(const struct pctx *c, struct rule *r, const cJSON *m)
{
    const cJSON *f[MK_COUNT];
    long long v;
    enum wxp_code rc;

    if (!cJSON_IsObject(m)) {
        return fail(c, "match", "must be an object");
    }
    rc = members(c, m, "match", MATCH_KEYS, MK_COUNT, f);
    if (rc != WXP_OK) {
        return rc;
    }
    if (f[MK_METHOD] != NULL) {
        rc = get_string(c, f[MK_METHOD], "match.method", false, &r->method);
        if (rc != WXP_OK) {
            return rc;
        }
        /* mock_request.method holds at most 15 bytes */
        if (strlen(r->method) >= sizeof((struct mock_request *)NULL)->method ||
            !is_token(r->method)) {
            return fail(c, "match.method", "not an HTTP method name");
        }
    }
    if (f[MK_PATH] != NULL && (rc = get_glob(c, r, f[MK_PATH])) != WXP_OK) {
        return rc;
    }
    if (f[MK_OPENID] != NULL &&
        (rc = get_string(c, f[MK_OPENID], "match.openid", false, &r->openid)) != WXP_OK) {
        return rc;
    }
    if (f[MK_MCHID] != NULL &&
        (rc = get_string(c, f[MK_MCHID], "match.mchid", false, &r->mchid)) != WXP_OK) {
        return rc;
    }
    if (f[MK_BODY] != NULL && (rc = get_body_match(c, r, f[MK_BODY])) != WXP_OK) {
        return rc;
    }
    if (f[MK_OPERATION] != NULL && (rc = get_operation(c, r, f[MK_OPERATION])) != WXP_OK) {
        return rc;
    }
    if (f[MK_PATH_PARAMS] != NULL &&
        (rc = get_pairs(c, f[MK_PATH_PARAMS], "match.path_params", &r->path_params,
                        &r->npath_params)) != WXP_OK) {
        return rc;
    }
    if (f[MK_PRESENT] != NULL && (rc = get_names(c, f[MK_PRESENT], "match.headers_present",
                                                 &r->present, &r->npresent)) != WXP_OK) {
        return rc;
    }
    if (f[MK_ABSENT] != NULL && (rc = get_names(c, f[MK_ABSENT], "match.headers_absent", &r->absent,
                                                &r->nabsent)) != WXP_OK) {
        return rc;
    }
    if (f[MK_NTH] != NULL) {
        rc = get_int(c, f[MK_NTH], "match.nth", 1, SCN_COUNT_MAX, &v);
        if (rc != WXP_OK) {
            return rc;
        }
        r->nth = (uint64_t)v;
    }
    if (f[MK_PROBABILITY] != NULL) {
        if (!cJSON_IsNumber(f[MK_PROBABILITY])) {
            return fail(c, "match.probability", "must be a number");
        }
        r->probability = f[MK_PROBABILITY]->valuedouble;
        if (!(r->probability >= 0.0 && r->probability <= 1.0)) {
            return fail(c, "match.probability", "must be between 0 and 1");
        }
        r->has_probability = true;
    }
    if (f[MK_SEED] != NULL) {
        if (!r->has_probability) {
            return fail(c, "match.seed", "has no effect without probability");
        }
        rc = get_int(c, f[MK_SEED], "match.seed", 0, (long long)SCN_SEED_MAX, &v);
        if (rc != WXP_OK) {
            return rc;
        }
        r->rng = seed_state((uint64_t)v);
    }
    return WXP_OK;
}

enum { RK_STATUS, RK_CODE, RK_MESSAGE, RK_DETAIL, RK_BODY, RK_COUNT };
static const char *const RESPOND_KEYS[RK_COUNT] = {"status", "code", "message", "detail", "body"};

/* Every string anywhere inside `it` is at most SCN_STR_MAX bytes. */
static bool strings_fit(const cJSON *it)
{
    if (cJSON_IsString(it) && strlen(it->valuestring) > SCN_STR_MAX) {
        return false;
    }
    for (const cJSON *e = it->child; e != NULL; e = e->next) {
        if ((e->string != NULL && strlen(e->string) > SCN_STR_MAX) || !strings_fit(e)) {
            return false;
        }
    }
    return true;
}

static enum wxp_code parse_respond(const struct pctx *c, struct rule *r, const cJSON *it)
{
    const cJSON *f[RK_COUNT];
    long long v;
    bool ok2xx;
    enum wxp_code rc;

    if (!cJSON_IsObject(it)) {
        return fail(c, "action.respond", "must be an object");
    }
    rc = members(c, it, "action.respond", RESPOND_KEYS, RK_COUNT, f);
    if (rc != WXP_OK) {
        return rc;
    }
    if (f[RK_STATUS] == NULL) {
        return fail(c, "action.respond.status", "required");
    }
    rc = get_status(c, f[RK_STATUS], "action.respond.status", &v);
    if (rc != WXP_OK) {
        return rc;
    }
    r->status = (unsigned)v;
    ok2xx = r->status >= 200 && r->status <= 299;
    if (f[RK_BODY] != NULL || ok2xx) {
        /* A raw body (or a 2xx answer) carries no error envelope. */
        for (size_t k = RK_CODE; k <= RK_DETAIL; k++) {
            char sub[48];
            if (f[k] == NULL) {
                continue;
            }
            snprintf(sub, sizeof sub, "action.respond.%s", RESPOND_KEYS[k]);
            return fail(c, sub, "%s",
                        ok2xx ? "a 2xx answer has no error envelope; use body"
                              : "not allowed together with body");
        }
        if (f[RK_BODY] == NULL) {
            return WXP_OK;
        }
        return get_string(c, f[RK_BODY], "action.respond.body", true, &r->raw_body);
    }
    if (f[RK_CODE] == NULL) {
        return fail(c, "action.respond.code", "required for a non-2xx status (or give body)");
    }
    if (f[RK_MESSAGE] == NULL) {
        return fail(c, "action.respond.message", "required for a non-2xx status (or give body)");
    }
    rc = get_string(c, f[RK_CODE], "action.respond.code", false, &r->code);
    if (rc != WXP_OK) {
        return rc;
    }
    if (strlen(r->code) >= sizeof((struct mock_response *)NULL)->code) {
        return fail(c, "action.respond.code", "at most %zu bytes",
                    sizeof((struct mock_response *)NULL)->code - 1);
    }
    rc = get_string(c, f[RK_MESSAGE], "action.respond.message", false, &r->message);
    if (rc != WXP_OK) {
        return rc;
    }
    if (f[RK_DETAIL] == NULL) {
        return WXP_OK;
    }
    if (!cJSON_IsObject(f[RK_DETAIL])) {
        return fail(c, "action.respond.detail", "must be an object");
    }
    if (!strings_fit(f[RK_DETAIL])) {
        return fail(c, "action.respond.detail", "has a string longer than %d bytes", SCN_STR_MAX);
    }
    r->detail_json = cJSON_PrintUnformatted(f[RK_DETAIL]);
    return r->detail_json != NULL ? WXP_OK : nomem(c);
}

enum {
    AK_RESPOND,
    AK_DROP,
    AK_BODY,
    AK_MALFORMED,
    AK_STATUS,
    AK_DELAY,
    AK_SIGNATURE,
    AK_SERIAL,
    AK_TS_OFFSET,
    AK_TS_TEXT,
    AK_OMIT,
    AK_SIGN_OVER,
    AK_COUNT
};
static const char *const ACTION_KEYS[AK_COUNT] = {
    "respond",          "drop",      "body",        "malformed_json",
    "status",           "delay_ms",  "signature",   "serial",
    "timestamp_offset", "timestamp", "omit_header", "sign_over",
};

/* Which one answering member is set; two of them is an error. */
static enum wxp_code pick_answer(const struct pctx *c, struct rule *r, const cJSON **f)
{
    static const enum answer KINDS[] = {ANSWER_RESPOND, ANSWER_DROP, ANSWER_BODY, ANSWER_MALFORMED};
    size_t first = AK_COUNT;
    char sub[48];

    for (size_t k = AK_RESPOND; k <= AK_MALFORMED; k++) {
        /* drop and malformed_json are checked booleans; false means absent */
        if (f[k] == NULL || ((k == AK_DROP || k == AK_MALFORMED) && cJSON_IsFalse(f[k]))) {
            continue;
        }
        if (first != AK_COUNT) {
            snprintf(sub, sizeof sub, "action.%s", ACTION_KEYS[k]);
            return fail(c, sub,
                        "cannot be combined with %s: only one of respond, drop, body, "
                        "malformed_json may answer",
                        ACTION_KEYS[first]);
        }
        first = k;
    }
    r->answer = first == AK_COUNT ? ANSWER_NONE : KINDS[first];
    return WXP_OK;
}

/* action.timestamp: the Wechatpay-Timestamp text sent (and signed) as is, "{now}" standing for
 * the mock's clock plus timestamp_offset. Printable ASCII only (it becomes a header line), at
 * most MOCK_TS_TEXT_MAX bytes, "{now}" at most once. src:
 * docs/mock-scenarios.md#members-that-tamper */
static enum wxp_code parse_ts_text(const struct pctx *c, struct rule *r, const cJSON *it)
{
    const char *s = cJSON_GetStringValue(it);
    const char *now;
    size_t len;

    if (s == NULL) {
        return fail(c, "action.timestamp", "must be a string");
    }
    len = strlen(s);
    if (len == 0) {
        return fail(c, "action.timestamp",
                    "must not be empty: libmicrohttpd sends no header with an empty value (\"   \" "
                    "reaches a client as an empty value; omit_header leaves the header out)");
    }
    if (len > MOCK_TS_TEXT_MAX) {
        return fail(c, "action.timestamp", "is %zu bytes; at most %d allowed", len,
                    MOCK_TS_TEXT_MAX);
    }
    for (size_t i = 0; i < len; i++) {
        if (s[i] < 0x20 || s[i] > 0x7e) {
            return fail(c, "action.timestamp",
                        "byte %zu is not printable ASCII (a header value cannot carry it)", i);
        }
    }
    now = strstr(s, "{now}");
    if (now != NULL && strstr(now + 1, "{now}") != NULL) {
        return fail(c, "action.timestamp", "may contain {now} once");
    }
    memcpy(r->ts_text, s, len + 1);
    r->has_ts_text = true;
    return WXP_OK;
}

static enum wxp_code parse_tampering(const struct pctx *c, struct rule *r, const cJSON **f)
{
    long long v;
    char *s = NULL;
    enum wxp_code rc;

    if (f[AK_DELAY] != NULL) {
        rc = get_int(c, f[AK_DELAY], "action.delay_ms", 0, SCN_DELAY_MAX, &v);
        if (rc != WXP_OK) {
            return rc;
        }
        r->has_delay = true;
        r->delay_ms = (long)v;
    }
    if (f[AK_SIGNATURE] != NULL) {
        static const struct {
            const char *name;
            enum mock_sigmode mode;
        } MODES[] = {{"valid", MOCK_SIG_VALID},
                     {"forged", MOCK_SIG_FORGED},
                     {"probe", MOCK_SIG_PROBE},
                     {"none", MOCK_SIG_NONE}};
        const char *want = cJSON_GetStringValue(f[AK_SIGNATURE]);
        for (size_t i = 0; want != NULL && i < NELEM(MODES); i++) {
            if (strcmp(want, MODES[i].name) == 0) {
                r->has_sigmode = true;
                r->sigmode = MODES[i].mode;
            }
        }
        if (!r->has_sigmode) {
            return fail(c, "action.signature",
                        "must be \"valid\", \"forged\", \"probe\" or \"none\"");
        }
    }
    if (f[AK_SERIAL] != NULL) {
        const char *want = cJSON_GetStringValue(f[AK_SERIAL]);
        if (want == NULL || strcmp(want, "unknown") != 0) {
            return fail(c, "action.serial", "must be \"unknown\"");
        }
        r->unknown_serial = true;
    }
    if (f[AK_TS_OFFSET] != NULL) {
        rc = get_int(c, f[AK_TS_OFFSET], "action.timestamp_offset", -SCN_TS_OFFSET_MAX,
                     SCN_TS_OFFSET_MAX, &v);
        if (rc != WXP_OK) {
            return rc;
        }
        r->has_ts_offset = true;
        r->ts_offset = (int64_t)v;
    }
    if (f[AK_TS_TEXT] != NULL && (rc = parse_ts_text(c, r, f[AK_TS_TEXT])) != WXP_OK) {
        return rc;
    }
    if (f[AK_OMIT] != NULL) {
        rc = get_string(c, f[AK_OMIT], "action.omit_header", false, &s);
        if (rc != WXP_OK) {
            return rc;
        }
        for (size_t i = 0; i < NELEM(OMITTABLE); i++) {
            if (wxp_str_eq_nocase(wxp_str_c(s), wxp_str_c(OMITTABLE[i]))) {
                snprintf(r->omit_header, sizeof r->omit_header, "%s", OMITTABLE[i]);
            }
        }
        wxp_free(s);
        if (r->omit_header[0] == '\0') {
            return fail(c, "action.omit_header",
                        "must be one of Wechatpay-Timestamp, Wechatpay-Nonce, "
                        "Wechatpay-Signature, Wechatpay-Serial, Wechatpay-Signature-Type, "
                        "Request-ID");
        }
    }
    if (f[AK_SIGN_OVER] != NULL) {
        rc = get_string(c, f[AK_SIGN_OVER], "action.sign_over", true, &r->sign_over);
        if (rc != WXP_OK) {
            return rc;
        }
    }
    return WXP_OK;
}

static enum wxp_code parse_action(const struct pctx *c, struct rule *r, const cJSON *a)
{
    const cJSON *f[AK_COUNT];
    bool flag = false;
    long long v;
    enum wxp_code rc;

    if (!cJSON_IsObject(a)) {
        return fail(c, "action", "must be an object");
    }
    rc = members(c, a, "action", ACTION_KEYS, AK_COUNT, f);
    if (rc != WXP_OK) {
        return rc;
    }
    if ((f[AK_DROP] != NULL && (rc = get_bool(c, f[AK_DROP], "action.drop", &flag)) != WXP_OK) ||
        (f[AK_MALFORMED] != NULL &&
         (rc = get_bool(c, f[AK_MALFORMED], "action.malformed_json", &flag)) != WXP_OK)) {
        return rc;
    }
    rc = pick_answer(c, r, f);
    if (rc != WXP_OK) {
        return rc;
    }
    if (r->answer == ANSWER_DROP) {
        /* Nothing is sent, so there is nothing to tamper with; only a delay makes sense. */
        for (size_t k = AK_SIGNATURE; k <= AK_SIGN_OVER; k++) {
            char sub[48];
            if (f[k] != NULL) {
                snprintf(sub, sizeof sub, "action.%s", ACTION_KEYS[k]);
                return fail(c, sub, "has no effect with drop (nothing is sent)");
            }
        }
    }
    if (f[AK_RESPOND] != NULL && (rc = parse_respond(c, r, f[AK_RESPOND])) != WXP_OK) {
        return rc;
    }
    if (r->answer == ANSWER_BODY &&
        (rc = get_string(c, f[AK_BODY], "action.body", true, &r->raw_body)) != WXP_OK) {
        return rc;
    }
    if (f[AK_STATUS] != NULL) {
        if (r->answer != ANSWER_BODY && r->answer != ANSWER_MALFORMED) {
            return fail(c, "action.status", "only applies to body or malformed_json");
        }
        rc = get_status(c, f[AK_STATUS], "action.status", &v);
        if (rc != WXP_OK) {
            return rc;
        }
        r->status = (unsigned)v;
    } else if (r->answer == ANSWER_BODY) {
        /* HTTP/1.1 framing gives a 204 no body (libmicrohttpd sends none), so the default is a
         * 200; a 204 with "body" arrives empty but signed over the body (see the docs). */
        r->status = 200;
    } else if (r->answer == ANSWER_MALFORMED) {
        r->status = 200;
    }
    rc = parse_tampering(c, r, f);
    if (rc != WXP_OK) {
        return rc;
    }
    if (r->answer == ANSWER_NONE && !r->has_delay && !r->has_sigmode && !r->unknown_serial &&
        !r->has_ts_offset && !r->has_ts_text && r->omit_header[0] == '\0' && r->sign_over == NULL) {
        return fail(c, "action",
                    "does nothing; give at least one of respond, drop, body, "
                    "malformed_json, delay_ms, signature, serial, timestamp_offset, "
                    "timestamp, omit_header, sign_over");
    }
    return WXP_OK;
}

static void rule_free(struct rule *r)
{
    if (r == NULL) {
        return;
    }
    wxp_free(r->name);
    cJSON_free(r->json);
    wxp_free(r->method);
    mock_glob_free(r->glob);
    wxp_free(r->openid);
    wxp_free(r->mchid);
    wxp_free(r->operation);
    for (size_t i = 0; i < r->npath_params; i++) {
        wxp_free(r->path_params[i].name);
        wxp_free(r->path_params[i].value);
    }
    wxp_free(r->path_params);
    for (size_t i = 0; i < r->nbody; i++) {
        wxp_free(r->body[i].name);
        wxp_free(r->body[i].value);
    }
    wxp_free(r->body);
    for (size_t i = 0; i < r->npresent; i++) {
        wxp_free(r->present[i]);
    }
    wxp_free(r->present);
    for (size_t i = 0; i < r->nabsent; i++) {
        wxp_free(r->absent[i]);
    }
    wxp_free(r->absent);
    wxp_free(r->code);
    wxp_free(r->message);
    cJSON_free(r->detail_json);
    wxp_free(r->raw_body);
    wxp_free(r->sign_over);
    wxp_free(r);
}

enum { RU_NAME, RU_MATCH, RU_TIMES, RU_ACTION, RU_COUNT };
static const char *const RULE_KEYS[RU_COUNT] = {"name", "match", "times", "action"};

static enum wxp_code parse_rule(const struct pctx *c, const cJSON *it, struct rule **out)
{
    const cJSON *f[RU_COUNT];
    struct rule *r = NULL;
    long long v;
    enum wxp_code rc;

    *out = NULL;
    if (!cJSON_IsObject(it)) {
        return fail(c, NULL, "a rule is a JSON object");
    }
    rc = members(c, it, NULL, RULE_KEYS, RU_COUNT, f);
    if (rc != WXP_OK) {
        return rc;
    }
    if (f[RU_ACTION] == NULL) {
        return fail(c, "action", "required");
    }
    r = wxp_malloc(sizeof *r);
    if (r == NULL) {
        return nomem(c);
    }
    memset(r, 0, sizeof *r);
    r->nth = 1;
    r->rng = seed_state(1);
    if (f[RU_NAME] != NULL && (rc = get_string(c, f[RU_NAME], "name", true, &r->name)) != WXP_OK) {
        goto out;
    }
    if (f[RU_MATCH] != NULL && (rc = parse_match(c, r, f[RU_MATCH])) != WXP_OK) {
        goto out;
    }
    if (f[RU_TIMES] != NULL) {
        rc = get_int(c, f[RU_TIMES], "times", 1, SCN_COUNT_MAX, &v);
        if (rc != WXP_OK) {
            goto out;
        }
        r->has_times = true;
        r->times_left = (uint64_t)v;
    }
    rc = parse_action(c, r, f[RU_ACTION]);
    if (rc != WXP_OK) {
        goto out;
    }
    r->json = cJSON_PrintUnformatted(it);
    if (r->json == NULL) {
        rc = nomem(c);
        goto out;
    }
    *out = r;
    r = NULL;
out:
    rule_free(r);
    return rc;
}

/* The rules array of a document: the document itself, or its only member "rules". */
static enum wxp_code find_rules(const struct pctx *c, const cJSON *root, const cJSON **rules)
{
    static const char *const DOC_KEYS[] = {"rules"};
    const cJSON *f[1];
    enum wxp_code rc;

    if (cJSON_IsArray(root)) {
        *rules = root;
        return WXP_OK;
    }
    if (!cJSON_IsObject(root)) {
        return fail(c, NULL, "a scenario document is an array of rules or {\"rules\":[...]}");
    }
    rc = members(c, root, NULL, DOC_KEYS, 1, f);
    if (rc != WXP_OK) {
        return rc;
    }
    if (f[0] == NULL || !cJSON_IsArray(f[0])) {
        return fail(c, "rules", "must be an array of rules");
    }
    *rules = f[0];
    return WXP_OK;
}

/* ---- the rule set ----------------------------------------------------------------------- */

struct mock_scenarios *mock_scenarios_new(void)
{
    struct mock_scenarios *s = wxp_malloc(sizeof *s);

    if (s == NULL) {
        return NULL;
    }
    memset(s, 0, sizeof *s);
    if (pthread_mutex_init(&s->lock, NULL) != 0) {
        wxp_free(s);
        return NULL;
    }
    return s;
}

void mock_scenarios_clear(struct mock_scenarios *s)
{
    if (s == NULL) {
        return;
    }
    pthread_mutex_lock(&s->lock);
    for (size_t i = 0; i < s->n; i++) {
        struct rule *r = s->rules[i];
        /* A request still matching against it (mock_scenarios_apply_match) frees it last. */
        r->removed = true;
        if (--r->refs == 0) {
            rule_free(r);
        }
    }
    wxp_free(s->rules);
    s->rules = NULL;
    s->n = 0;
    pthread_mutex_unlock(&s->lock);
}

void mock_scenarios_free(struct mock_scenarios *s)
{
    if (s == NULL) {
        return;
    }
    mock_scenarios_clear(s);
    pthread_mutex_destroy(&s->lock);
    wxp_free(s);
}

enum wxp_code mock_scenarios_add_json(struct mock_scenarios *s, const char *json, size_t len,
                                      const char *origin, struct wxp_err *err)
{
    struct pctx c = {origin != NULL ? origin : "scenario", SIZE_MAX, err};
    struct wxp_err jerr;
    cJSON *root = NULL;
    const cJSON *rules = NULL;
    struct rule **tmp = NULL;
    struct rule **grown = NULL;
    size_t n = 0;
    size_t ntmp = 0;
    size_t off = 0;
    enum wxp_code rc;

    if (s == NULL || (json == NULL && len > 0)) {
        return wxp_err_set(err, WXP_E_INVALID_ARG, c.origin, "no scenario set or document");
    }
    if (len > SCN_DOC_MAX) {
        return wxp_err_set(err, WXP_E_TOO_LARGE, c.origin,
                           "scenario document is %zu bytes; at most %zu allowed", len, SCN_DOC_MAX);
    }
    /* rule: strict JSON first; cJSON alone accepts leading zeros, a BOM, trailing garbage.
     * src: style.md "Traps in our own dependencies" */
    rc = wxp_json_check(json != NULL ? json : "", len, &off, &jerr);
    if (rc != WXP_OK) {
        return wxp_err_set(err, rc, c.origin, "not valid JSON at byte %zu: %s", off, jerr.msg);
    }
    root = cJSON_ParseWithLengthOpts(json, len, NULL, 0);
    if (root == NULL) {
        rc = nomem(&c); /* the strict check passed, so only allocation can fail here */
        goto out;
    }
    rc = find_rules(&c, root, &rules);
    if (rc != WXP_OK) {
        goto out;
    }
    n = (size_t)cJSON_GetArraySize(rules);
    if (n > SCN_RULES_MAX) {
        rc = wxp_err_set(err, WXP_E_TOO_LARGE, c.origin, "%zu rules; at most %d allowed", n,
                         SCN_RULES_MAX);
        goto out;
    }
    tmp = wxp_malloc(n * sizeof *tmp);
    if (tmp == NULL) {
        rc = nomem(&c);
        goto out;
    }
    for (const cJSON *it = rules->child; it != NULL; it = it->next) {
        c.index = ntmp;
        rc = parse_rule(&c, it, &tmp[ntmp]);
        if (rc != WXP_OK) {
            goto out;
        }
        ntmp++;
    }
    if (ntmp == 0) {
        goto out;
    }
    pthread_mutex_lock(&s->lock);
    if (s->n + ntmp > SCN_RULES_MAX) {
        rc = wxp_err_set(err, WXP_E_TOO_LARGE, c.origin,
                         "%zu rules already loaded; %zu more exceed the limit of %d", s->n, ntmp,
                         SCN_RULES_MAX);
    } else if ((grown = wxp_realloc(s->rules, (s->n + ntmp) * sizeof *grown)) == NULL) {
        rc = nomem(&c);
    } else {
        memcpy(grown + s->n, tmp, ntmp * sizeof *tmp);
        for (size_t i = 0; i < ntmp; i++) {
            tmp[i]->refs = 1;
        }
        s->rules = grown;
        s->n += ntmp;
        ntmp = 0; /* the set owns them now */
    }
    pthread_mutex_unlock(&s->lock);
out:
    for (size_t i = 0; i < ntmp; i++) {
        rule_free(tmp[i]);
    }
    wxp_free(tmp);
    cJSON_Delete(root);
    return rc;
}

enum wxp_code mock_scenarios_dump(struct mock_scenarios *s, struct wxp_buf *out)
{
    struct wxp_buf b;
    enum wxp_code rc = WXP_OK;

    if (s == NULL || out == NULL) {
        return WXP_E_INVALID_ARG;
    }
    /* Built aside, so a failure leaves `out` as it was. */
    wxp_buf_init(&b, out->max);
    pthread_mutex_lock(&s->lock);
    rc = wxp_buf_addstr(&b, "[");
    for (size_t i = 0; i < s->n && rc == WXP_OK; i++) {
        const struct rule *r = s->rules[i];
        rc = wxp_buf_addstr(&b, i > 0 ? ",{\"name\":" : "{\"name\":");
        if (rc == WXP_OK && r->name != NULL) {
            rc = wxp_json_quote(&b, r->name, strlen(r->name), NULL);
        } else if (rc == WXP_OK) {
            rc = wxp_buf_addstr(&b, "null");
        }
        if (rc == WXP_OK && r->has_times) {
            rc = wxp_buf_addf(&b, ",\"times_left\":%llu", (unsigned long long)r->times_left);
        } else if (rc == WXP_OK) {
            rc = wxp_buf_addstr(&b, ",\"times_left\":null");
        }
        if (rc == WXP_OK) {
            rc =
                wxp_buf_addf(&b, ",\"fired\":%llu,\"matched\":%llu,\"rule\":%s}",
                             (unsigned long long)r->fired, (unsigned long long)r->matched, r->json);
        }
    }
    pthread_mutex_unlock(&s->lock);
    if (rc == WXP_OK) {
        rc = wxp_buf_addstr(&b, "]");
    }
    if (rc == WXP_OK) {
        rc = wxp_buf_add(out, b.ptr, b.len);
    }
    wxp_buf_free(&b);
    return rc;
}

/* ---- matching --------------------------------------------------------------------------- */

/* The request body parsed once per apply, leniently (a scenario matches what was sent, even
 * bodies the strict checks will refuse). */
struct body_cache {
    bool parsed;
    cJSON *root;
};

static bool path_matches(const struct rule *r, const struct mock_request *req)
{
    size_t len;

    if (req->target == NULL) {
        return false;
    }
    len = strcspn(req->target, "?");
    return mock_glob_match(r->glob, req->target, len, NULL);
}

static bool body_matches(const struct rule *r, const struct mock_request *req,
                         struct body_cache *bc)
{
    if (!bc->parsed) {
        bc->parsed = true;
        if (req->body.ptr != NULL && req->body.len > 0) {
            bc->root = cJSON_ParseWithLength(req->body.ptr, req->body.len);
        }
    }
    if (!cJSON_IsObject(bc->root)) {
        return false;
    }
    for (size_t i = 0; i < r->nbody; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(bc->root, r->body[i].name);
        if (!cJSON_IsString(v) || strcmp(v->valuestring, r->body[i].value) != 0) {
            return false;
        }
    }
    return true;
}

/* The decoded path parameter of that name, or NULL. */
static const char *path_param(const struct mock_match *m, const char *name)
{
    for (size_t i = 0; i < m->nparams && i < MOCK_MATCH_PARAMS_MAX; i++) {
        if (m->name[i] != NULL && strcmp(m->name[i], name) == 0) {
            return m->value[i];
        }
    }
    return NULL;
}

static bool matches(const struct rule *r, const struct mock_request *req,
                    const struct mock_match *mm, struct body_cache *bc)
{
    const char *openid = path_param(mm, "openid");

    if (r->method != NULL && strcmp(r->method, req->method) != 0) {
        return false;
    }
    if (r->glob != NULL && !path_matches(r, req)) {
        return false;
    }
    if (r->operation != NULL &&
        (mm->operation == NULL || strcmp(r->operation, mm->operation) != 0)) {
        return false;
    }
    if (r->openid != NULL && (openid == NULL || strcmp(r->openid, openid) != 0)) {
        return false;
    }
    for (size_t i = 0; i < r->npath_params; i++) {
        const char *v = path_param(mm, r->path_params[i].name);
        if (v == NULL || strcmp(v, r->path_params[i].value) != 0) {
            return false;
        }
    }
    if (r->mchid != NULL && (mm->mchid == NULL || strcmp(r->mchid, mm->mchid) != 0)) {
        return false;
    }
    for (size_t i = 0; i < r->npresent; i++) {
        if (mock_request_header(req, r->present[i]) == NULL) {
            return false;
        }
    }
    for (size_t i = 0; i < r->nabsent; i++) {
        if (mock_request_header(req, r->absent[i]) != NULL) {
            return false;
        }
    }
    return !r->has_body || body_matches(r, req, bc);
}

/* xorshift64* (Vigna): per rule, so a seed gives the same fire pattern on every run. */
static bool draw(struct rule *r)
{
    uint64_t x = r->rng;
    double u;

    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    r->rng = x;
    u = (double)((x * 0x2545F4914F6CDD1DULL) >> 11) * 0x1.0p-53; /* [0, 1) */
    return u < r->probability;
}

/* Replaces the answer with `status` and raw bytes. */
static void answer_raw(struct mock_response *resp, unsigned status, const char *body, size_t len)
{
    wxp_buf_reset(&resp->body);
    resp->status = status;
    resp->code[0] = '\0';
    if (len > 0 && wxp_buf_add(&resp->body, body, len) != WXP_OK) {
        resp->status = 500; /* out of memory: say so rather than send a truncated body */
    }
}

static bool tampers_signature(const struct rule *r)
{
    return r->has_sigmode || r->unknown_serial || r->has_ts_offset || r->has_ts_text ||
           r->omit_header[0] != '\0' || r->sign_over != NULL;
}

/* Applies a fired rule; true when it answers by itself. */
static bool act(const struct rule *r, struct mock_response *resp)
{
    if (r->has_delay) {
        resp->delay_ms = r->delay_ms;
    }
    if (r->has_sigmode) {
        resp->sigmode = r->sigmode;
    }
    if (r->unknown_serial) {
        resp->unknown_serial = true;
    }
    if (r->has_ts_offset) {
        resp->ts_offset = r->ts_offset;
    }
    if (r->has_ts_text) {
        resp->has_ts_text = true;
        snprintf(resp->ts_text, sizeof resp->ts_text, "%s", r->ts_text);
    }
    if (r->omit_header[0] != '\0') {
        snprintf(resp->omit_header, sizeof resp->omit_header, "%s", r->omit_header);
    }
    if (r->sign_over != NULL) {
        char *copy = wxp_strndup(r->sign_over, strlen(r->sign_over));
        if (copy != NULL) {
            wxp_free(resp->sign_over);
            resp->sign_over = copy;
        }
    }
    switch (r->answer) {
    case ANSWER_NONE:
        return false;
    case ANSWER_DROP:
        resp->drop = true;
        break;
    case ANSWER_RESPOND:
        if (r->code != NULL) {
            wxp_buf_reset(&resp->body);
            if (mock_response_error(resp, r->status, r->code, r->message, r->detail_json) !=
                WXP_OK) {
                answer_raw(resp, 500, NULL, 0);
            }
        } else {
            answer_raw(resp, r->status, r->raw_body, r->raw_body ? strlen(r->raw_body) : 0);
        }
        /* Signed like the server's own answers (2xx always, errors per sign_errors), unless the
         * rule tampers with the signature, which only makes sense on a signed answer. */
        resp->sign = (r->status >= 200 && r->status <= 299) || tampers_signature(r);
        break;
    case ANSWER_BODY:
        answer_raw(resp, r->status, r->raw_body, strlen(r->raw_body));
        resp->sign = true;
        break;
    case ANSWER_MALFORMED:
        answer_raw(resp, r->status, MALFORMED_BODY, sizeof MALFORMED_BODY - 1);
        resp->sign = true;
        break;
    }
    resp->failed_check = "scenario";
    return true;
}

bool mock_scenarios_apply(struct mock_scenarios *s, const struct mock_request *req,
                          const char *openid, const char *mchid, struct mock_response *resp)
{
    struct mock_match m;

    memset(&m, 0, sizeof m);
    m.mchid = mchid;
    if (openid != NULL) {
        m.name[0] = "openid";
        m.value[0] = openid;
        m.nparams = 1;
    }
    return mock_scenarios_apply_match(s, req, &m, resp);
}

void (*mock_scenarios_test_hook)(void);

/* rule: one request's matching never holds up another's. Matching (path globs over up to 64 KiB,
 * bodies) runs outside the lock on a snapshot of the rule list, each rule held by a reference;
 * the lock covers only the counting and the action, a few steps per rule.
 * src: docs/mock-scenarios.md#how-rules-are-applied */
bool mock_scenarios_apply_match(struct mock_scenarios *s, const struct mock_request *req,
                                const struct mock_match *m, struct mock_response *resp)
{
    struct body_cache bc = {false, NULL};
    struct rule *snap[SCN_RULES_MAX];
    bool hit[SCN_RULES_MAX];
    size_t n;
    bool answered = false;

    if (s == NULL || req == NULL || resp == NULL) {
        return false;
    }
    pthread_mutex_lock(&s->lock);
    n = s->n;
    for (size_t i = 0; i < n; i++) {
        snap[i] = s->rules[i];
        snap[i]->refs++;
    }
    pthread_mutex_unlock(&s->lock);
    if (mock_scenarios_test_hook != NULL) {
        mock_scenarios_test_hook();
    }
    /* What a rule matches never changes once loaded: only its counters do. */
    for (size_t i = 0; i < n; i++) {
        hit[i] = matches(snap[i], req, m, &bc);
    }
    pthread_mutex_lock(&s->lock);
    for (size_t i = 0; i < n && !answered; i++) {
        struct rule *r = snap[i];
        if (!hit[i] || r->removed) {
            continue; /* no match, or cleared meanwhile */
        }
        if (r->has_times && r->times_left == 0) {
            continue; /* expired */
        }
        r->matched++;
        if (r->matched < r->nth) {
            continue;
        }
        if (r->has_probability && !draw(r)) {
            continue;
        }
        r->fired++;
        if (r->has_times) {
            r->times_left--;
        }
        answered = act(r, resp);
        break;
    }
    for (size_t i = 0; i < n; i++) {
        if (--snap[i]->refs == 0) {
            rule_free(snap[i]); /* cleared while this request held it */
        }
    }
    pthread_mutex_unlock(&s->lock);
    cJSON_Delete(bc.root);
    return answered;
}
