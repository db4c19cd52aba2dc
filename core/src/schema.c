/* SPDX-License-Identifier: MIT */
/* schema.c: walks a schema table over a request body or a path value. */
#include "wxp/schema.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "wxp/json.h"
#include "wxp/mem.h"
#include "wxp/utf8.h"
#include "schema_internal.h"

/* rule: openid string(128) in the path; service_id string(32), appid string(32), reason
 * string(50) in the body; all required; minimum 1. reason counts characters ("不超过50字符"),
 * the ids count bytes (the live server says 字节数 for ids). src: docs/protocol.md#terminate-schema
 * case: CORE-SCHEMA-* */
static const struct wxp_field TERMINATE_BY_OPENID[] = {
    {.name = "openid",
     .label = "用户标识",
     .loc = WXP_LOC_URI_TEMPLATE,
     .unit = WXP_UNIT_BYTES,
     .min = 1,
     .max = 128,
     .required = true},
    {.name = "service_id",
     .label = "服务ID",
     .loc = WXP_LOC_BODY,
     .unit = WXP_UNIT_BYTES,
     .min = 1,
     .max = 32,
     .required = true},
    {.name = "appid",
     .label = "公众账号ID",
     .loc = WXP_LOC_BODY,
     .unit = WXP_UNIT_BYTES,
     .min = 1,
     .max = 32,
     .required = true},
    {.name = "reason",
     .label = "撤销原因",
     .loc = WXP_LOC_BODY,
     .unit = WXP_UNIT_CHARS,
     .min = 1,
     .max = 50,
     .required = true},
};

const struct wxp_schema WXP_SCHEMA_TERMINATE_BY_OPENID = {
    "terminate-by-openid",
    TERMINATE_BY_OPENID,
    sizeof TERMINATE_BY_OPENID / sizeof TERMINATE_BY_OPENID[0],
};

const char *wxp_loc_name(enum wxp_loc loc)
{
    switch (loc) {
    case WXP_LOC_BODY:
        return "body";
    case WXP_LOC_URI_TEMPLATE:
        return "uri_template";
    case WXP_LOC_QUERY:
        return "query";
    }
    return "body";
}

const struct wxp_field *wxp_schema_field(const struct wxp_schema *s, const char *name,
                                         enum wxp_loc loc)
{
    for (size_t i = 0; i < s->count; i++) {
        if (s->fields[i].loc == loc && strcmp(s->fields[i].name, name) == 0) {
            return &s->fields[i];
        }
    }
    return NULL;
}

static void set_issue(struct wxp_param_issue *issue, const struct wxp_field *f, long long value,
                      bool has_value)
{
    if (issue == NULL) {
        return;
    }
    issue->location = wxp_loc_name(f->loc);
    snprintf(issue->pointer, sizeof issue->pointer, "/%s/%s", wxp_loc_name(f->loc), f->name);
    issue->value = value;
    issue->has_value = has_value;
}

/* Fills err with the live server's message shapes (docs/protocol.md#param-error-messages). */
enum wxp_code wxp_schema_fail(struct wxp_err *err, struct wxp_param_issue *issue,
                              const struct wxp_field *f, enum wxp_code code, long long n,
                              const char *why)
{
    char ptr[64];
    const char *unit = f->unit == WXP_UNIT_CHARS ? "字符数" : "字节数";

    snprintf(ptr, sizeof ptr, "/%s/%s", wxp_loc_name(f->loc), f->name);
    if (code == WXP_E_PARAM_MISSING) {
        set_issue(issue, f, 0, false);
        return wxp_err_set(err, code, ptr, "%s 映射到字段“%s”必填性规则校验失败，此字段为必填项",
                           ptr, f->label);
    }
    if (code == WXP_E_PARAM_TYPE) {
        set_issue(issue, f, 0, false);
        return wxp_err_set(err, code, ptr,
                           "无法将 JSON 输入源“%s”映射到目标字段“%s”中，此字段需要一个合法的字符串",
                           ptr, f->label);
    }
    if (code == WXP_E_PARAM_TOO_SHORT || code == WXP_E_PARAM_TOO_LONG) {
        bool short_ = code == WXP_E_PARAM_TOO_SHORT;
        set_issue(issue, f, n, true);
        return wxp_err_set(
            err, code, ptr, "输入源“%s”映射到值字段“%s”字符串规则校验失败，%s %lld，%s %zu", ptr,
            f->label, unit, n, short_ ? "小于最小值" : "大于最大值", short_ ? f->min : f->max);
    }
    if (code == WXP_E_UTF8) {
        set_issue(issue, f, 0, false);
        return wxp_err_set(err, code, ptr,
                           "输入源“%s”映射到值字段“%s”字符串规则校验失败，不是合法的UTF-8编码", ptr,
                           f->label);
    }
    if (code == WXP_E_PARAM_DUPLICATE) {
        /* Our wording: the live server's answer to a repeated query parameter is not documented
         * (docs/protocol.md#query-string). */
        set_issue(issue, f, 0, false);
        return wxp_err_set(err, code, ptr, "输入源“%s”映射到值字段“%s”规则校验失败，参数重复出现",
                           ptr, f->label);
    }
    set_issue(issue, f, 0, false);
    if (why != NULL) {
        return wxp_err_set(err, WXP_E_PARAM_CHARSET, ptr,
                           "输入源“%s”映射到值字段“%s”字符串规则校验失败，%s", ptr, f->label, why);
    }
    return wxp_err_set(err, WXP_E_PARAM_CHARSET, ptr,
                       "输入源“%s”映射到值字段“%s”字符串规则校验失败，含有不支持的字符"
                       "（四字节UTF-8字符或控制字符）",
                       ptr, f->label);
}

