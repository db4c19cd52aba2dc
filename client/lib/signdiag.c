/* SPDX-License-Identifier: MIT */
/* signdiag.c: why a SIGN_ERROR happened: the string we signed against the one the server says it
 * verified (detail.sign_information), part by part, and one line saying what most likely differs.
 * Printing is the caller's job (the wxpay command prints both strings and the verdict). */
#include <cJSON.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "wxp/json.h"
#include "wxp/mem.h"

/* The five parts of a request signing string, METHOD\nURL\nTIMESTAMP\nNONCE\nBODY\n.
 * rule: the request signing string. src: docs/protocol.md#request-signing-string */
#define NPARTS 5

static const struct {
    unsigned bit;
    const char *name;
    const char *advice;
} PARTS[NPARTS] = {
    {WXPAY_SP_METHOD, "method", "sign the HTTP method you send, in uppercase"},
    {WXPAY_SP_URL, "url",
     "sign the path and query exactly as sent (same percent-encoding, no host, query included)"},
    {WXPAY_SP_TIMESTAMP, "timestamp",
     "sign the timestamp you put in the Authorization header (compute it once)"},
    {WXPAY_SP_NONCE, "nonce", "sign the nonce_str you put in the Authorization header"},
    {WXPAY_SP_BODY, "body",
     "sign exactly the body bytes sent (no re-serialising, same whitespace and escaping)"},
};

/* Where each part starts and ends in a string. `end` of a part that the string does not hold
 * whole (no '\n' after it) is the string's length, with `whole` false. */
struct split {
    size_t start[NPARTS];
    size_t end[NPARTS];
    bool whole[NPARTS];
    bool present[NPARTS];
};

/* The first four parts end at a '\n'; the body is the rest without its final '\n'. `complete`
 * says the string is whole (not cut short). */
static void split_parts(const char *s, size_t len, bool complete, struct split *sp)
{
    size_t at = 0;

    memset(sp, 0, sizeof *sp);
    for (size_t i = 0; i < NPARTS; i++) {
        const char *nl = NULL;
        if (at > len || (at == len && !complete)) {
            return;
        }
        sp->present[i] = true;
        sp->start[i] = at;
        if (i + 1 < NPARTS) {
            nl = at < len ? memchr(s + at, '\n', len - at) : NULL;
            sp->end[i] = nl != NULL ? (size_t)(nl - s) : len;
            sp->whole[i] = nl != NULL;
            at = nl != NULL ? sp->end[i] + 1 : len + 1;
            continue;
        }
        sp->whole[i] = complete && len > at && s[len - 1] == '\n';
        sp->end[i] = sp->whole[i] ? len - 1 : len;
    }
}

/* The verdict, from the parts that differ or are unknown. */
static void write_verdict(struct wxpay_sign_diag *d)
{
    char list[96] = "";
    size_t first = NPARTS;

    if (d->strings_equal) {
        snprintf(d->verdict, sizeof d->verdict,
                 "the server verified exactly the string we signed: the signature itself is "
                 "wrong, so the private key is not the one of the certificate serial_no names "
                 "(check mch_key and mch_serial)");
        return;
    }
    for (size_t i = 0; i < NPARTS; i++) {
        if ((d->differs & PARTS[i].bit) == 0) {
            continue;
        }
        if (first == NPARTS) {
            first = i;
        }
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s",
                 list[0] != '\0' ? ", " : "", PARTS[i].name);
    }
    if (first != NPARTS) {
        snprintf(d->verdict, sizeof d->verdict, "%s differ%s: %s", list,
                 strchr(list, ',') != NULL ? "" : "s", PARTS[first].advice);
        return;
    }
    if (d->theirs_total != d->ours_len) {
        size_t i = 0;
        while (i + 1 < NPARTS && (d->unknown & PARTS[i].bit) == 0) {
            i++;
        }
        snprintf(d->verdict, sizeof d->verdict,
                 "the first %zu bytes agree but the server's string is %zu bytes and ours %zu: "
                 "most likely the %s differs: %s",
                 d->theirs_len, d->theirs_total, d->ours_len, PARTS[i].name, PARTS[i].advice);
        return;
    }
    snprintf(d->verdict, sizeof d->verdict,
             "the first %zu bytes and the length (%zu) agree; the rest is not shown: most likely "
             "the private key is not the one of the certificate serial_no names (check mch_key "
             "and mch_serial)",
             d->theirs_len, d->theirs_total);
}

static void compare(struct wxpay_sign_diag *d)
{
    struct split o, t;
    bool complete = d->theirs_len == d->theirs_total;

    split_parts(d->ours, d->ours_len, true, &o);
    split_parts(d->theirs, d->theirs_len, complete, &t);
    if (complete && d->theirs_len == d->ours_len && memcmp(d->ours, d->theirs, d->ours_len) == 0) {
        d->strings_equal = 1;
        return;
    }
    for (size_t i = 0; i < NPARTS; i++) {
        size_t olen = o.end[i] - o.start[i];
        size_t tlen = t.end[i] - t.start[i];
        if (!t.present[i]) {
            d->unknown |= PARTS[i].bit;
            continue;
        }
        if (t.whole[i] || (i + 1 == NPARTS && complete)) {
            /* A body signed without its final '\n' is whole but not `whole`. */
            if (!o.present[i] || o.whole[i] != t.whole[i] || olen != tlen ||
                memcmp(d->ours + o.start[i], d->theirs + t.start[i], tlen) != 0) {
                d->differs |= PARTS[i].bit;
            }
            continue;
        }
        /* Cut short: what is shown must be a prefix of ours. */
        if (!o.present[i] || tlen > olen ||
            memcmp(d->ours + o.start[i], d->theirs + t.start[i], tlen) != 0) {
            d->differs |= PARTS[i].bit;
        } else if (i + 1 == NPARTS && d->theirs_total != d->ours_len) {
            /* The body is last: its length follows from the whole string's. */
            d->differs |= PARTS[i].bit;
        } else {
            d->unknown |= PARTS[i].bit;
        }
    }
}

