/* SPDX-License-Identifier: MIT */
/* test_bad_inputs.c: the bad-input catalogue (conformance/bad-inputs/catalogue.json) sent to a
 * wxpay-mock child over raw sockets, each case checked against its expected answer; then the mock
 * must still answer a valid signed request with a verified 204, and its journal must hold, in
 * order, exactly the requests the mock itself answered. The catalogue's template language and
 * fields are described in conformance/bad-inputs/README.md. Every socket wait is a poll() with a
 * timeout, so a case that hangs fails instead of blocking the suite. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cJSON.h>

#include "e2e.h"
#include "wxp/envelope.h"
#include "wxp/keys.h"
#include "wxp/mem.h"
#include "wxp/nonce.h"
#include "wxp/sign.h"
#include "wxp/signmsg.h"
#include "wxp/verify.h"

#define BAD_IO_TIMEOUT_MS 5000    /* longest wait for any single socket event */
#define BAD_CLOSE_TIMEOUT_MS 3000 /* how long "the server closes the connection" may take */
#define BAD_OPEN_PROBE_MS 300     /* how long a connection must stay quiet to count as open */
#define BAD_BUF_MAX ((size_t)32 * 1024 * 1024)
#define BAD_MIN_CASES 50
#define BAD_EXPECTED_MAX 512

#define BAD_DEFAULT_BODY                                                                           \
    "{\"service_id\":\"2002000000000558128851361561536\",\"appid\":\"wxd678efh567hg6787\","        \
    "\"reason\":\"bad input ${id}\"}"
#define BAD_DEFAULT_AUTHZ                                                                          \
    "WECHATPAY2-SHA256-RSA2048 mchid=\"${mchid}\",nonce_str=\"${nonce}\",timestamp=\"${ts}\","     \
    "serial_no=\"${serial}\",signature=\"${sig}\""
#define BAD_DEFAULT_RAW                                                                            \
    "${method} ${target} HTTP/1.1\r\n${std}${auth}Content-Length: ${len}\r\n${conn}\r\n${body}"

static struct e2e_mock mock;
static uint16_t mock_port;
static cJSON *catalogue;

/* What the journal must hold: one row per answer the mock itself gave to a /v3/ request. */
struct bad_journal_row {
    char *path;
    int status;
    char code[64];
};
static struct bad_journal_row expected[BAD_EXPECTED_MAX];
static size_t nexpected;

/* ---- one request of a case: its parts, expanded from templates ---------------------------- */

struct bad_req {
    const char *id;
    int n;     /* 1-based index in a pipelined case, 0 for a single request */
    bool last; /* the last request written on its connection: gets Connection: close */
    const cJSON *spec;
    struct wxp_buf openid, target, body, sign_target, sign_body, nonce, authz, raw;
    bool have_openid, have_target, have_body, have_authz, no_authz, signed_ok;
    char method[32];
    char mchid[64];
    char serial[64];
    char key[128];
    char ts[24];
    char sig[WXP_SIG_B64_MAX];
    char why[512];
};

static const char *spec_str(const cJSON *spec, const char *name, const char *dflt)
{
    const cJSON *it = spec ? cJSON_GetObjectItemCaseSensitive(spec, name) : NULL;
    return cJSON_IsString(it) ? it->valuestring : dflt;
}

static bool expand(struct bad_req *r, const char *tpl, size_t len, struct wxp_buf *out);

static bool add(struct bad_req *r, struct wxp_buf *out, const void *p, size_t n)
{
    if (wxp_buf_add(out, p, n) != WXP_OK) {
        snprintf(r->why, sizeof r->why, "expansion larger than %zu bytes", out->max);
        return false;
    }
    return true;
}

static bool add_buf(struct bad_req *r, struct wxp_buf *out, bool ready, const struct wxp_buf *b,
                    const char *name)
{
    if (!ready) {
        snprintf(r->why, sizeof r->why, "${%s} is not available at this point", name);
        return false;
    }
    return add(r, out, b->ptr ? b->ptr : "", b->len);
}

/* First occurrence of needle in hay[0..n), or NULL (memmem is not in strict POSIX). */
static const char *find(const char *hay, size_t n, const char *needle, size_t m)
{
    for (size_t i = 0; m <= n && i <= n - m; i++) {
        if (memcmp(hay + i, needle, m) == 0) {
            return hay + i;
        }
    }
    return NULL;
}

static int hexdigit(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* "HH HH ..." as bytes. */
static bool add_hex(struct bad_req *r, struct wxp_buf *out, const char *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        int hi, lo;
        char byte;
        if (p[i] == ' ') {
            i++;
            continue;
        }
        hi = i + 1 < n ? hexdigit(p[i]) : -1;
        lo = i + 1 < n ? hexdigit(p[i + 1]) : -1;
        if (hi < 0 || lo < 0) {
            snprintf(r->why, sizeof r->why, "bad ${hex ...} argument");
            return false;
        }
        byte = (char)(hi * 16 + lo);
        if (!add(r, out, &byte, 1)) {
            return false;
        }
        i += 2;
    }
    return true;
}

/* Parses the decimal count at the start of arg; the rest (after one space) is returned. */
static bool count_arg(struct bad_req *r, const char *arg, size_t n, size_t *count,
                      const char **rest, size_t *rest_len)
{
    size_t i = 0, v = 0;
    while (i < n && arg[i] >= '0' && arg[i] <= '9' && v < BAD_BUF_MAX) {
        v = v * 10 + (size_t)(arg[i] - '0');
        i++;
    }
    if (i == 0 || v > BAD_BUF_MAX) {
        snprintf(r->why, sizeof r->why, "bad count in a template function");
        return false;
    }
    *count = v;
    if (i < n && arg[i] == ' ') {
        i++;
    }
    *rest = arg + i;
    *rest_len = n - i;
    return true;
}

