/* SPDX-License-Identifier: MIT */
/* main.c: the wxpay command's flow: settings (opts.c) -> libwxpay client -> one call -> one line
 * (or one JSON object) and an exit status saying what happened. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h> /* CURLcode values only: wxpay links libwxpay, not libcurl */

#include "cli.h"
#include "wxpay/wxpay.h"

/* What the trace callback needs: whether to print, and the serial of the key the answer names. */
struct trace_ctx {
    int verbose;
    char serial[128];
};

/* The built-in TEST platform keys, written to a private directory for the library to load. */
struct tmpkeys {
    char dir[CLI_PATH_MAX - 32]; /* room left for the file names */
    char cert[CLI_PATH_MAX];
    char pub[CLI_PATH_MAX];
};

/* ---- printing ---- */

/* Writes `s` for a terminal: control bytes (other than tab) become \xNN; UTF-8 passes. */
static void put_clean(FILE *out, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
            fprintf(out, "\\x%02X", ch);
        } else {
            fputc(ch, out);
        }
    }
}

static void puts_clean(FILE *out, const char *s)
{
    put_clean(out, s, strlen(s));
}

/* Length of the valid UTF-8 sequence at s (n bytes left), or 0 when it is not valid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned cp;
    size_t len;
    if (s[0] < 0x80) {
        return 1;
    }
    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        len = 2;
        cp = s[0] & 0x1fu;
    } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        len = 3;
        cp = s[0] & 0x0fu;
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        len = 4;
        cp = s[0] & 0x07u;
    } else {
        return 0;
    }
    if (len > n) {
        return 0;
    }
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            return 0;
        }
        cp = (cp << 6) | (s[i] & 0x3fu);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff)) {
        return 0;
    }
    return len;
}

/* A JSON string; invalid UTF-8 becomes U+FFFD so the output is always valid JSON. */
static void json_str(FILE *out, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    fputc('"', out);
    for (size_t i = 0; i < n;) {
        size_t l = utf8_len(p + i, n - i);
        if (l == 0) {
            fputs("\\ufffd", out);
            i++;
            continue;
        }
        if (l > 1) {
            fwrite(p + i, 1, l, out);
        } else if (p[i] == '"' || p[i] == '\\') {
            fprintf(out, "\\%c", p[i]);
        } else if (p[i] == '\n') {
            fputs("\\n", out);
        } else if (p[i] == '\r') {
            fputs("\\r", out);
        } else if (p[i] == '\t') {
            fputs("\\t", out);
        } else if (p[i] < 0x20 || p[i] == 0x7f) {
            fprintf(out, "\\u%04x", p[i]);
        } else {
            fputc(p[i], out);
        }
        i += l;
    }
    fputc('"', out);
}

static void json_member(FILE *out, const char *key, const char *val, int comma)
{
    fprintf(out, "%s\"%s\":", comma ? "," : "", key);
    json_str(out, val, strlen(val));
}

/* Names of the parts in d->differs, for --json. */
static const struct {
    unsigned bit;
    const char *name;
} SIGN_PARTS[] = {
    {WXPAY_SP_METHOD, "method"}, {WXPAY_SP_URL, "url"},   {WXPAY_SP_TIMESTAMP, "timestamp"},
    {WXPAY_SP_NONCE, "nonce"},   {WXPAY_SP_BODY, "body"},
};

/* "sign_check": what wxpay_sign_diagnose found under a SIGN_ERROR, or null. */
static void json_sign_check(FILE *out, const struct wxpay_sign_diag *d)
{
    int n = 0;

    if (d == NULL) {
        fputs(",\"sign_check\":null", out);
        return;
    }
    fputs(",\"sign_check\":{\"differs\":[", out);
    for (size_t i = 0; i < sizeof SIGN_PARTS / sizeof SIGN_PARTS[0]; i++) {
        if (d->differs & SIGN_PARTS[i].bit) {
            fprintf(out, "%s\"%s\"", n++ > 0 ? "," : "", SIGN_PARTS[i].name);
        }
    }
    fprintf(out, "],\"strings_equal\":%s", d->strings_equal ? "true" : "false");
    json_member(out, "verdict", d->verdict, 1);
    json_member(out, "issue", d->issue, 1);
    fputs(",\"signed\":", out);
    json_str(out, d->ours, d->ours_len);
    fputs(",\"server_signed\":", out);
    json_str(out, d->theirs, d->theirs_len);
    fprintf(out, ",\"server_signed_length\":%zu}", d->theirs_total);
}

