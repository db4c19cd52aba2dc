/* SPDX-License-Identifier: MIT */
/* log.c: one request log line per answer, in text or JSON. Fields come from the network (method,
 * path) and from scenarios (code), so each one is escaped: a client must not be able to forge a
 * line, break the JSON, or send escape sequences to the terminal that shows the log. */
#include "log.h"

#include <stdio.h>
#include <string.h>

static const char HEX[] = "0123456789ABCDEF";

/* The length of the valid UTF-8 character at s[0..len) (1..4), or 0 when s starts with a byte
 * that begins none (an invalid byte, an overlong form, a surrogate, a cut-off sequence). */
static size_t utf8_char(const unsigned char *s, size_t len)
{
    size_t n = s[0] < 0x80                    ? 1
               : s[0] >= 0xC2 && s[0] <= 0xDF ? 2
               : s[0] >= 0xE0 && s[0] <= 0xEF ? 3
               : s[0] >= 0xF0 && s[0] <= 0xF4 ? 4
                                              : 0;

    if (n == 0 || n > len) {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            return 0;
        }
    }
    if ((s[0] == 0xE0 && s[1] < 0xA0) || (s[0] == 0xED && s[1] >= 0xA0) ||
        (s[0] == 0xF0 && s[1] < 0x90) || (s[0] == 0xF4 && s[1] >= 0x90)) {
        return 0;
    }
    return n;
}

/* A C1 control (U+0080..U+009F, C2 80..C2 9F): some terminals act on them as on ESC. */
static bool is_c1(const unsigned char *s, size_t n)
{
    return n == 2 && s[0] == 0xC2 && s[1] <= 0x9F;
}

/* Appends \xNN for each byte of s[0..n). */
static enum wxp_code add_hex(struct wxp_buf *b, const unsigned char *s, size_t n)
{
    enum wxp_code rc = WXP_OK;

    for (size_t i = 0; i < n && rc == WXP_OK; i++) {
        char esc[4] = {'\\', 'x', HEX[s[i] >> 4], HEX[s[i] & 15]};
        rc = wxp_buf_add(b, esc, sizeof esc);
    }
    return rc;
}

/* A text value: printable ASCII but '\' and space, and valid UTF-8 beyond C1, stay as they are;
 * every other byte becomes \xNN (so '\' is \x5C and a value never holds a space). */
static enum wxp_code add_text(struct wxp_buf *b, const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    enum wxp_code rc = WXP_OK;
    size_t i = 0;

    while (i < len && rc == WXP_OK) {
        size_t n = utf8_char(u + i, len - i);
        if (n == 1 && u[i] > 0x20 && u[i] < 0x7F && u[i] != '\\') {
            rc = wxp_buf_add(b, s + i, 1);
        } else if (n > 1 && !is_c1(u + i, n)) {
            rc = wxp_buf_add(b, s + i, n);
        } else {
            n = n == 0 ? 1 : n;
            rc = add_hex(b, u + i, n);
        }
        i += n;
    }
    return rc;
}

/* A JSON string literal: '"', '\' and controls escaped, C1 controls as \u00NN, valid UTF-8 kept,
 * and each byte of invalid UTF-8 as the six characters \\xNN (a backslash, then xNN). */
static enum wxp_code add_json(struct wxp_buf *b, const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    enum wxp_code rc = wxp_buf_add(b, "\"", 1);
    size_t i = 0;

    while (i < len && rc == WXP_OK) {
        size_t n = utf8_char(u + i, len - i);
        if (n == 0) {
            char esc[5] = {'\\', '\\', 'x', HEX[u[i] >> 4], HEX[u[i] & 15]};
            rc = wxp_buf_add(b, esc, sizeof esc);
            n = 1;
        } else if (n == 1 &&
                   (u[i] == '"' || u[i] == '\\' || u[i] == '\n' || u[i] == '\r' || u[i] == '\t')) {
            char esc[2] = {'\\', u[i] == '\n'   ? 'n'
                                 : u[i] == '\r' ? 'r'
                                 : u[i] == '\t' ? 't'
                                                : (char)u[i]};
            rc = wxp_buf_add(b, esc, sizeof esc);
        } else if ((n == 1 && (u[i] < 0x20 || u[i] == 0x7F)) || is_c1(u + i, n)) {
            unsigned ch = n == 1 ? u[i] : u[i + 1];
            char esc[6] = {'\\', 'u', '0', '0', HEX[ch >> 4], HEX[ch & 15]};
            rc = wxp_buf_add(b, esc, sizeof esc);
        } else {
            rc = wxp_buf_add(b, s + i, n);
        }
        i += n;
    }
    return rc == WXP_OK ? wxp_buf_add(b, "\"", 1) : rc;
}

static enum wxp_code add_json_or_null(struct wxp_buf *b, const char *s)
{
    return s != NULL ? add_json(b, s, strlen(s)) : wxp_buf_addstr(b, "null");
}

static enum wxp_code add_text_or_dash(struct wxp_buf *b, const char *s)
{
    return s != NULL && s[0] != '\0' ? add_text(b, s, strlen(s)) : wxp_buf_addstr(b, "-");
}