/* Signs (method, sign_target, ts, nonce, sign_body) once, with the case's key. */
static bool sign_now(struct bad_req *r)
{
    struct wxp_buf msg;
    struct wxp_err err;
    struct wxp_key *key = NULL;
    size_t siglen = 0;
    bool ok = false;
    struct wxp_str target, body, nonce;

    if (r->signed_ok) {
        return true;
    }
    if (!r->have_body || !r->have_target) {
        snprintf(r->why, sizeof r->why, "${sig} needs the target and the body first");
        return false;
    }
    target.ptr = r->sign_target.ptr ? r->sign_target.ptr : "";
    target.len = r->sign_target.len;
    body.ptr = r->sign_body.ptr ? r->sign_body.ptr : "";
    body.len = r->sign_body.len;
    nonce.ptr = r->nonce.ptr ? r->nonce.ptr : "";
    nonce.len = r->nonce.len;
    wxp_buf_init(&msg, WXP_SIGNMSG_MAX);
    if (wxp_key_private_file(t_fixture(r->key), &key, &err) != WXP_OK ||
        wxp_signmsg_request(&msg, wxp_str_c(r->method), target, wxp_str_c(r->ts), nonce, body,
                            &err) != WXP_OK ||
        wxp_sign(key, msg.ptr, msg.len, r->sig, sizeof r->sig, &siglen, &err) != WXP_OK) {
        snprintf(r->why, sizeof r->why, "signing failed: %s", err.msg);
        goto out;
    }
    r->signed_ok = true;
    ok = true;
out:
    wxp_key_free(key);
    wxp_buf_free(&msg);
    return ok;
}

static bool name_is(const char *name, size_t nlen, const char *lit)
{
    return strlen(lit) == nlen && memcmp(name, lit, nlen) == 0;
}

/* One ${name arg} placeholder. */
static bool expand_var(struct bad_req *r, const char *name, size_t nlen, const char *arg,
                       size_t alen, struct wxp_buf *out)
{
    char tmp[256];
    if (name_is(name, nlen, "id")) {
        return add(r, out, r->id, strlen(r->id));
    }
    if (name_is(name, nlen, "n")) {
        snprintf(tmp, sizeof tmp, "%d", r->n);
        return add(r, out, tmp, strlen(tmp));
    }
    if (name_is(name, nlen, "openid")) {
        return add_buf(r, out, r->have_openid, &r->openid, "openid");
    }
    if (name_is(name, nlen, "path")) {
        static const char pre[] = "/v3/payscore/permissions/openid/", suf[] = "/terminate";
        return add(r, out, pre, sizeof pre - 1) &&
               add_buf(r, out, r->have_openid, &r->openid, "openid") &&
               add(r, out, suf, sizeof suf - 1);
    }
    if (name_is(name, nlen, "target")) {
        return add_buf(r, out, r->have_target, &r->target, "target");
    }
    if (name_is(name, nlen, "body")) {
        return add_buf(r, out, r->have_body, &r->body, "body");
    }
    if (name_is(name, nlen, "len")) {
        if (!r->have_body) {
            snprintf(r->why, sizeof r->why, "${len} needs the body first");
            return false;
        }
        snprintf(tmp, sizeof tmp, "%zu", r->body.len);
        return add(r, out, tmp, strlen(tmp));
    }
    if (name_is(name, nlen, "chunked")) {
        /* The body in chunks of at most 16 bytes, then the last chunk. */
        if (!r->have_body) {
            snprintf(r->why, sizeof r->why, "${chunked} needs the body first");
            return false;
        }
        for (size_t off = 0; off < r->body.len; off += 16) {
            size_t k = r->body.len - off < 16 ? r->body.len - off : 16;
            snprintf(tmp, sizeof tmp, "%zx\r\n", k);
            if (!add(r, out, tmp, strlen(tmp)) || !add(r, out, r->body.ptr + off, k) ||
                !add(r, out, "\r\n", 2)) {
                return false;
            }
        }
        return add(r, out, "0\r\n\r\n", 5);
    }
    if (name_is(name, nlen, "host")) {
        snprintf(tmp, sizeof tmp, "127.0.0.1:%u", (unsigned)mock_port);
        return add(r, out, tmp, strlen(tmp));
    }
    if (name_is(name, nlen, "std")) {
        snprintf(tmp, sizeof tmp,
                 "Host: 127.0.0.1:%u\r\nAccept: application/json\r\n"
                 "User-Agent: wxpay-bad-inputs/1.0\r\nContent-Type: application/json\r\n",
                 (unsigned)mock_port);
        return add(r, out, tmp, strlen(tmp));
    }
    if (name_is(name, nlen, "conn")) {
        return r->last ? add(r, out, "Connection: close\r\n", 19) : true;
    }
    if (name_is(name, nlen, "auth")) {
        if (r->no_authz) {
            return true;
        }
        return add(r, out, "Authorization: ", 15) &&
               add_buf(r, out, r->have_authz, &r->authz, "authz") && add(r, out, "\r\n", 2);
    }
    if (name_is(name, nlen, "authz")) {
        return add_buf(r, out, r->have_authz, &r->authz, "authz");
    }
    if (name_is(name, nlen, "method")) {
        return add(r, out, r->method, strlen(r->method));
    }
    if (name_is(name, nlen, "mchid")) {
        return add(r, out, r->mchid, strlen(r->mchid));
    }
    if (name_is(name, nlen, "serial")) {
        return add(r, out, r->serial, strlen(r->serial));
    }
    if (name_is(name, nlen, "nonce")) {
        return add(r, out, r->nonce.ptr ? r->nonce.ptr : "", r->nonce.len);
    }
    if (name_is(name, nlen, "ts")) {
        return add(r, out, r->ts, strlen(r->ts));
    }
    if (name_is(name, nlen, "sig")) {
        return sign_now(r) && add(r, out, r->sig, strlen(r->sig));
    }
    if (name_is(name, nlen, "hex")) {
        return add_hex(r, out, arg, alen);
    }
    if (name_is(name, nlen, "repeat")) {
        /* ${repeat N TEXT}: TEXT (itself a template) N times. */
        size_t count, tlen;
        const char *text;
        struct wxp_buf one;
        bool ok = true;
        if (!count_arg(r, arg, alen, &count, &text, &tlen)) {
            return false;
        }
        wxp_buf_init(&one, BAD_BUF_MAX);
        ok = expand(r, text, tlen, &one);
        for (size_t i = 0; ok && i < count; i++) {
            ok = add(r, out, one.ptr ? one.ptr : "", one.len);
        }
        wxp_buf_free(&one);
        return ok;
    }
    if (name_is(name, nlen, "padto")) {
        /* ${padto N}: spaces until what was expanded so far is N bytes long. */
        size_t want;
        const char *rest;
        size_t rlen;
        if (!count_arg(r, arg, alen, &want, &rest, &rlen)) {
            return false;
        }
        while (out->len < want) {
            if (!add(r, out, " ", 1)) {
                return false;
            }
        }
        return true;
    }
    snprintf(r->why, sizeof r->why, "unknown template name ${%.*s}", (int)nlen, name);
    return false;
}