/* "fields": the documented fields of a 200 answer as an object, or null. */
static void json_fields(FILE *out, const struct wxpay_fields *f)
{
    if (f == NULL || f->count == 0) {
        fputs(",\"fields\":null", out);
        return;
    }
    fputs(",\"fields\":{", out);
    for (size_t i = 0; i < f->count; i++) {
        fprintf(out, "%s\"%s\":", i > 0 ? "," : "", f->field[i].name);
        json_str(out, f->field[i].value, f->field[i].len);
    }
    fputc('}', out);
}

/* What `certificates` got and wrote. */
struct certs_out {
    struct wxpay_certs certs;
    char paths[8][CLI_PATH_MAX + 64]; /* "" when not written (no --out) */
};

/* ,"trust_on_first_use":B,"certificates":[{"serial_no","effective_time","expire_time","file"}] */
static void json_certs(FILE *out, const struct certs_out *co)
{
    if (co == NULL) {
        return;
    }
    fprintf(out, ",\"trust_on_first_use\":%s,\"certificates\":[",
            co->certs.trust_on_first_use ? "true" : "false");
    for (size_t i = 0; i < co->certs.count; i++) {
        const struct wxpay_cert *c = &co->certs.cert[i];
        fputs(i > 0 ? ",{" : "{", out);
        json_member(out, "serial_no", c->serial_no, 0);
        json_member(out, "effective_time", c->effective_time, 1);
        json_member(out, "expire_time", c->expire_time, 1);
        fprintf(out, ",\"not_before\":%lld,\"not_after\":%lld", c->not_before, c->not_after);
        if (i < sizeof co->paths / sizeof co->paths[0] && co->paths[i][0] != '\0') {
            json_member(out, "file", co->paths[i], 1);
        } else {
            fputs(",\"file\":null", out);
        }
        fputc('}', out);
    }
    fputc(']', out);
}

/* The one JSON object printed with --json. `r` may be NULL (a usage error, `kind`); `d` is the
 * SIGN_ERROR diagnosis or NULL; `f` the answer's fields or NULL; `hint` is "" or one line. */
static void print_json(const struct wxpay_result *r, const char *kind, const char *error,
                       const struct wxpay_sign_diag *d, const struct wxpay_fields *f,
                       const char *hint, const struct certs_out *co)
{
    FILE *out = stdout;
    int has_detail = r != NULL && (r->detail_field[0] || r->detail_value[0] || r->detail_issue[0] ||
                                   r->detail_location[0]);

    fprintf(out, "{\"ok\":%s", r != NULL && r->kind == WXPAY_OK ? "true" : "false");
    json_member(out, "kind", kind, 1);
    fprintf(out, ",\"http_status\":%ld", r != NULL ? r->http_status : 0L);
    json_member(out, "request_id", r != NULL ? r->request_id : "", 1);
    json_member(out, "code", r != NULL ? r->code : "", 1);
    json_member(out, "message", r != NULL ? r->message : "", 1);
    if (has_detail) {
        fputs(",\"detail\":{", out);
        json_member(out, "field", r->detail_field, 0);
        json_member(out, "value", r->detail_value, 1);
        json_member(out, "issue", r->detail_issue, 1);
        json_member(out, "location", r->detail_location, 1);
        fputc('}', out);
    } else {
        fputs(",\"detail\":null", out);
    }
    json_member(out, "signature", wxpay_signature_name(r != NULL ? r->signature : WXPAY_SIG_NONE),
                1);
    json_member(out, "verify_failure",
                wxpay_verify_failure_name(r != NULL ? r->verify_failure : WXPAY_VF_NONE), 1);
    json_member(out, "error", error, 1);
    fprintf(out, ",\"attempts\":%u", r != NULL ? r->attempts : 0u);
    json_sign_check(out, d);
    json_member(out, "hint", hint, 1);
    json_fields(out, f);
    json_certs(out, co);
    if (r != NULL && r->body != NULL) {
        fputs(",\"body\":", out);
        json_str(out, r->body, r->body_len);
    } else {
        fputs(",\"body\":null", out);
    }
    fputs("}\n", out);
}

static const char *reason_phrase(long status)
{
    static const struct {
        long status;
        const char *text;
    } PHRASES[] = {
        {200, "OK"},
        {201, "Created"},
        {202, "Accepted"},
        {204, "No Content"},
        {400, "Bad Request"},
        {401, "Unauthorized"},
        {403, "Forbidden"},
        {404, "Not Found"},
        {405, "Method Not Allowed"},
        {413, "Content Too Large"},
        {429, "Too Many Requests"},
        {500, "Internal Server Error"},
        {502, "Bad Gateway"},
        {503, "Service Unavailable"},
        {504, "Gateway Timeout"},
    };
    for (size_t i = 0; i < sizeof PHRASES / sizeof PHRASES[0]; i++) {
        if (PHRASES[i].status == status) {
            return PHRASES[i].text;
        }
    }
    return "";
}