enum wxp_code mock_log_line(struct wxp_buf *out, bool json, const char *when,
                            const struct mock_request *req, const struct mock_response *resp,
                            const char *request_id, long long latency_ms)
{
    const char *target = req->target != NULL ? req->target : "";
    size_t path_len = strcspn(target, "?");
    size_t start = out->len;
    unsigned status = resp->drop ? 0U : resp->status;
    const char *method = req->method;
    size_t method_len = strnlen(req->method, sizeof req->method);
    enum wxp_code rc;

    if (path_len > MOCK_LOG_PATH_MAX) {
        path_len = MOCK_LOG_PATH_MAX;
    }
    if (json) {
        rc = wxp_buf_addstr(out, "{\"time\":");
        if (rc == WXP_OK) {
            rc = add_json(out, when, strlen(when));
        }
        if (rc == WXP_OK) {
            rc = wxp_buf_addf(out, ",\"seq\":%llu,\"method\":", (unsigned long long)req->seq);
        }
        if (rc == WXP_OK) {
            rc = add_json(out, method, method_len);
        }
        if (rc == WXP_OK) {
            rc = wxp_buf_addstr(out, ",\"path\":");
        }
        if (rc == WXP_OK) {
            rc = add_json(out, target, path_len);
        }
        if (rc == WXP_OK) {
            rc = wxp_buf_addf(out, ",\"status\":%u,\"code\":", status);
        }
        if (rc == WXP_OK) {
            rc = add_json_or_null(out, resp->code[0] != '\0' ? resp->code : NULL);
        }
        if (rc == WXP_OK) {
            rc = wxp_buf_addstr(out, ",\"request_id\":");
        }
        if (rc == WXP_OK) {
            rc = add_json_or_null(out, request_id);
        }
        if (rc == WXP_OK) {
            rc = wxp_buf_addf(out, ",\"latency_ms\":%lld,\"failed_check\":", latency_ms);
        }
        if (rc == WXP_OK) {
            rc = add_json_or_null(out, resp->failed_check);
        }
        if (rc == WXP_OK) {
            rc = wxp_buf_addstr(out, "}\n");
        }
    } else {
        rc = wxp_buf_addf(out, "wxpay-mock: seq=%llu method=", (unsigned long long)req->seq);
        if (rc == WXP_OK) {
            rc = method_len > 0 ? add_text(out, method, method_len) : wxp_buf_addstr(out, "-");
        }
        if (rc == WXP_OK) {
            rc = wxp_buf_addstr(out, " path=");
        }
        if (rc == WXP_OK) {
            rc = path_len > 0 ? add_text(out, target, path_len) : wxp_buf_addstr(out, "-");
        }
        if (rc == WXP_OK) {
            rc = wxp_buf_addf(out, " status=%u code=", status);
        }
        if (rc == WXP_OK) {
            rc = add_text_or_dash(out, resp->code);
        }
        if (rc == WXP_OK) {
            rc = wxp_buf_addf(out, " latency_ms=%lld check=", latency_ms);
        }
        if (rc == WXP_OK) {
            rc = add_text_or_dash(out, resp->failed_check);
        }
        if (rc == WXP_OK) {
            rc = wxp_buf_addstr(out, resp->drop ? " dropped=1\n" : "\n");
        }
    }
    if (rc != WXP_OK) {
        out->len = start;
        if (out->ptr != NULL) {
            out->ptr[start] = '\0';
        }
    }
    return rc;
}

enum wxp_code mock_log_notify_line(struct wxp_buf *out, bool json, const struct mock_log_notify *o)
{
    size_t start = out->len;
    enum wxp_code rc;

    if (json) {
        rc = wxp_buf_addf(
            out, "{\"notify\":%llu,\"direction\":\"out\",\"id\":", (unsigned long long)o->n);
        if (rc == WXP_OK) {
            rc = add_json(out, o->id, strlen(o->id));
        }
        if (rc == WXP_OK) {
            rc = wxp_buf_addstr(out, ",\"url\":");
        }
        if (rc == WXP_OK) {
            rc = add_json(out, o->url, strlen(o->url));
        }
        if (rc == WXP_OK) {
            rc = wxp_buf_addf(out, ",\"status\":%ld,\"latency_ms\":%lld,\"fault\":", o->status,
                              o->latency_ms);
        }
        if (rc == WXP_OK) {
            rc = add_json(out, o->fault, strlen(o->fault));
        }
        if (rc == WXP_OK) {
            rc = wxp_buf_addstr(out, ",\"error\":");
        }
        if (rc == WXP_OK) {
            rc = add_json_or_null(out, o->error[0] != '\0' ? o->error : NULL);
        }
        if (rc == WXP_OK) {
            rc = wxp_buf_addstr(out, "}\n");
        }
    } else {
        rc = wxp_buf_addf(out, "wxpay-mock: notify n=%llu id=", (unsigned long long)o->n);
        if (rc == WXP_OK) {
            rc = add_text_or_dash(out, o->id);
        }
        if (rc == WXP_OK) {
            rc = wxp_buf_addstr(out, " direction=out url=");
        }
        if (rc == WXP_OK) {
            rc = add_text_or_dash(out, o->url);
        }
        if (rc == WXP_OK) {
            rc = wxp_buf_addf(out, " status=%ld latency_ms=%lld fault=", o->status, o->latency_ms);
        }
        if (rc == WXP_OK) {
            rc = add_text_or_dash(out, o->fault);
        }
        if (rc == WXP_OK && o->error[0] != '\0') {
            rc = wxp_buf_addstr(out, " error=");
            if (rc == WXP_OK) {
                rc = add_text(out, o->error, strlen(o->error));
            }
        }
        if (rc == WXP_OK) {
            rc = wxp_buf_addstr(out, "\n");
        }
    }
    if (rc != WXP_OK) {
        out->len = start;
        if (out->ptr != NULL) {
            out->ptr[start] = '\0';
        }
    }
    return rc;
}