/* Expands tpl[0..len) into out: "${name}" or "${name arg}"; an arg may hold nested ${...}. */
static bool expand(struct bad_req *r, const char *tpl, size_t len, struct wxp_buf *out)
{
    size_t i = 0;
    while (i < len) {
        size_t start, depth = 1, j, nend;
        if (!(tpl[i] == '$' && i + 1 < len && tpl[i + 1] == '{')) {
            size_t k = i;
            while (k < len && !(tpl[k] == '$' && k + 1 < len && tpl[k + 1] == '{')) {
                k++;
            }
            if (!add(r, out, tpl + i, k - i)) {
                return false;
            }
            i = k;
            continue;
        }
        start = i + 2;
        for (j = start; j < len; j++) {
            if (tpl[j] == '$' && j + 1 < len && tpl[j + 1] == '{') {
                depth++;
                j++;
            } else if (tpl[j] == '}' && --depth == 0) {
                break;
            }
        }
        if (j >= len) {
            snprintf(r->why, sizeof r->why, "unterminated ${ in a template");
            return false;
        }
        nend = start;
        while (nend < j && tpl[nend] != ' ') {
            nend++;
        }
        if (!expand_var(r, tpl + start, nend - start, nend < j ? tpl + nend + 1 : tpl + j,
                        nend < j ? j - nend - 1 : 0, out)) {
            return false;
        }
        i = j + 1;
    }
    return true;
}

static bool expand_field(struct bad_req *r, const char *name, const char *dflt, struct wxp_buf *out)
{
    const char *tpl = spec_str(r->spec, name, dflt);
    if (!expand(r, tpl, strlen(tpl), out)) {
        char inner[sizeof r->why];
        snprintf(inner, sizeof inner, "%s", r->why);
        snprintf(r->why, sizeof r->why, "%s: %.400s", name, inner);
        return false;
    }
    return true;
}

static void req_free(struct bad_req *r)
{
    struct wxp_buf *bufs[] = {&r->openid,    &r->target, &r->body,  &r->sign_target,
                              &r->sign_body, &r->nonce,  &r->authz, &r->raw};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) {
        wxp_buf_free(bufs[i]);
    }
}

/* Builds every part of one request; false with r->why on a catalogue error. */
static bool req_build(struct bad_req *r, const char *id, int n, bool last, const cJSON *spec)
{
    const cJSON *authz = spec ? cJSON_GetObjectItemCaseSensitive(spec, "authz") : NULL;
    const cJSON *off = spec ? cJSON_GetObjectItemCaseSensitive(spec, "ts_offset") : NULL;
    struct wxp_buf *bufs[] = {&r->openid,    &r->target, &r->body,  &r->sign_target,
                              &r->sign_body, &r->nonce,  &r->authz, &r->raw};
    char nonce[WXP_NONCE_LEN + 1];
    int64_t ts = (int64_t)time(NULL);

    memset(r, 0, sizeof *r);
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) {
        wxp_buf_init(bufs[i], BAD_BUF_MAX);
    }
    r->id = id;
    r->n = n;
    r->last = last;
    r->spec = spec;
    snprintf(r->method, sizeof r->method, "%s", spec_str(spec, "method", "POST"));
    snprintf(r->mchid, sizeof r->mchid, "%s", spec_str(spec, "mchid", T_MCHID_A));
    snprintf(r->serial, sizeof r->serial, "%s", spec_str(spec, "serial", T_SERIAL_A));
    snprintf(r->key, sizeof r->key, "%s", spec_str(spec, "key", "keys/test-merchant-a.key.pem"));
    if (cJSON_IsNumber(off)) {
        ts += (int64_t)off->valuedouble;
    }
    snprintf(r->ts, sizeof r->ts, "%lld", (long long)ts);
    if (!expand_field(r, "openid", n > 0 ? "o-${id}-${n}" : "o-${id}", &r->openid)) {
        return false;
    }
    r->have_openid = true;
    if (!expand_field(r, "target", "${path}", &r->target)) {
        return false;
    }
    r->have_target = true;
    if (!expand_field(r, "body", BAD_DEFAULT_BODY, &r->body)) {
        return false;
    }
    r->have_body = true;
    if (!expand_field(r, "sign_target", "${target}", &r->sign_target) ||
        !expand_field(r, "sign_body", "${body}", &r->sign_body)) {
        return false;
    }
    if (spec_str(spec, "nonce", NULL) != NULL) {
        if (!expand_field(r, "nonce", "", &r->nonce)) {
            return false;
        }
    } else if (wxp_nonce(nonce, NULL) != WXP_OK || !add(r, &r->nonce, nonce, strlen(nonce))) {
        snprintf(r->why, sizeof r->why, "no nonce");
        return false;
    }
    r->no_authz = cJSON_IsNull(authz);
    if (!r->no_authz && !expand_field(r, "authz", BAD_DEFAULT_AUTHZ, &r->authz)) {
        return false;
    }
    r->have_authz = true;
    return expand_field(r, "raw", BAD_DEFAULT_RAW, &r->raw);
}

/* The path of a target as the journal shows it: up to '?'. */
static char *target_path(const struct bad_req *r)
{
    const char *p = r->target.ptr ? r->target.ptr : "";
    const char *q = memchr(p, '?', r->target.len);
    return wxp_strndup(p, q ? (size_t)(q - p) : r->target.len);
}

/* ---- sockets -------------------------------------------------------------------------------- */