static void print_status_tail(FILE *out, const struct wxpay_result *r, const struct trace_ctx *tc)
{
    fputs("  Request-ID=", out);
    puts_clean(out, r->request_id[0] ? r->request_id : "(none)");
    fprintf(out, "  signature=%s", wxpay_signature_name(r->signature));
    if (r->signature == WXPAY_SIG_VALID && tc->serial[0]) {
        fputs(" (", out);
        puts_clean(out, tc->serial);
        fputc(')', out);
    }
    fputc('\n', out);
}

static void print_detail(FILE *out, const struct wxpay_result *r)
{
    const char *names[4] = {"field", "value", "issue", "location"};
    const char *vals[4] = {r->detail_field, r->detail_value, r->detail_issue, r->detail_location};
    int any = 0;
    for (size_t i = 0; i < 4; i++) {
        if (vals[i][0] == '\0') {
            continue;
        }
        fprintf(out, "%s%s=", any ? " " : "  detail: ", names[i]);
        puts_clean(out, vals[i]);
        any = 1;
    }
    if (any) {
        fputc('\n', out);
    }
}

/* A signing string on one line: \n, \r, \t and \\ are shown escaped, other control bytes as
 * \xNN; UTF-8 passes. */
static void put_escaped(FILE *out, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '\n') {
            fputs("\\n", out);
        } else if (ch == '\r') {
            fputs("\\r", out);
        } else if (ch == '\t') {
            fputs("\\t", out);
        } else if (ch == '\\') {
            fputs("\\\\", out);
        } else if (ch < 0x20 || ch == 0x7f) {
            fprintf(out, "\\x%02X", ch);
        } else {
            fputc(ch, out);
        }
    }
}

/* Under a SIGN_ERROR: what we signed and what the server verified, one above the other, and
 * what most likely differs (the comparison is libwxpay's: wxpay_sign_diagnose). */
static void print_sign_diag(FILE *out, const struct wxpay_sign_diag *d)
{
    if (d->issue[0] != '\0') {
        fputs("  issue: ", out);
        puts_clean(out, d->issue);
        fputc('\n', out);
    }
    fprintf(out, "  we signed       (%zu bytes): ", d->ours_len);
    put_escaped(out, d->ours, d->ours_len);
    fputc('\n', out);
    if (d->theirs_len == d->theirs_total) {
        fprintf(out, "  server verified (%zu bytes): ", d->theirs_total);
    } else {
        fprintf(out, "  server verified (%zu bytes, first %zu shown): ", d->theirs_total,
                d->theirs_len);
    }
    put_escaped(out, d->theirs, d->theirs_len);
    fputc('\n', out);
    fputs("  most likely: ", out);
    puts_clean(out, d->verdict);
    fputc('\n', out);
}

/* Transport failures where nothing answered at all: the usual cause is a mock not running. */
static int nothing_answered(int curl_code)
{
    return curl_code == CURLE_COULDNT_CONNECT || curl_code == CURLE_COULDNT_RESOLVE_HOST ||
           curl_code == CURLE_OPERATION_TIMEDOUT;
}

/* Under a transport failure: which base URL was used and where it came from, and, when nothing
 * answered, the usual cause with a local mock. */
static void print_transport_hint(FILE *out, const struct wxpay_result *r, const struct cli_opts *o)
{
    fputs("  hint: the base URL was ", out);
    puts_clean(out, o->base_url);
    fputs(" (from ", out);
    puts_clean(out, o->base_url_from);
    fputs(")\n", out);
    if (!nothing_answered(r->curl_code)) {
        return;
    }
    fputs("  hint: is wxpay-mock running there? Start one with 'wxpay-mock --listen 127.0.0.1:0 "
          "--ready-file mock.url'\n"
          "        and point wxpay at it: export WXPAY_BASE_URL=$(cat mock.url), or "
          "--base-url URL\n",
          out);
}

/* The readable report: success on stdout, everything else on stderr. A 200 of an operation
 * shows its documented fields, one NAME=VALUE per line; any other body is shown as it came. */
