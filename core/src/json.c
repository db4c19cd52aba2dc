/* SPDX-License-Identifier: MIT */
/* json.c: a strict RFC 8259 validator over raw bytes. It builds nothing; cJSON parses afterwards.
 * Iterative (an explicit stack of WXP_JSON_MAX_DEPTH), so hostile nesting cannot overflow ours. */
#include "wxp/json.h"

#include <stdbool.h>
#include <stdint.h>

#include "wxp/utf8.h"

struct cur {
    const unsigned char *p;
    size_t len;
    size_t i;
    const char *why;
};

static void ws(struct cur *c)
{
    while (c->i < c->len) {
        unsigned char ch = c->p[c->i];
        if (ch != ' ' && ch != '\t' && ch != '\n' && ch != '\r') {
            return;
        }
        c->i++;
    }
}

static bool lit(struct cur *c, const char *word, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        if (c->i + k >= c->len || c->p[c->i + k] != (unsigned char)word[k]) {
            c->why = "invalid literal";
            return false;
        }
    }
    c->i += n;
    return true;
}

static bool digits(struct cur *c)
{
    size_t start = c->i;
    while (c->i < c->len && c->p[c->i] >= '0' && c->p[c->i] <= '9') {
        c->i++;
    }
    return c->i > start;
}

/* number = [ minus ] int [ frac ] [ exp ]; int = zero / ( digit1-9 *DIGIT ) */
static bool number(struct cur *c)
{
    if (c->p[c->i] == '-') {
        c->i++;
    }
    if (c->i < c->len && c->p[c->i] == '0') {
        c->i++;
        if (c->i < c->len && c->p[c->i] >= '0' && c->p[c->i] <= '9') {
            c->why = "number has a leading zero";
            return false;
        }
    } else if (!digits(c)) {
        c->why = "invalid number";
        return false;
    }
    if (c->i < c->len && c->p[c->i] == '.') {
        c->i++;
        if (!digits(c)) {
            c->why = "number has no digits after '.'";
            return false;
        }
    }
    if (c->i < c->len && (c->p[c->i] == 'e' || c->p[c->i] == 'E')) {
        c->i++;
        if (c->i < c->len && (c->p[c->i] == '+' || c->p[c->i] == '-')) {
            c->i++;
        }
        if (!digits(c)) {
            c->why = "number has no exponent digits";
            return false;
        }
    }
    return true;
}

static int hexval(unsigned char ch)
{
    if (ch >= '0' && ch <= '9') {
        return ch - '0';
    }
    if (ch >= 'a' && ch <= 'f') {
        return ch - 'a' + 10;
    }
    if (ch >= 'A' && ch <= 'F') {
        return ch - 'A' + 10;
    }
    return -1;
}

/* Reads the 4 hex digits after "\u"; c->i is on the first. */
static long hex4(struct cur *c)
{
    long v = 0;
    if (c->len - c->i < 4) {
        return -1;
    }
    for (int k = 0; k < 4; k++) {
        int h = hexval(c->p[c->i + (size_t)k]);
        if (h < 0) {
            return -1;
        }
        v = v << 4 | h;
    }
    c->i += 4;
    return v;
}

/* c->i is on the opening quote. UTF-8 validity was checked over the whole input already. */
static bool string(struct cur *c)
{
    c->i++;
    while (c->i < c->len) {
        unsigned char ch = c->p[c->i];
        if (ch == '"') {
            c->i++;
            return true;
        }
        if (ch < 0x20) {
            c->why = "raw control character in a string";
            return false;
        }
        if (ch != '\\') {
            c->i++;
            continue;
        }
        c->i++;
        if (c->i >= c->len) {
            break;
        }
        ch = c->p[c->i++];
        if (ch == '"' || ch == '\\' || ch == '/' || ch == 'b' || ch == 'f' || ch == 'n' ||
            ch == 'r' || ch == 't') {
            continue;
        }
        if (ch != 'u') {
            c->why = "invalid escape in a string";
            return false;
        }
        long u = hex4(c);
        if (u < 0) {
            c->why = "invalid \\u escape";
            return false;
        }
        if (u == 0) {
            c->why = "\\u0000 is not allowed in a string";
            return false;
        }
        if (u >= 0xDC00 && u <= 0xDFFF) {
            c->why = "lone low surrogate escape";
            return false;
        }
        if (u >= 0xD800 && u <= 0xDBFF) {
            long lo;
            if (c->len - c->i < 2 || c->p[c->i] != '\\' || c->p[c->i + 1] != 'u') {
                c->why = "high surrogate escape without a low one";
                return false;
            }
            c->i += 2;
            lo = hex4(c);
            if (lo < 0xDC00 || lo > 0xDFFF) {
                c->why = "high surrogate escape without a low one";
                return false;
            }
        }
    }
    c->why = "unterminated string";
    return false;
}