/* The member `name` of `obj`, or NULL when it is absent or given twice (cJSON keeps both and a
 * lookup would see the first: a body saying two things is not read). */
static const cJSON *member(const cJSON *obj, const char *name)
{
    const cJSON *found = NULL;

    if (!cJSON_IsObject(obj)) {
        return NULL;
    }
    for (const cJSON *m = obj->child; m != NULL; m = m->next) {
        if (m->string != NULL && strcmp(m->string, name) == 0) {
            if (found != NULL) {
                return NULL;
            }
            found = m;
        }
    }
    return found;
}

/* detail.detail.issue (as the live server nests it), else detail.issue. */
static void find_issue(const cJSON *detail, char *out, size_t cap)
{
    const char *v = cJSON_GetStringValue(member(member(detail, "detail"), "issue"));

    if (v == NULL) {
        v = cJSON_GetStringValue(member(detail, "issue"));
    }
    wxl_copy(out, cap, v, v != NULL ? strlen(v) : 0);
}

static enum wxpay_result_kind no_diag(struct wxpay_sign_diag *d, const char *why)
{
    snprintf(d->verdict, sizeof d->verdict, "%s", why);
    return WXPAY_ERR_LOCAL;
}

enum wxpay_result_kind wxpay_sign_compare(const char *ours, size_t ours_len, const char *body,
                                          size_t body_len, struct wxpay_sign_diag *out)
{
    cJSON *root = NULL;
    const cJSON *detail, *info, *msg, *total;
    size_t off = 0;
    enum wxpay_result_kind kind = WXPAY_ERR_LOCAL;

    if (out == NULL) {
        return WXPAY_ERR_LOCAL;
    }
    memset(out, 0, sizeof *out);
    if (ours == NULL || body == NULL || body_len == 0) {
        return no_diag(out, "no signing string or no answer body to compare");
    }
    /* Strict first (cJSON alone takes trailing bytes and invalid UTF-8; member() refuses the
     * duplicates it also takes). */
    if (body_len > WXL_BODY_MAX || wxp_json_check(body, body_len, &off, NULL) != WXP_OK) {
        return no_diag(out, "the answer body is not strict JSON");
    }
    root = cJSON_ParseWithLength(body, body_len);
    detail = member(root, "detail");
    info = member(detail, "sign_information");
    msg = member(info, "truncated_sign_message");
    total = member(info, "sign_message_length");
    if (!cJSON_IsString(msg)) {
        kind = no_diag(out, "the answer carries no detail.sign_information.truncated_sign_message");
        goto out;
    }
    find_issue(detail, out->issue, sizeof out->issue);
    out->ours = wxp_strndup(ours, ours_len);
    out->theirs = wxp_strndup(msg->valuestring, strlen(msg->valuestring));
    if (out->ours == NULL || out->theirs == NULL) {
        kind = no_diag(out, "out of memory");
        goto out;
    }
    out->ours_len = ours_len;
    out->theirs_len = strlen(msg->valuestring);
    out->theirs_total = out->theirs_len;
    /* A length shorter than what is shown, or no number, is not believed. */
    if (cJSON_IsNumber(total) && total->valuedouble >= (double)out->theirs_len &&
        total->valuedouble <= (double)WXL_BODY_MAX * 2) {
        out->theirs_total = (size_t)total->valuedouble;
    }
    compare(out);
    write_verdict(out);
    kind = WXPAY_OK;
out:
    cJSON_Delete(root);
    return kind;
}

enum wxpay_result_kind wxpay_sign_diagnose(const struct wxpay_client *c,
                                           const struct wxpay_result *r,
                                           struct wxpay_sign_diag *out)
{
    if (out != NULL) {
        memset(out, 0, sizeof *out);
    }
    if (c == NULL || r == NULL || out == NULL) {
        return out != NULL ? no_diag(out, "client and result are required") : WXPAY_ERR_LOCAL;
    }
    if (c->last_signed.len == 0) {
        return no_diag(out, "the last call signed nothing");
    }
    return wxpay_sign_compare(wxp_buf_cstr(&c->last_signed), c->last_signed.len, r->body,
                              r->body_len, out);
}

void wxpay_sign_diag_free(struct wxpay_sign_diag *d)
{
    if (d == NULL) {
        return;
    }
    if (d->ours != NULL) {
        memset(d->ours, 0, d->ours_len); /* it holds the request body */
    }
    wxp_free(d->ours);
    wxp_free(d->theirs);
    memset(d, 0, sizeof *d);
}