static void print_text(const struct wxpay_result *r, const struct trace_ctx *tc,
                       const struct wxpay_sign_diag *d, const struct wxpay_fields *f,
                       const struct cli_opts *o)
{
    const char *phrase = reason_phrase(r->http_status);
    const char *why;

    switch (r->kind) {
    case WXPAY_OK:
        fprintf(stdout, "%ld%s%s", r->http_status, phrase[0] ? " " : "", phrase);
        print_status_tail(stdout, r, tc);
        if (f->count > 0) {
            for (size_t i = 0; i < f->count; i++) {
                fprintf(stdout, "%s=", f->field[i].name);
                put_clean(stdout, f->field[i].value, f->field[i].len);
                fputc('\n', stdout);
            }
            return;
        }
        if (r->body != NULL && r->body_len > 0) {
            fwrite(r->body, 1, r->body_len, stdout);
            if (r->body[r->body_len - 1] != '\n') {
                fputc('\n', stdout);
            }
        }
        return;
    case WXPAY_ERR_WECHAT:
        fprintf(stderr, "HTTP %ld", r->http_status);
        if (r->code[0]) {
            fputc(' ', stderr);
            puts_clean(stderr, r->code);
            fputs(": ", stderr);
            puts_clean(stderr, r->message);
        } else {
            fprintf(stderr, "%s%s: ", phrase[0] ? " " : "", phrase);
            puts_clean(stderr, r->error);
        }
        print_status_tail(stderr, r, tc);
        print_detail(stderr, r);
        /* rule: a merchant with only the platform public key gets 404 RESOURCE_NOT_EXISTS for
         * the certificate list. src: [I-JAVA354] */
        if (o->cmd == CLI_CMD_CERTIFICATES && strcmp(r->code, "RESOURCE_NOT_EXISTS") == 0) {
            fputs("  hint: this merchant has no platform certificate (public-key mode): verify "
                  "answers with --platform-public-key and --platform-public-key-id instead\n",
                  stderr);
        }
        if (d != NULL) {
            print_sign_diag(stderr, d);
        }
        return;
    case WXPAY_ERR_VERIFY:
        why = r->verify_detail[0] ? r->verify_detail : r->error;
        fprintf(stderr, "verification FAILED (%s): ", wxpay_verify_failure_name(r->verify_failure));
        puts_clean(stderr, why);
        fputs(" \xE2\x80\x94 treat as forged\n", stderr);
        fprintf(stderr, "  HTTP %ld%s%s", r->http_status, phrase[0] ? " " : "", phrase);
        print_status_tail(stderr, r, tc);
        return;
    case WXPAY_ERR_TRANSPORT:
        why = strncmp(r->error, "transport: ", 11) == 0 ? r->error + 11 : r->error;
        fputs("transport error: ", stderr);
        puts_clean(stderr, why);
        fputc('\n', stderr);
        print_transport_hint(stderr, r, o);
        return;
    case WXPAY_ERR_NOTIFY:
    case WXPAY_ERR_LOCAL:
        break;
    }
    fputs("error: ", stderr);
    puts_clean(stderr, r->error);
    fputc('\n', stderr);
}

/* ---- -v ---- */

/* Prints `text` line by line after `prefix`; with `visible_nl` each '\n' is also shown as \n. */
static void trace_lines(const char *prefix, const char *text, size_t len, int visible_nl)
{
    size_t i = 0;
    while (len > 0 && !visible_nl && (text[len - 1] == '\n' || text[len - 1] == '\r')) {
        len--;
    }
    do {
        const char *nl = memchr(text + i, '\n', len - i);
        size_t end = nl != NULL ? (size_t)(nl - text) : len;
        size_t stop = end;
        if (!visible_nl && stop > i && text[stop - 1] == '\r') {
            stop--;
        }
        fputs(prefix, stderr);
        put_clean(stderr, text + i, stop - i);
        if (visible_nl && nl != NULL) {
            fputs("\\n", stderr);
        }
        fputc('\n', stderr);
        i = nl != NULL ? end + 1 : len;
    } while (i < len);
}

/* Remembers Wechatpay-Serial from the response headers (given one or many per call). */
static void note_serial(struct trace_ctx *tc, const char *text, size_t len)
{
    static const char NAME[] = "Wechatpay-Serial:";
    size_t i = 0;
    while (i < len) {
        const char *nl = memchr(text + i, '\n', len - i);
        size_t end = nl != NULL ? (size_t)(nl - text) : len;
        if (end - i > sizeof NAME - 1 && strncasecmp(text + i, NAME, sizeof NAME - 1) == 0) {
            size_t s = i + sizeof NAME - 1, e = end;
            while (s < e && (text[s] == ' ' || text[s] == '\t')) {
                s++;
            }
            while (e > s && (text[e - 1] == '\r' || text[e - 1] == ' ' || text[e - 1] == '\t')) {
                e--;
            }
            if (e - s < sizeof tc->serial) {
                memcpy(tc->serial, text + s, e - s);
                tc->serial[e - s] = '\0';
            }
        }
        i = end + 1;
    }
}