static enum wxp_code param_fail(struct wxp_err *err, struct wxp_param_issue *issue,
                                const struct wxp_field *f, enum wxp_code code, long long n)
{
    return wxp_schema_fail(err, issue, f, code, n, NULL);
}

enum wxp_code wxp_schema_check_value(const struct wxp_field *f, const char *p, size_t len,
                                     struct wxp_param_issue *issue, struct wxp_err *err)
{
    struct wxp_utf8_info info;
    size_t n;

    if (wxp_utf8_check(p, len, &info) != WXP_OK) {
        return param_fail(err, issue, f, WXP_E_UTF8, 0);
    }
    /* rule: APIv3 supports only 1-3 byte UTF-8 characters. src: docs/protocol.md#charset */
    if (info.max_seq == 4 || info.ctrl_count > 0) {
        return param_fail(err, issue, f, WXP_E_PARAM_CHARSET, 0);
    }
    /* rule: a row with a character table accepts only those bytes (authorization_code: digits,
     * letters and _-|*). src: docs/protocol.md#permissions-apply. The message is our wording. */
    if (f->charset != NULL) {
        for (size_t i = 0; i < len; i++) {
            if (f->charset[(unsigned char)p[i]] == 0) {
                char why[160];
                snprintf(why, sizeof why, "只能由%s组成",
                         f->charset_desc != NULL ? f->charset_desc : "指定字符");
                return wxp_schema_fail(err, issue, f, WXP_E_PARAM_CHARSET, 0, why);
            }
        }
    }
    n = f->unit == WXP_UNIT_CHARS ? info.chars : len;
    if (n < f->min) {
        return param_fail(err, issue, f, WXP_E_PARAM_TOO_SHORT, (long long)n);
    }
    if (n > f->max) {
        return param_fail(err, issue, f, WXP_E_PARAM_TOO_LONG, (long long)n);
    }
    return WXP_OK;
}

void wxp_values_free(struct wxp_values *v)
{
    if (v == NULL) {
        return;
    }
    for (size_t i = 0; i < WXP_SCHEMA_MAX_FIELDS; i++) {
        wxp_free(v->val[i]);
        v->val[i] = NULL;
        v->len[i] = 0;
    }
    v->schema = NULL;
}

struct wxp_str wxp_values_get(const struct wxp_values *v, const char *name)
{
    struct wxp_str none = {NULL, 0};

    if (v->schema == NULL) {
        return none;
    }
    for (size_t i = 0; i < v->schema->count && i < WXP_SCHEMA_MAX_FIELDS; i++) {
        if (strcmp(v->schema->fields[i].name, name) == 0 && v->val[i] != NULL) {
            struct wxp_str s = {v->val[i], v->len[i]};
            return s;
        }
    }
    return none;
}

static enum wxp_code body_fail(struct wxp_err *err, struct wxp_param_issue *issue,
                               enum wxp_code code, const char *msg)
{
    if (issue != NULL) {
        issue->location = "body";
        snprintf(issue->pointer, sizeof issue->pointer, "/body");
        issue->has_value = false;
        issue->value = 0;
    }
    return wxp_err_set(err, code, "/body", "%s", msg);
}