static int bad_connect(int rcvbuf)
{
    struct sockaddr_in sa;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    if (rcvbuf > 0) {
        assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf), 0);
    }
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons(mock_port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)(void *)&sa, sizeof sa), 0);
    assert_int_equal(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK), 0);
    return fd;
}

/* Writes all of p[0..n); false (with why) on a timeout or when the peer stops reading. */
static bool send_all(int fd, const char *p, size_t n, char *why, size_t cap)
{
    size_t done = 0;
    while (done < n) {
        struct pollfd pfd = {fd, POLLOUT, 0};
        ssize_t k;
        int pr = poll(&pfd, 1, BAD_IO_TIMEOUT_MS);
        if (pr <= 0) {
            snprintf(why, cap, "send blocked for %d ms after %zu of %zu bytes", BAD_IO_TIMEOUT_MS,
                     done, n);
            return false;
        }
        k = send(fd, p + done, n - done, MSG_NOSIGNAL);
        if (k < 0 && (errno == EAGAIN || errno == EINTR)) {
            continue;
        }
        if (k < 0) {
            snprintf(why, cap, "send failed after %zu of %zu bytes: %s", done, n, strerror(errno));
            return false;
        }
        done += (size_t)k;
    }
    return true;
}

struct bad_stream {
    int fd;
    struct wxp_buf in;
    size_t off; /* start of what is not yet consumed */
    bool eof;   /* orderly close or reset seen */
};

/* Reads once: 1 data, 0 end of stream, -1 nothing within timeout_ms. */
static int fill(struct bad_stream *s, int timeout_ms)
{
    char chunk[65536];
    struct pollfd pfd = {s->fd, POLLIN, 0};
    ssize_t k;

    if (s->eof) {
        return 0;
    }
    for (;;) {
        int pr = poll(&pfd, 1, timeout_ms);
        if (pr == 0) {
            return -1;
        }
        if (pr < 0 && errno == EINTR) {
            continue;
        }
        k = recv(s->fd, chunk, sizeof chunk, 0);
        if (k < 0 && (errno == EAGAIN || errno == EINTR)) {
            continue;
        }
        if (k <= 0) {
            s->eof = true; /* 0: FIN; < 0: reset, which also ends the stream */
            return 0;
        }
        assert_int_equal(wxp_buf_add(&s->in, chunk, (size_t)k), WXP_OK);
        return 1;
    }
}

struct bad_resp {
    int status; /* 0 when no answer came */
    char *head; /* status line and header lines, NUL-terminated */
    char *body;
    size_t body_len;
};

static void resp_free(struct bad_resp *r)
{
    wxp_free(r->head);
    wxp_free(r->body);
    memset(r, 0, sizeof *r);
}

/* Value of a response header (case-insensitive name), copied into out; false when absent. */
static bool resp_header(const struct bad_resp *r, const char *name, char *out, size_t cap)
{
    size_t nlen = strlen(name);
    const char *line = r->head ? strstr(r->head, "\r\n") : NULL;
    while (line != NULL) {
        line += 2;
        if (strncasecmp(line, name, nlen) == 0 && line[nlen] == ':') {
            const char *v = line + nlen + 1;
            size_t vlen;
            while (*v == ' ') {
                v++;
            }
            vlen = strcspn(v, "\r");
            snprintf(out, cap, "%.*s", (int)vlen, v);
            return true;
        }
        line = strstr(line, "\r\n");
    }
    return false;
}

/* Reads one final response (1xx interim answers are skipped). False with why when none came. */
static bool read_resp(struct bad_stream *s, struct bad_resp *r, char *why, size_t cap)
{
    memset(r, 0, sizeof *r);
    for (;;) {
        const char *base, *end;
        size_t avail, head_len, need = 0;
        char clen[32];
        bool has_len;
        int status;

        base = s->in.ptr ? s->in.ptr + s->off : "";
        avail = s->in.len - s->off;
        end = find(base, avail, "\r\n\r\n", 4);
        if (end == NULL) {
            int f = fill(s, BAD_IO_TIMEOUT_MS);
            if (f < 0) {
                snprintf(why, cap, "no complete response within %d ms (%zu bytes)",
                         BAD_IO_TIMEOUT_MS, avail);
                return false;
            }
            if (f == 0) {
                snprintf(why, cap, "connection closed after %zu bytes without a response", avail);
                return false;
            }
            continue;
        }
        head_len = (size_t)(end - base) + 4;
        if (head_len < 12 || memcmp(base, "HTTP/1.", 7) != 0 || base[8] != ' ' ||
            hexdigit(base[9]) < 0 || hexdigit(base[10]) < 0 || hexdigit(base[11]) < 0) {
            snprintf(why, cap, "not an HTTP/1.x status line: %.40s", base);
            return false;
        }
        status = (base[9] - '0') * 100 + (base[10] - '0') * 10 + (base[11] - '0');
        wxp_free(r->head);
        r->head = wxp_strndup(base, head_len);
        s->off += head_len;
        if (status >= 100 && status < 200) {
            continue;
        }
        r->status = status;
        has_len = resp_header(r, "Content-Length", clen, sizeof clen);
        if (has_len) {
            char *e = NULL;
            need = (size_t)strtoull(clen, &e, 10);
            if (e == clen || *e != '\0') {
                snprintf(why, cap, "bad Content-Length in the response: %s", clen);
                return false;
            }
        }
        if (status == 204 || status == 304) {
            need = 0;
            has_len = true;
        }
        while (has_len ? s->in.len - s->off < need : !s->eof) {
            if (fill(s, BAD_IO_TIMEOUT_MS) < 0 || (has_len && s->eof)) {
                snprintf(why, cap, "response body incomplete (%zu of %zu bytes)",
                         s->in.len - s->off, need);
                return false;
            }
        }
        if (!has_len) {
            need = s->in.len - s->off;
        }
        r->body = wxp_strndup(s->in.ptr ? s->in.ptr + s->off : "", need);
        r->body_len = need;
        s->off += need;
        return true;
    }
}

/* After the expected answers: waits for the server to close. Bytes that come first count as
 * `extra`. False when the connection stays open. */