static void trace_fn(void *ud, const char *what, const char *text, size_t len)
{
    struct trace_ctx *tc = ud;
    if (strcmp(what, "response-header") == 0) {
        note_serial(tc, text, len);
    }
    if (!tc->verbose) {
        return;
    }
    if (strcmp(what, "signing-string") == 0 || strcmp(what, "verify-string") == 0) {
        fprintf(stderr, "* %s:\n",
                strcmp(what, "signing-string") == 0 ? "signing string" : "verify string");
        trace_lines("*   ", text, len, 1);
    } else if (strncmp(what, "request-", 8) == 0) {
        if (strcmp(what, "request-body") == 0) {
            fputs(">\n", stderr); /* the blank line between headers and body */
        }
        trace_lines("> ", text, len, 0);
    } else if (strncmp(what, "response-", 9) == 0) {
        if (strcmp(what, "response-body") == 0) {
            fputs("<\n", stderr);
        }
        trace_lines("< ", text, len, 0);
    } else {
        fprintf(stderr, "* %s:\n", what);
        trace_lines("*   ", text, len, 0);
    }
}

/* ---- the built-in TEST platform keys ---- */

static int write_file(const char *path, const char *text)
{
    size_t len = strlen(text), done = 0;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0) {
        return -1;
    }
    while (done < len) {
        ssize_t n = write(fd, text + done, len - done);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            close(fd);
            return -1;
        }
        done += (size_t)n;
    }
    return close(fd);
}

static void tmpkeys_remove(struct tmpkeys *t)
{
    if (t->dir[0] == '\0') {
        return;
    }
    unlink(t->cert);
    unlink(t->pub);
    rmdir(t->dir);
    t->dir[0] = '\0';
}

/* mkdtemp creates the directory 0700; the files are 0600 and removed right after loading. */
static int tmpkeys_write(struct tmpkeys *t, const char *base, char *err, size_t errsz)
{
    int n = snprintf(t->dir, sizeof t->dir, "%s/wxpay-cli-XXXXXX", base);
    if (n < 0 || (size_t)n >= sizeof t->dir || mkdtemp(t->dir) == NULL) {
        snprintf(err, errsz, "cannot create a private directory under %s: %s", base,
                 strerror(errno));
        t->dir[0] = '\0';
        return -1;
    }
    snprintf(t->cert, sizeof t->cert, "%s/platform.cert.pem", t->dir);
    snprintf(t->pub, sizeof t->pub, "%s/platform.pub.pem", t->dir);
    if (write_file(t->cert, cli_embed_platform_cert) != 0 ||
        write_file(t->pub, cli_embed_platform_pubkey) != 0) {
        snprintf(err, errsz, "cannot write the built-in platform keys to %s: %s", t->dir,
                 strerror(errno));
        tmpkeys_remove(t);
        return -1;
    }
    return 0;
}

/* ---- the result file ---- */

/* rule: with WXPAY_RESULT_FILE set, a client tells wxpay-conformance what it concluded:
 * {"status", "code", "verified": true|false|null, "error"}. verified is the answer's signature,
 * whatever its status: true when it verified, false when it was checked and failed or missing,
 * null when no answer came. src: docs/conformance.md#the-result-file */
static void write_result_file(const char *path, const struct wxpay_result *r)
{
    FILE *f = fopen(path, "w");
    const char *verified = r->signature == WXPAY_SIG_VALID  ? "true"
                           : r->signature == WXPAY_SIG_NONE ? "null"
                                                            : "false";
    if (f == NULL) {
        fprintf(stderr, "wxpay: warning: cannot write WXPAY_RESULT_FILE %s: %s\n", path,
                strerror(errno));
        return;
    }
    if (r->http_status > 0) {
        fprintf(f, "{\"status\":%ld", r->http_status);
    } else {
        fputs("{\"status\":null", f);
    }
    if (r->code[0] != '\0') {
        json_member(f, "code", r->code, 1);
    } else {
        fputs(",\"code\":null", f);
    }
    fprintf(f, ",\"verified\":%s", verified);
    if (r->kind != WXPAY_OK) {
        json_member(f, "error", r->error, 1);
    } else {
        fputs(",\"error\":null", f);
    }
    fputs("}\n", f);
    if (fclose(f) != 0) {
        fprintf(stderr, "wxpay: warning: cannot write WXPAY_RESULT_FILE %s: %s\n", path,
                strerror(errno));
    }
}

/* ---- flow ---- */