/* Rejects a body that names one of the schema's members twice: cJSON keeps both and a lookup
 * returns the first, which may not be what the sender's own parser would see. */
static enum wxp_code duplicates(const struct wxp_schema *s, const cJSON *root,
                                struct wxp_param_issue *issue, struct wxp_err *err)
{
    unsigned seen[WXP_SCHEMA_MAX_FIELDS] = {0};

    for (const cJSON *it = root->child; it != NULL; it = it->next) {
        for (size_t i = 0; i < s->count && i < WXP_SCHEMA_MAX_FIELDS; i++) {
            const struct wxp_field *f = &s->fields[i];
            if (f->loc != WXP_LOC_BODY || strcmp(f->name, it->string) != 0) {
                continue;
            }
            if (++seen[i] > 1) {
                char ptr[64];
                /* err->field names the member even when the caller passes no issue. */
                snprintf(ptr, sizeof ptr, "/%s/%s", wxp_loc_name(f->loc), f->name);
                set_issue(issue, f, 0, false);
                return wxp_err_set(err, WXP_E_JSON_DUPLICATE_KEY, ptr,
                                   "请求报文主体中的成员“%s”重复出现", f->name);
            }
        }
    }
    return WXP_OK;
}

enum wxp_code wxp_schema_check_body(const struct wxp_schema *s, const char *body, size_t len,
                                    struct wxp_values *out, struct wxp_param_issue *issue,
                                    struct wxp_err *err)
{
    cJSON *root = NULL;
    enum wxp_code rc;
    size_t off = 0;

    if (out != NULL) {
        memset(out, 0, sizeof *out);
    }
    if (len > WXP_BODY_MAX) {
        return body_fail(err, issue, WXP_E_TOO_LARGE, "请求报文主体过大");
    }
    /* cJSON accepts leading zeros, raw control bytes, a BOM, invalid UTF-8 and trailing bytes;
     * the real server's parser does not (docs/protocol.md#json-strictness). */
    rc = wxp_json_check(body, len, &off, err);
    if (rc == WXP_E_UTF8) {
        return body_fail(err, issue, rc, "请求报文主体不是合法的UTF-8编码");
    }
    if (rc != WXP_OK) {
        char msg[128];
        snprintf(msg, sizeof msg, "请求报文主体不是合法的JSON（第 %zu 字节）", off);
        return body_fail(err, issue, rc, msg);
    }
    root = cJSON_ParseWithLengthOpts(body, len, NULL, 0);
    if (root == NULL) {
        return body_fail(err, issue, WXP_E_NOMEM, "系统异常，请稍后重试");
    }
    if (!cJSON_IsObject(root)) {
        rc = body_fail(err, issue, WXP_E_JSON_NOT_OBJECT, "请求报文主体必须是JSON对象");
        goto out;
    }
    rc = duplicates(s, root, issue, err);
    if (rc != WXP_OK) {
        goto out;
    }
    for (size_t i = 0; i < s->count && i < WXP_SCHEMA_MAX_FIELDS; i++) {
        const struct wxp_field *f = &s->fields[i];
        const cJSON *it;

        if (f->loc != WXP_LOC_BODY) {
            continue;
        }
        it = cJSON_GetObjectItemCaseSensitive(root, f->name);
        if (it == NULL) {
            if (!f->required) {
                continue;
            }
            rc = param_fail(err, issue, f, WXP_E_PARAM_MISSING, 0);
            goto out;
        }
        /* rule: no null values in requests (merchant rules page). src: docs/protocol.md#null */
        if (!cJSON_IsString(it)) {
            rc = param_fail(err, issue, f, WXP_E_PARAM_TYPE, 0);
            goto out;
        }
        rc = wxp_schema_check_value(f, it->valuestring, strlen(it->valuestring), issue, err);
        if (rc != WXP_OK) {
            goto out;
        }
        if (out != NULL) {
            out->len[i] = strlen(it->valuestring);
            out->val[i] = wxp_strndup(it->valuestring, out->len[i]);
            if (out->val[i] == NULL) {
                rc = body_fail(err, issue, WXP_E_NOMEM, "系统异常，请稍后重试");
                goto out;
            }
        }
    }
    if (out != NULL) {
        out->schema = s;
    }
    rc = WXP_OK;
out:
    cJSON_Delete(root);
    if (rc != WXP_OK) {
        wxp_values_free(out);
    }
    return rc;
}