static bool wait_close(struct bad_stream *s, size_t *extra)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (!s->eof) {
        long waited;
        clock_gettime(CLOCK_MONOTONIC, &t1);
        waited = (long)(t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
        if (waited >= BAD_CLOSE_TIMEOUT_MS || fill(s, (int)(BAD_CLOSE_TIMEOUT_MS - waited)) < 0) {
            return false;
        }
    }
    *extra = s->in.len - s->off;
    return true;
}

/* ---- expectations --------------------------------------------------------------------------- */

/* A message may name an entry of the catalogue's "messages" table as "@NAME". */
static const char *message_of(const char *m)
{
    const cJSON *table = cJSON_GetObjectItemCaseSensitive(catalogue, "messages");
    const cJSON *it;
    if (m == NULL || m[0] != '@') {
        return m;
    }
    it = cJSON_GetObjectItemCaseSensitive(table, m + 1);
    return cJSON_IsString(it) ? it->valuestring : m;
}

static bool verify_signed_204(const struct bad_resp *r, char *why, size_t cap)
{
    char ts[32] = "", nonce[64] = "", sig[WXP_SIG_B64_MAX] = "", serial[80] = "", rid[128] = "";
    struct wxp_keystore *ks = wxp_keystore_new();
    struct wxp_resp v;
    struct wxp_resp_policy p = {(int64_t)time(NULL), WXP_SKEW_DEFAULT, true};
    struct wxp_err err;
    enum wxp_code rc;

    resp_header(r, "Wechatpay-Timestamp", ts, sizeof ts);
    resp_header(r, "Wechatpay-Nonce", nonce, sizeof nonce);
    resp_header(r, "Wechatpay-Signature", sig, sizeof sig);
    resp_header(r, "Wechatpay-Serial", serial, sizeof serial);
    resp_header(r, "Request-ID", rid, sizeof rid);
    assert_int_equal(wxp_keystore_add(ks, t_cert("certs/test-platform.cert.pem"), NULL), WXP_OK);
    assert_int_equal(
        wxp_keystore_add(ks, t_pubkey("keys/test-platform.pub.pem", T_PUBKEY_ID), NULL), WXP_OK);
    v.timestamp = wxp_str_c(ts);
    v.nonce = wxp_str_c(nonce);
    v.signature = wxp_str_c(sig);
    v.serial = wxp_str_c(serial);
    v.request_id = wxp_str_c(rid);
    v.body.ptr = "";
    v.body.len = 0;
    rc = wxp_resp_verify(ks, &v, &p, &err);
    wxp_keystore_free(ks);
    if (rc != WXP_OK) {
        snprintf(why, cap, "204 signature does not verify: %s", err.msg);
        return false;
    }
    return true;
}

/* Checks the envelope of a mock error against code/message/message_prefix/detail_*. */
static bool check_envelope(const cJSON *exp, const struct bad_resp *r, char *why, size_t cap)
{
    const char *code = spec_str(exp, "code", NULL);
    const char *msg = message_of(spec_str(exp, "message", NULL));
    const char *prefix = message_of(spec_str(exp, "message_prefix", NULL));
    const char *loc = spec_str(exp, "detail_location", NULL);
    const cJSON *val = cJSON_GetObjectItemCaseSensitive(exp, "detail_value");
    char ctype[128] = "";
    struct wxp_envelope e;
    struct wxp_err err;
    bool ok = false;

    if (!resp_header(r, "Content-Type", ctype, sizeof ctype) ||
        strcmp(ctype, "application/json; charset=utf-8") != 0) {
        snprintf(why, cap, "error Content-Type is '%s'", ctype);
        return false;
    }
    if (wxp_envelope_parse(r->body, r->body_len, &e, &err) != WXP_OK) {
        snprintf(why, cap, "not an error envelope (%s): %.200s", err.msg, r->body);
        return false;
    }
    if (strcmp(e.code, code) != 0) {
        snprintf(why, cap, "code %s, expected %s (message %s)", e.code, code, e.message);
    } else if (msg != NULL && strcmp(e.message, msg) != 0) {
        snprintf(why, cap, "message '%s', expected '%s'", e.message, msg);
    } else if (prefix != NULL && strncmp(e.message, prefix, strlen(prefix)) != 0) {
        snprintf(why, cap, "message '%s' does not start with '%s'", e.message, prefix);
    } else if (loc != NULL && (e.location == NULL || strcmp(e.location, loc) != 0)) {
        snprintf(why, cap, "detail.location %s, expected %s", e.location ? e.location : "(none)",
                 loc);
    } else if (cJSON_IsNumber(val) &&
               (e.value == NULL || strtoll(e.value, NULL, 10) != (long long)val->valuedouble)) {
        snprintf(why, cap, "detail.value %s, expected %lld", e.value ? e.value : "(none)",
                 (long long)val->valuedouble);
    } else {
        ok = true;
    }
    wxp_envelope_free(&e);
    return ok;
}

/* Remembers an answer the mock itself gave (it carries a Request-ID) to a /v3/ request: the
 * journal must show the same path, status and code, in the same order. */
static void record_answer(const struct bad_resp *r, const char *path)
{
    struct bad_journal_row *row;
    cJSON *env;
    const cJSON *code;

    if (nexpected == BAD_EXPECTED_MAX || strncmp(path, "/v3/", 4) != 0) {
        return;
    }
    row = &expected[nexpected++];
    row->path = wxp_strndup(path, strlen(path));
    row->status = r->status;
    row->code[0] = '\0';
    env = r->body_len > 0 ? cJSON_ParseWithLength(r->body, r->body_len) : NULL;
    code = cJSON_GetObjectItemCaseSensitive(env, "code");
    if (cJSON_IsString(code)) {
        snprintf(row->code, sizeof row->code, "%s", code->valuestring);
    }
    cJSON_Delete(env);
}