static enum cli_exit exit_for(enum wxpay_result_kind k)
{
    switch (k) {
    case WXPAY_OK:
        return CLI_EXIT_OK;
    case WXPAY_ERR_WECHAT:
        return CLI_EXIT_WECHAT;
    case WXPAY_ERR_VERIFY:
        return CLI_EXIT_VERIFY;
    case WXPAY_ERR_TRANSPORT:
        return CLI_EXIT_TRANSPORT;
    case WXPAY_ERR_NOTIFY:
        return CLI_EXIT_NOTIFY;
    case WXPAY_ERR_LOCAL:
        break;
    }
    return CLI_EXIT_LOCAL;
}

/* A failure of ours, not of a call: reported like a usage error but with its own exit status. */
static enum cli_exit report_error(const struct cli_opts *o, enum cli_exit rc, const char *kind,
                                  const char *msg)
{
    if (o->json) {
        print_json(NULL, kind, msg, NULL, NULL, "", NULL);
    } else if (rc == CLI_EXIT_USAGE) {
        fputs("wxpay: ", stderr);
        puts_clean(stderr, msg);
        fputs("\nTry 'wxpay --help'.\n", stderr);
    } else {
        fputs("error: ", stderr);
        puts_clean(stderr, msg);
        fputc('\n', stderr);
    }
    return rc;
}

static void build_config(const struct cli_opts *o, struct wxpay_config *cfg, struct trace_ctx *tc,
                         const char *merchant_serial)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->base_url = o->base_url;
    cfg->mchid = o->builtin_merchant ? CLI_TEST_MCHID : o->mchid;
    cfg->mch_serial = o->builtin_merchant ? merchant_serial : o->mch_serial;
    cfg->mch_cert_file = o->builtin_merchant ? NULL : o->mch_cert;
    cfg->mch_key_file = o->builtin_merchant ? NULL : o->mch_key;
    cfg->mch_key_pem = o->builtin_merchant ? cli_embed_merchant_key : NULL;
    cfg->platform_cert_files = o->platform_certs;
    cfg->platform_pubkey_files = o->pubkey_files;
    cfg->platform_pubkey_ids = o->pubkey_ids;
    cfg->accept_serial = o->accept_serial;
    cfg->ca_file = o->ca_file;
    cfg->timeout_ms = o->timeout_ms;
    cfg->connect_timeout_ms = o->connect_timeout_ms;
    cfg->skew = o->skew;
    cfg->retry.max_retries = (unsigned)o->retries;
    cfg->trace.fn = trace_fn;
    cfg->trace.ud = tc;
    cfg->apiv3_key_file = o->apiv3_key_file;
    cfg->apiv3_key = o->apiv3_key;
}

/* Writes DIR/wechatpay_<serial>.pem (0644: certificates are public); the serial is the
 * certificate's own, upper-case hex, checked by the library. Returns 0, or -1 with r->error. */
static int write_cert(const char *dir, const struct wxpay_cert *cert, char *path, size_t cap,
                      struct wxpay_result *r)
{
    size_t done = 0;
    int fd;
    int n = snprintf(path, cap, "%s/wechatpay_%s.pem", dir, cert->serial_no);

    if (n < 0 || (size_t)n >= cap) {
        snprintf(r->error, sizeof r->error, "--out: the directory name is too long");
        return -1;
    }
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        snprintf(r->error, sizeof r->error, "--out: cannot write %.400s: %s", path,
                 strerror(errno));
        return -1;
    }
    while (done < cert->pem_len) {
        ssize_t w = write(fd, cert->pem + done, cert->pem_len - done);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            snprintf(r->error, sizeof r->error, "--out: cannot write %.400s: %s", path,
                     strerror(errno));
            close(fd);
            return -1;
        }
        done += (size_t)w;
    }
    if (close(fd) != 0) {
        snprintf(r->error, sizeof r->error, "--out: cannot write %.400s: %s", path,
                 strerror(errno));
        return -1;
    }
    return 0;
}

/* certificates: download, then write each certificate into --out. A file that cannot be written
 * turns the result into a local failure (exit 5). */
static void run_certificates(const struct cli_opts *o, struct wxpay_client *c, struct certs_out *co,
                             struct wxpay_result *r)
{
    if (wxpay_certificates(c, &co->certs, r) != WXPAY_OK || o->out_dir == NULL) {
        return;
    }
    for (size_t i = 0; i < co->certs.count; i++) {
        if (i >= sizeof co->paths / sizeof co->paths[0]) {
            r->kind = WXPAY_ERR_LOCAL;
            snprintf(r->error, sizeof r->error, "--out: more than %zu certificates",
                     sizeof co->paths / sizeof co->paths[0]);
            return;
        }
        if (write_cert(o->out_dir, &co->certs.cert[i], co->paths[i], sizeof co->paths[i], r) != 0) {
            r->kind = WXPAY_ERR_LOCAL;
            return;
        }
    }
}