enum wxp_code wxp_json_check(const char *p, size_t len, size_t *bad_offset, struct wxp_err *err)
{
    struct cur c = {(const unsigned char *)p, len, 0, NULL};
    struct wxp_utf8_info info;
    char stack[WXP_JSON_MAX_DEPTH]; /* '{' or '[' */
    size_t depth = 0;

    if (wxp_utf8_check(p, len, &info) != WXP_OK) {
        if (bad_offset) {
            *bad_offset = info.bad_offset;
        }
        return wxp_err_set(err, WXP_E_UTF8, "body", "body is not valid UTF-8 at offset %zu",
                           info.bad_offset);
    }
    ws(&c);
    for (;;) {
        /* Expecting a value. */
        if (c.i >= c.len) {
            c.why = "unexpected end of input";
            goto bad;
        }
        switch (c.p[c.i]) {
        case '{':
        case '[':
            if (depth == WXP_JSON_MAX_DEPTH) {
                c.why = "nesting is too deep";
                goto bad;
            }
            stack[depth++] = (char)c.p[c.i];
            c.i++;
            ws(&c);
            if (c.i < c.len && c.p[c.i] == (stack[depth - 1] == '{' ? '}' : ']')) {
                c.i++;
                depth--;
                goto after_value;
            }
            if (stack[depth - 1] == '{') {
                goto member_name;
            }
            continue;
        case '"':
            if (!string(&c)) {
                goto bad;
            }
            break;
        case 't':
            if (!lit(&c, "true", 4)) {
                goto bad;
            }
            break;
        case 'f':
            if (!lit(&c, "false", 5)) {
                goto bad;
            }
            break;
        case 'n':
            if (!lit(&c, "null", 4)) {
                goto bad;
            }
            break;
        default:
            if (c.p[c.i] == '-' || (c.p[c.i] >= '0' && c.p[c.i] <= '9')) {
                if (!number(&c)) {
                    goto bad;
                }
                break;
            }
            c.why = "unexpected character";
            goto bad;
        }
    after_value:
        ws(&c);
        if (depth == 0) {
            if (c.i != c.len) {
                c.why = "trailing characters after the JSON value";
                goto bad;
            }
            return WXP_OK;
        }
        if (c.i >= c.len) {
            c.why = "unexpected end of input";
            goto bad;
        }
        if (c.p[c.i] == ',') {
            c.i++;
            ws(&c);
            if (stack[depth - 1] == '{') {
                goto member_name;
            }
            continue;
        }
        if (c.p[c.i] == (stack[depth - 1] == '{' ? '}' : ']')) {
            c.i++;
            depth--;
            goto after_value;
        }
        c.why = "expected ',' or a closing bracket";
        goto bad;
    member_name:
        if (c.i >= c.len || c.p[c.i] != '"') {
            c.why = "expected a member name";
            goto bad;
        }
        if (!string(&c)) {
            goto bad;
        }
        ws(&c);
        if (c.i >= c.len || c.p[c.i] != ':') {
            c.why = "expected ':' after a member name";
            goto bad;
        }
        c.i++;
        ws(&c);
    }
bad:
    if (bad_offset) {
        *bad_offset = c.i;
    }
    return wxp_err_set(err, WXP_E_JSON_SYNTAX, "body", "body is not valid JSON: %s at offset %zu",
                       c.why, c.i);
}