/* One answer against one expectation object. `path` is the request's path, for the journal. */
static bool check_answer(const cJSON *exp, const struct bad_resp *r, const char *path, char *why,
                         size_t cap)
{
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(exp, "status");
    const char *by = spec_str(exp, "by", "mock");
    const char *code = spec_str(exp, "code", NULL);
    char rid[128], sig[16];
    bool has_rid = resp_header(r, "Request-ID", rid, sizeof rid);

    if (has_rid) {
        record_answer(r, path);
    }
    if (!cJSON_IsNumber(st) || r->status != (int)st->valuedouble) {
        snprintf(why, cap, "status %d, expected %d; body: %.300s", r->status,
                 cJSON_IsNumber(st) ? (int)st->valuedouble : -1, r->body ? r->body : "");
        return false;
    }
    if (strcmp(by, "any") == 0) {
        return true; /* whoever answers (libmicrohttpd or the mock), the status is what counts */
    }
    if (strcmp(by, "libmicrohttpd") == 0) {
        /* Refused before the mock's handler ran: libmicrohttpd's own page, no Request-ID. */
        if (has_rid) {
            snprintf(why, cap, "expected libmicrohttpd's own answer, got the mock's (Request-ID)");
            return false;
        }
        return true;
    }
    if (!has_rid) {
        snprintf(why, cap, "the mock's answer has no Request-ID");
        return false;
    }
    if (code != NULL) {
        if (resp_header(r, "Wechatpay-Signature", sig, sizeof sig)) {
            snprintf(why, cap, "error answer is signed (errors are unsigned by default)");
            return false;
        }
        return check_envelope(exp, r, why, cap);
    }
    if (r->body_len != 0) {
        snprintf(why, cap, "expected an empty body, got %zu bytes: %.200s", r->body_len, r->body);
        return false;
    }
    return r->status != 204 || verify_signed_204(r, why, cap);
}

/* ---- running a case ------------------------------------------------------------------------- */

/* The connection outcome after the answers: "close", "open" or "any". */
static bool check_conn(const cJSON *exp, struct bad_stream *s, char *why, size_t cap)
{
    const char *conn = spec_str(exp, "conn", "close");
    bool lenient = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(exp, "lenient_framing"));
    size_t extra = 0;

    if (strcmp(conn, "close") == 0) {
        if (!wait_close(s, &extra)) {
            snprintf(why, cap, "server did not close the connection within %d ms",
                     BAD_CLOSE_TIMEOUT_MS);
            return false;
        }
        if (extra > 0 && !lenient) {
            snprintf(why, cap, "%zu unexpected bytes after the answer: %.80s", extra,
                     s->in.ptr + s->off);
            return false;
        }
        return true;
    }
    if (strcmp(conn, "open") == 0) {
        if (fill(s, BAD_OPEN_PROBE_MS) >= 0) {
            snprintf(why, cap, "connection closed or sent more bytes; expected it to stay open");
            return false;
        }
        return true;
    }
    return strcmp(conn, "any") == 0;
}

/* Sends the request(s) of a case in one write and checks every answer. */
static bool run_requests(const cJSON *c, char *why, size_t cap)
{
    const char *id = spec_str(c, "id", "?");
    const cJSON *reqs = cJSON_GetObjectItemCaseSensitive(c, "requests");
    const cJSON *exp = cJSON_GetObjectItemCaseSensitive(c, "expect");
    const cJSON *answers = cJSON_GetObjectItemCaseSensitive(exp, "answers");
    const char *mode = spec_str(c, "mode", "write");
    int nreq = cJSON_IsArray(reqs) ? cJSON_GetArraySize(reqs) : 1;
    struct bad_req *rq = wxp_malloc(sizeof *rq * (size_t)nreq);
    struct wxp_buf all;
    struct bad_stream s = {-1, {0}, 0, false};
    bool ok = false;
    int built = 0;

    assert_non_null(rq);
    wxp_buf_init(&all, BAD_BUF_MAX);
    wxp_buf_init(&s.in, BAD_BUF_MAX);
    for (; built < nreq; built++) {
        const cJSON *spec = cJSON_IsArray(reqs) ? cJSON_GetArrayItem(reqs, built)
                                                : cJSON_GetObjectItemCaseSensitive(c, "request");
        if (!req_build(&rq[built], id, cJSON_IsArray(reqs) ? built + 1 : 0, built == nreq - 1,
                       spec)) {
            snprintf(why, cap, "catalogue error: %s", rq[built].why);
            built++;
            goto out;
        }
        assert_int_equal(wxp_buf_add(&all, rq[built].raw.ptr, rq[built].raw.len), WXP_OK);
    }
    s.fd = bad_connect(0);
    if (!send_all(s.fd, all.ptr, all.len, why, cap)) {
        goto out;
    }
    if (strcmp(mode, "shut_wr") == 0) {
        shutdown(s.fd, SHUT_WR);
    }
    if (cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(exp, "status")) &&
        cJSON_GetObjectItemCaseSensitive(exp, "status")->valuedouble == 0) {
        /* No answer at all: the server closes without writing a byte. */
        size_t extra = 0;
        if (!wait_close(&s, &extra) || s.in.len != 0) {
            snprintf(why, cap, "expected the connection closed without an answer; got %zu bytes%s",
                     s.in.len, s.eof ? "" : " and it stayed open");
            goto out;
        }
        ok = true;
        goto out;
    }
    for (int i = 0; i < nreq; i++) {
        const cJSON *e = cJSON_IsArray(answers) ? cJSON_GetArrayItem(answers, i) : exp;
        struct bad_resp r;
        char *path = target_path(&rq[i]);
        bool good;
        if (e == NULL) {
            snprintf(why, cap, "catalogue error: no expectation for request %d", i + 1);
            wxp_free(path);
            goto out;
        }
        good = read_resp(&s, &r, why, cap) && check_answer(e, &r, path, why, cap);
        wxp_free(path);
        resp_free(&r);
        if (!good) {
            if (nreq > 1) {
                char inner[512];
                snprintf(inner, sizeof inner, "%s", why);
                snprintf(why, cap, "answer %d: %s", i + 1, inner);
            }
            goto out;
        }
    }
    ok = check_conn(exp, &s, why, cap);
out:
    if (s.fd >= 0) {
        close(s.fd);
    }
    for (int i = 0; i < built; i++) {
        req_free(&rq[i]);
    }
    wxp_free(rq);
    wxp_buf_free(&all);
    wxp_buf_free(&s.in);
    return ok;
}