/* certificates, text: how the answer was verified, then one line per certificate. */
static void print_certs(const struct wxpay_result *r, const struct trace_ctx *tc,
                        const struct certs_out *co)
{
    fprintf(stdout, "%ld %s", r->http_status, reason_phrase(r->http_status));
    print_status_tail(stdout, r, tc);
    fputs(co->certs.trust_on_first_use
              ? "verified with a certificate from this same answer: trust on first use (no "
                "platform key was configured; check the serial out of band)\n"
              : "verified with a configured platform key\n",
          stdout);
    for (size_t i = 0; i < co->certs.count; i++) {
        const struct wxpay_cert *c = &co->certs.cert[i];
        fprintf(stdout, "%s %s .. %s", c->serial_no, c->effective_time, c->expire_time);
        if (i < sizeof co->paths / sizeof co->paths[0] && co->paths[i][0] != '\0') {
            fputs(" -> ", stdout);
            puts_clean(stdout, co->paths[i]);
        }
        fputc('\n', stdout);
    }
}

/* The command's call: each payscore command is one of libwxpay's typed calls. */
static enum wxpay_result_kind run(const struct cli_opts *o, struct wxpay_client *c,
                                  struct wxpay_fields *f, struct wxpay_result *r)
{
    struct wxpay_apply a = {o->service_id, o->appid, o->authorization_code, o->notify_url};
    struct wxpay_query_by_code qc = {o->authorization_code, o->service_id};
    struct wxpay_query_by_openid qo = {o->openid, o->appid, o->service_id};
    struct wxpay_terminate_by_code tc = {o->authorization_code, o->service_id, o->reason};
    struct wxpay_terminate t = {o->openid, o->service_id, o->appid, o->reason};
    struct wxpay_param p[CLI_MAX_PARAMS];
    int by_code = o->authorization_code != NULL;

    memset(f, 0, sizeof *f);
    switch (o->cmd) {
    case CLI_CMD_REQUEST:
        return wxpay_request(c, o->method, o->path, o->query, o->data, r);
    case CLI_CMD_APPLY:
        return wxpay_payscore_apply(c, &a, f, r);
    case CLI_CMD_QUERY:
        return by_code ? wxpay_payscore_query_by_code(c, &qc, f, r)
                       : wxpay_payscore_query_by_openid(c, &qo, f, r);
    case CLI_CMD_CALL:
        for (size_t i = 0; i < o->nparams; i++) {
            p[i].name = o->param_names[i];
            p[i].value = o->param_values[i];
        }
        return wxpay_call(c, o->operation, p, o->nparams, f, r);
    case CLI_CMD_TERMINATE:
    case CLI_CMD_CERTIFICATES:
    case CLI_CMD_NOTIFY_LISTEN:
    case CLI_CMD_NOTIFY_VERIFY:
    case CLI_CMD_NONE:
        break;
    }
    return by_code ? wxpay_payscore_terminate_by_code(c, &tc, r)
                   : wxpay_payscore_terminate(c, &t, r);
}

