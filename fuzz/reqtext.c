/* SPDX-License-Identifier: MIT */
/* reqtext.c: builds mock requests from the fuzz text form (reqtext.h). */
#include <string.h>

#include "reqtext.h"
#include "wxp/mem.h"

/* One line from *pos, without its LF or CRLF; false at the end of the text. */
static bool next_line(const char *text, size_t len, size_t *pos, struct wxp_str *line)
{
    const char *nl;

    if (*pos >= len) {
        return false;
    }
    nl = memchr(text + *pos, '\n', len - *pos);
    line->ptr = text + *pos;
    line->len = nl ? (size_t)(nl - (text + *pos)) : len - *pos;
    *pos += line->len + (nl ? 1 : 0);
    if (line->len > 0 && line->ptr[line->len - 1] == '\r') {
        line->len--;
    }
    return true;
}

/* A C string copy, cut at an embedded NUL (MHD hands over 0-terminated strings). */
static char *cdup(const char *p, size_t n)
{
    const char *nul = memchr(p, '\0', n);
    return wxp_strndup(p, nul ? (size_t)(nul - p) : n);
}

bool reqtext_parse(const char *text, size_t len, struct mock_request *r)
{
    struct wxp_str line;
    size_t pos = 0;
    const char *sp;

    memset(r, 0, sizeof *r);
    wxp_buf_init(&r->body, MOCK_BODY_MAX);
    r->seq = 1;
    r->received_ms = FUZZ_REQTEXT_MS;
    memcpy(r->remote, "127.0.0.1", sizeof "127.0.0.1");
    if (!next_line(text, len, &pos, &line)) {
        line = (struct wxp_str){"", 0};
    }
    sp = memchr(line.ptr, ' ', line.len);
    {
        size_t mlen = sp ? (size_t)(sp - line.ptr) : line.len;
        const char *nul = memchr(line.ptr, '\0', mlen);
        if (nul != NULL) {
            mlen = (size_t)(nul - line.ptr);
        }
        if (mlen >= sizeof r->method) {
            mlen = sizeof r->method - 1;
        }
        memcpy(r->method, line.ptr, mlen);
        r->method[mlen] = '\0';
    }
    r->target = sp ? cdup(sp + 1, line.len - (size_t)(sp + 1 - line.ptr)) : cdup("", 0);
    if (r->target == NULL) {
        return false;
    }
    while (next_line(text, len, &pos, &line) && line.len > 0) {
        const char *colon = memchr(line.ptr, ':', line.len);
        size_t vstart;
        struct mock_header *h;
        if (colon == NULL || r->nheaders == MOCK_HEADERS_MAX) {
            continue; /* MHD refuses such a line; the handler never sees it */
        }
        vstart = (size_t)(colon - line.ptr) + 1;
        while (vstart < line.len && (line.ptr[vstart] == ' ' || line.ptr[vstart] == '\t')) {
            vstart++;
        }
        h = &r->headers[r->nheaders];
        h->name = cdup(line.ptr, (size_t)(colon - line.ptr));
        h->value = cdup(line.ptr + vstart, line.len - vstart);
        r->nheaders++;
        if (h->name == NULL || h->value == NULL) {
            return false;
        }
    }
    if (pos < len) {
        if (len - pos > MOCK_BODY_MAX) {
            r->body_too_large = true;
            return true;
        }
        return wxp_buf_add(&r->body, text + pos, len - pos) == WXP_OK;
    }
    return true;
}

void reqtext_free(struct mock_request *r)
{
    for (size_t i = 0; i < r->nheaders; i++) {
        wxp_free(r->headers[i].name);
        wxp_free(r->headers[i].value);
    }
    wxp_free(r->target);
    wxp_buf_free(&r->body);
    memset(r, 0, sizeof *r);
}

size_t reqtext_split(const char *text, size_t len, struct wxp_str *parts, size_t max)
{
    static const char sep[] = REQTEXT_SEPARATOR;
    const size_t seplen = sizeof sep - 1;
    size_t n = 0, start = 0, i = 0;

    while (n + 1 < max && i + seplen <= len) {
        if (memcmp(text + i, sep, seplen) == 0) {
            parts[n++] = (struct wxp_str){text + start, i - start};
            i += seplen;
            start = i;
        } else {
            i++;
        }
    }
    parts[n++] = (struct wxp_str){text + start, len - start};
    return n;
}