/* A valid signed terminate of a fresh openid on its own connection: 204, verified. */
static bool valid_request(const char *id, char *why, size_t cap)
{
    cJSON *c = cJSON_CreateObject();
    cJSON *exp = cJSON_AddObjectToObject(c, "expect");
    bool ok;
    cJSON_AddStringToObject(c, "id", id);
    cJSON_AddNumberToObject(exp, "status", 204);
    ok = run_requests(c, why, cap);
    cJSON_Delete(c);
    return ok;
}

/* gen "slowloris": connections that trickle a request's headers one byte at a time and never
 * finish. The mock's idle timeout is 30 s and cannot be shortened (daemon.c), so the case checks
 * what can be checked in a few seconds: valid requests on other connections are answered while
 * the slow ones are open, and the slow ones get no answer and are not closed meanwhile. */
static bool gen_slowloris(const cJSON *c, char *why, size_t cap)
{
    enum { SLOW = 8, ROUNDS = 15 };
    int fds[SLOW];
    const char *id = spec_str(c, "id", "?");
    char head[256];
    static const char trickle[] = "X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    bool ok = true;

    snprintf(head, sizeof head,
             "POST /v3/payscore/permissions/openid/o-%s-slow/terminate HTTP/1.1\r\nHost: x\r\n",
             id);
    for (int i = 0; i < SLOW; i++) {
        fds[i] = bad_connect(0);
        ok = ok && send_all(fds[i], head, strlen(head), why, cap);
    }
    for (int round = 0; ok && round < ROUNDS; round++) {
        struct timespec ts = {0, 100 * 1000000L};
        for (int i = 0; ok && i < SLOW; i++) {
            ok = send_all(fds[i], trickle + round, 1, why, cap);
        }
        if (ok && round % 5 == 2) {
            char sub[96];
            snprintf(sub, sizeof sub, "%s-served-%d", id, round);
            if (!valid_request(sub, why, cap)) {
                char inner[512];
                snprintf(inner, sizeof inner, "%s", why);
                snprintf(why, cap, "request on another connection not served: %s", inner);
                ok = false;
            }
        }
        nanosleep(&ts, NULL);
    }
    for (int i = 0; ok && i < SLOW; i++) {
        struct pollfd pfd = {fds[i], POLLIN, 0};
        if (poll(&pfd, 1, 0) != 0) {
            snprintf(why, cap, "slow connection %d was answered or closed before its headers ended",
                     i);
            ok = false;
        }
    }
    for (int i = 0; i < SLOW; i++) {
        close(fds[i]);
    }
    return ok;
}

/* gen "disconnect_mid_response": asks for the whole journal (hundreds of KiB by now) on a
 * socket with a 4 KiB receive buffer, reads the status line and resets the connection while the
 * mock is still writing; the mock must go on serving. */
static bool gen_disconnect(const cJSON *c, char *why, size_t cap)
{
    static const char req[] = "GET /__admin/requests HTTP/1.1\r\nHost: x\r\n\r\n";
    struct bad_stream s = {-1, {0}, 0, false};
    struct linger lg = {1, 0};
    const char *cl;
    bool ok = false;

    wxp_buf_init(&s.in, BAD_BUF_MAX);
    s.fd = bad_connect(4096);
    if (!send_all(s.fd, req, sizeof req - 1, why, cap)) {
        goto out;
    }
    while (s.in.len < 200 && fill(&s, BAD_IO_TIMEOUT_MS) > 0) {
    }
    if (s.in.len < 200 || memcmp(s.in.ptr, "HTTP/1.1 200", 12) != 0) {
        snprintf(why, cap, "no journal answer started (%zu bytes)", s.in.len);
        goto out;
    }
    cl = find(s.in.ptr, s.in.len, "Content-Length: ", 16);
    if (cl == NULL || strtoull(cl + 16, NULL, 10) < 128 * 1024 ||
        find(s.in.ptr, s.in.len, "\r\n\r\n", 4) == NULL) {
        snprintf(why, cap, "journal answer too small to be cut mid-way");
        goto out;
    }
    /* SO_LINGER 0: close() sends a reset, the harshest way to vanish mid-response. */
    setsockopt(s.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(s.fd);
    s.fd = -1;
    ok = valid_request(spec_str(c, "id", "?"), why, cap);
out:
    if (s.fd >= 0) {
        close(s.fd);
    }
    wxp_buf_free(&s.in);
    return ok;
}

static bool run_case(const cJSON *c, char *why, size_t cap)
{
    const char *gen = spec_str(c, "gen", NULL);
    if (gen == NULL) {
        return run_requests(c, why, cap);
    }
    if (strcmp(gen, "slowloris") == 0) {
        return gen_slowloris(c, why, cap);
    }
    if (strcmp(gen, "disconnect_mid_response") == 0) {
        return gen_disconnect(c, why, cap);
    }
    snprintf(why, cap, "catalogue error: unknown gen %s", gen);
    return false;
}

/* ---- tests ---------------------------------------------------------------------------------- */

static const cJSON *cases(void)
{
    return cJSON_GetObjectItemCaseSensitive(catalogue, "cases");
}

static void test_bad_inputs_catalogue_is_well_formed(void **state)
{
    const cJSON *c;
    int n = 0;
    (void)state;
    assert_true(cJSON_IsArray(cases()));
    cJSON_ArrayForEach(c, cases())
    {
        const char *id = spec_str(c, "id", NULL);
        const cJSON *exp = cJSON_GetObjectItemCaseSensitive(c, "expect");
        const cJSON *d;
        if (id == NULL || spec_str(c, "what", NULL) == NULL || !cJSON_IsObject(exp)) {
            fail_msg("case %d lacks id, what or expect", n);
        }
        cJSON_ArrayForEach(d, cases())
        {
            if (d != c && strcmp(spec_str(d, "id", ""), id) == 0) {
                fail_msg("duplicate case id %s", id);
            }
        }
        if (spec_str(c, "gen", NULL) == NULL &&
            !cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(exp, "status")) &&
            !cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(exp, "answers"))) {
            fail_msg("case %s has no expected status", id);
        }
        n++;
    }
    if (n < BAD_MIN_CASES) {
        fail_msg("only %d cases; the catalogue promises at least %d", n, BAD_MIN_CASES);
    }
}