int main(int argc, char **argv)
{
    struct cli_opts o;
    struct tmpkeys keys;
    struct trace_ctx tc;
    struct wxpay_config cfg;
    struct wxpay_client *c = NULL;
    struct wxpay_result r;
    char err[CLI_ERR_MAX];
    char merchant_serial[128] = "";
    char hint[CLI_ERR_MAX] = "";
    struct wxpay_sign_diag diag;
    struct wxpay_fields fields;
    struct certs_out co;
    int have_diag = 0;
    enum cli_exit rc;

    memset(&fields, 0, sizeof fields);
    memset(&co, 0, sizeof co);
    memset(&keys, 0, sizeof keys);
    memset(&tc, 0, sizeof tc);
    memset(&r, 0, sizeof r);
    memset(&diag, 0, sizeof diag);
    cli_opts_init(&o);
    rc = cli_opts_load(&o, argc, argv, err, sizeof err);
    tc.verbose = o.verbose;
    if (rc != CLI_EXIT_OK) {
        if (!o.json && o.cmd == CLI_CMD_NONE && argc == 1) {
            cli_usage(stderr, CLI_CMD_NONE);
        } else {
            report_error(&o, rc, "usage", err);
        }
        goto out;
    }
    if (o.help) {
        cli_usage(stdout, o.cmd);
        goto out;
    }
    if (o.version) {
        printf("wxpay %s (libwxpay %s)\n", WXP_VERSION, WXPAY_VERSION);
        goto out;
    }
    if (o.builtin_merchant &&
        cli_pem_cert_serial(cli_embed_merchant_cert, strlen(cli_embed_merchant_cert),
                            merchant_serial, sizeof merchant_serial) != 0) {
        rc = report_error(&o, CLI_EXIT_LOCAL, "local",
                          "the built-in TEST certificate is unreadable");
        goto out;
    }
    if (o.builtin_platform) {
        if (tmpkeys_write(&keys, o.tmp_base, err, sizeof err) != 0) {
            rc = report_error(&o, CLI_EXIT_LOCAL, "local", err);
            goto out;
        }
        o.platform_certs[0] = keys.cert;
        o.pubkey_files[0] = keys.pub;
        o.pubkey_ids[0] = CLI_TEST_PUBKEY_ID;
    }
    if (o.builtin_merchant && !o.json) {
        fprintf(stderr, "wxpay: using the built-in TEST merchant " CLI_TEST_MCHID
                        " (no credentials configured)\n");
    }
    build_config(&o, &cfg, &tc, merchant_serial);
    /* A certificate download made while a notification waits must fit the 5 s a handler has. */
    if (o.cmd == CLI_CMD_NOTIFY_LISTEN && o.timeout_ms == 0) {
        cfg.timeout_ms = 4000;
    }
    /* A configuration the library refuses (missing file, key/cert mismatch) is a usage error. */
    if ((o.notify_only ? wxpay_notify_client_new(&cfg, &c, &r) : wxpay_client_new(&cfg, &c, &r)) !=
        WXPAY_OK) {
        tmpkeys_remove(&keys);
        rc = CLI_EXIT_USAGE;
        if (o.json) {
            print_json(&r, wxpay_result_kind_name(r.kind), r.error, NULL, NULL, "", NULL);
        } else {
            fputs("wxpay: ", stderr);
            puts_clean(stderr, r.error);
            fputc('\n', stderr);
        }
        goto out;
    }
    /* The library has loaded the keys: the temporary copies are no longer needed. */
    tmpkeys_remove(&keys);
    /* On stderr even with --json: stdout keeps its one JSON object. */
    if (wxpay_client_warning(c) != NULL) {
        fputs("wxpay: warning: ", stderr);
        puts_clean(stderr, wxpay_client_warning(c));
        fputc('\n', stderr);
    }
    wxpay_result_free(&r);
    memset(&r, 0, sizeof r);

    if (o.cmd == CLI_CMD_NOTIFY_LISTEN) {
        rc = cli_notify_listen(&o, c);
        goto out;
    }
    if (o.cmd == CLI_CMD_NOTIFY_VERIFY) {
        rc = cli_notify_verify(&o, c);
        goto out;
    }
    if (o.cmd == CLI_CMD_CERTIFICATES) {
        run_certificates(&o, c, &co, &r);
    } else {
        run(&o, c, &fields, &r);
    }
    rc = exit_for(r.kind);
    if (getenv("WXPAY_RESULT_FILE") != NULL && getenv("WXPAY_RESULT_FILE")[0] != '\0') {
        write_result_file(getenv("WXPAY_RESULT_FILE"), &r);
    }
    if (r.kind == WXPAY_ERR_WECHAT && strcmp(r.code, "SIGN_ERROR") == 0) {
        have_diag = wxpay_sign_diagnose(c, &r, &diag) == WXPAY_OK;
    }
    if (r.kind == WXPAY_ERR_TRANSPORT) {
        snprintf(hint, sizeof hint, "the base URL was %.1200s (from %s)%s", o.base_url,
                 o.base_url_from,
                 nothing_answered(r.curl_code)
                     ? "; is wxpay-mock running there? Set WXPAY_BASE_URL or --base-url to its URL"
                     : "");
    }
    if (o.json) {
        print_json(&r, wxpay_result_kind_name(r.kind), r.error, have_diag ? &diag : NULL, &fields,
                   hint, o.cmd == CLI_CMD_CERTIFICATES ? &co : NULL);
    } else if (o.cmd == CLI_CMD_CERTIFICATES && r.kind == WXPAY_OK) {
        print_certs(&r, &tc, &co);
    } else {
        print_text(&r, &tc, have_diag ? &diag : NULL, &fields, &o);
    }
out:
    wxpay_fields_free(&fields);
    wxpay_certs_free(&co.certs);
    wxpay_sign_diag_free(&diag);
    wxpay_result_free(&r);
    wxpay_client_free(c);
    tmpkeys_remove(&keys);
    cli_opts_free(&o);
    if (fflush(stdout) != 0 && rc == CLI_EXIT_OK) {
        rc = CLI_EXIT_LOCAL;
    }
    return (int)rc;
}