static void test_bad_inputs_each_case_gets_its_expected_answer(void **state)
{
    const cJSON *c;
    int failed = 0, total = 0, nxfail = 0;
    char failures[2048] = "";
    (void)state;
    cJSON_ArrayForEach(c, cases())
    {
        char why[1024] = "";
        const char *id = spec_str(c, "id", "?");
        const char *defect = spec_str(c, "known_defect", NULL);
        const char *verdict;
        struct timespec t0, t1;
        bool ok;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        ok = run_case(c, why, sizeof why);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        total++;
        /* A known defect is an expected failure; once it passes, the marker must go. */
        if (defect != NULL && strncmp(why, "catalogue error", 15) != 0) {
            verdict = ok ? "XPASS" : "xfail";
            if (ok) {
                snprintf(why, sizeof why, "passes now: remove its known_defect");
            } else {
                nxfail++;
            }
            ok = !ok;
        } else {
            verdict = ok ? "ok" : "FAIL";
        }
        printf("%-5s %-9s %5ld ms  %s%s%s\n", verdict, id,
               (long)(t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000,
               spec_str(c, "what", ""), defect == NULL && ok ? "" : "\n      ",
               defect == NULL && ok ? "" : why);
        if (!ok) {
            size_t used = strlen(failures);
            snprintf(failures + used, sizeof failures - used, " %s", id);
            failed++;
        }
    }
    printf("%d cases: %d as expected, %d known defects (xfail), %d failed\n", total,
           total - failed - nxfail, nxfail, failed);
    fflush(stdout);
    if (failed > 0) {
        fail_msg("%d of %d bad-input cases failed:%s", failed, total, failures);
    }
}

/* Reads GET /__admin/requests?path=/v3/ over a raw socket and parses it with cJSON. */
static cJSON *read_journal(void)
{
    char req[128], why[512] = "";
    struct bad_stream s = {-1, {0}, 0, false};
    struct bad_resp r;
    cJSON *root;

    wxp_buf_init(&s.in, BAD_BUF_MAX);
    snprintf(req, sizeof req,
             "GET /__admin/requests?path=%%2Fv3%%2F HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
             "\r\n");
    s.fd = bad_connect(0);
    if (!send_all(s.fd, req, strlen(req), why, sizeof why) || !read_resp(&s, &r, why, sizeof why)) {
        fail_msg("journal: %s", why);
    }
    assert_int_equal(r.status, 200);
    root = cJSON_ParseWithLength(r.body, r.body_len);
    if (root == NULL) {
        fail_msg("journal is not JSON (%zu bytes)", r.body_len);
    }
    resp_free(&r);
    close(s.fd);
    wxp_buf_free(&s.in);
    return root;
}

static void test_bad_inputs_mock_still_serves_and_journal_is_intact(void **state)
{
    char why[1024] = "";
    cJSON *journal, *e;
    size_t i = 0;
    double last_seq = 0;
    (void)state;

    if (!valid_request("FINAL", why, sizeof why)) {
        fail_msg("after the catalogue, a valid signed request failed: %s", why);
    }
    journal = read_journal();
    assert_true(cJSON_IsArray(journal));
    if ((size_t)cJSON_GetArraySize(journal) != nexpected) {
        fail_msg("journal holds %d /v3/ entries, expected %zu", cJSON_GetArraySize(journal),
                 nexpected);
    }
    cJSON_ArrayForEach(e, journal)
    {
        const cJSON *seq = cJSON_GetObjectItemCaseSensitive(e, "seq");
        const cJSON *path = cJSON_GetObjectItemCaseSensitive(e, "path");
        const cJSON *status = cJSON_GetObjectItemCaseSensitive(e, "status");
        const cJSON *code = cJSON_GetObjectItemCaseSensitive(e, "code");
        const struct bad_journal_row *x = &expected[i];
        assert_true(cJSON_IsNumber(seq) && seq->valuedouble > last_seq);
        last_seq = seq->valuedouble;
        if (!cJSON_IsString(path) || strcmp(path->valuestring, x->path) != 0 ||
            !cJSON_IsNumber(status) || (int)status->valuedouble != x->status ||
            (x->code[0] ? !cJSON_IsString(code) || strcmp(code->valuestring, x->code) != 0
                        : !cJSON_IsNull(code))) {
            char *got = cJSON_PrintUnformatted(e);
            fail_msg("journal entry %zu: expected %s %d %s; got %.400s", i, x->path, x->status,
                     x->code[0] ? x->code : "null", got);
        }
        i++;
    }
    /* The last entry is the valid request just made. */
    assert_true(nexpected > 0);
    assert_string_equal(expected[nexpected - 1].path,
                        "/v3/payscore/permissions/openid/o-FINAL/terminate");
    assert_int_equal(expected[nexpected - 1].status, 204);
    cJSON_Delete(journal);
}

static int setup(void **state)
{
    size_t len = 0;
    char *text = NULL;
    struct wxp_err err;
    const char *colon;
    (void)state;
    if (wxp_file_read(BAD_INPUTS_CATALOGUE, 1024 * 1024, &text, &len, &err) != WXP_OK) {
        fprintf(stderr, "cannot read %s: %s\n", BAD_INPUTS_CATALOGUE, err.msg);
        return -1;
    }
    catalogue = cJSON_ParseWithLength(text, len);
    wxp_free(text);
    if (catalogue == NULL) {
        fprintf(stderr, "%s is not JSON\n", BAD_INPUTS_CATALOGUE);
        return -1;
    }
    e2e_start(&mock, NULL);
    colon = strrchr(mock.url, ':');
    assert_non_null(colon);
    mock_port = (uint16_t)strtoul(colon + 1, NULL, 10);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    e2e_stop(&mock);
    cJSON_Delete(catalogue);
    for (size_t i = 0; i < nexpected; i++) {
        wxp_free(expected[i].path);
    }
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_inputs_catalogue_is_well_formed),
        cmocka_unit_test(test_bad_inputs_each_case_gets_its_expected_answer),
        cmocka_unit_test(test_bad_inputs_mock_still_serves_and_journal_is_intact),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
