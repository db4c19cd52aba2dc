/* SPDX-License-Identifier: MIT */
/* race.c: wxp-bench-race sends N terminates of the SAME authorization (one openid and
 * service_id, each request signed with its own nonce) to a mock at the same instant, and counts
 * the answers. "The same instant" is the last-byte trick: every request is written on its own
 * connection except its final byte, and once the server has read them all, the N final bytes go
 * out back to back, so the N handlers run together. Prints one line per distinct answer,
 * "status=S code=C count=N" (C is the error envelope's code, "-" when there is none), then
 * "no_answer=N last_byte_spread_us=T". ci/soak (docs/reliability.md) asserts that exactly one
 * is a 204. TEST ONLY keys (fixtures/). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "wxp/authz.h"
#include "wxp/keys.h"
#include "wxp/mem.h"
#include "wxp/nonce.h"
#include "wxp/op.h"
#include "wxp/str.h"

#define RACE_MAX 1000
#define REQ_MAX 8192
#define RESP_MAX 16384
#define CODE_MAX 64

struct race_opts {
    const char *url;
    long count;
    const char *openid;
    const char *service_id;
    const char *appid;
    const char *key_file;
    const char *mchid;
    const char *serial;
    long settle_ms;
    long timeout_ms;
};

/* One connection: its request, and the answer read so far. */
struct conn {
    int fd;
    struct wxp_buf req;
    char resp[RESP_MAX];
    size_t resp_len;
    bool done;
};

/* One distinct answer and how many connections got it. */
struct tally {
    unsigned status;
    char code[CODE_MAX];
    long count;
};

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int usage(void)
{
    fprintf(
        stderr,
        "usage: wxp-bench-race --url http://127.0.0.1:PORT --openid O [--count N]\n"
        "                      [--service-id S] [--appid A] [--key PEM] [--mchid ID]\n"
        "                      [--serial HEX] [--settle-ms MS] [--timeout-ms MS]\n"
        "Sends N (default 100, at most %d) terminates of one authorization at the same\n"
        "instant, each with its own nonce, and prints \"status=S code=C count=N\" per distinct\n"
        "answer, then \"no_answer=N last_byte_spread_us=T\". TEST ONLY keys.\n",
        RACE_MAX);
    return 2;
}

static int parse_args(int argc, char **argv, struct race_opts *o)
{
    for (int i = 1; i < argc; i += 2) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (v == NULL) {
            return usage();
        }
        if (strcmp(a, "--url") == 0) {
            o->url = v;
        } else if (strcmp(a, "--count") == 0) {
            if (!wxp_parse_long(v, 1, RACE_MAX, &o->count)) {
                return usage();
            }
        } else if (strcmp(a, "--openid") == 0) {
            o->openid = v;
        } else if (strcmp(a, "--service-id") == 0) {
            o->service_id = v;
        } else if (strcmp(a, "--appid") == 0) {
            o->appid = v;
        } else if (strcmp(a, "--key") == 0) {
            o->key_file = v;
        } else if (strcmp(a, "--mchid") == 0) {
            o->mchid = v;
        } else if (strcmp(a, "--serial") == 0) {
            o->serial = v;
        } else if (strcmp(a, "--settle-ms") == 0) {
            if (!wxp_parse_long(v, 0, 10000, &o->settle_ms)) {
                return usage();
            }
        } else if (strcmp(a, "--timeout-ms") == 0) {
            if (!wxp_parse_long(v, 1, 600000, &o->timeout_ms)) {
                return usage();
            }
        } else {
            return usage();
        }
    }
    return o->url != NULL && o->openid != NULL ? 0 : usage();
}

/* "http://A.B.C.D:PORT" (what wxpay-mock writes to its ready file), IPv4 only. */
static bool parse_url(const char *url, struct sockaddr_in *sa)
{
    static const char scheme[] = "http://";
    char host[INET_ADDRSTRLEN];
    const char *h = url + sizeof scheme - 1;
    const char *colon;
    size_t hl;
    long port;

    if (strncmp(url, scheme, sizeof scheme - 1) != 0) {
        return false;
    }
    colon = strchr(h, ':');
    if (colon == NULL || !wxp_parse_long(colon + 1, 1, 65535, &port)) {
        return false;
    }
    hl = (size_t)(colon - h);
    if (hl == 0 || hl >= sizeof host) {
        return false;
    }
    memcpy(host, h, hl);
    host[hl] = '\0';
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)port);
    return inet_pton(AF_INET, host, &sa->sin_addr) == 1;
}

/* The full request for one connection: its own nonce, the same openid and body for all. Target
 * and body come from the core's table (terminate-by-openid), like every request the harness
 * builds. */
static enum wxp_code build_request(const struct race_opts *o, const struct wxp_key *key, int64_t ts,
                                   struct wxp_buf *out, struct wxp_err *err)
{
    const struct wxp_op *op = &WXP_OPS[WXP_OP_PERMISSIONS_TERMINATE_BY_OPENID];
    const struct wxp_schema *s = op->params;
    struct wxp_signer signer = {key, o->mchid, o->serial};
    struct wxp_buf authz, target, body;
    const char *vals[WXP_SCHEMA_MAX_FIELDS] = {0};
    char nonce[WXP_NONCE_LEN + 1];
    enum wxp_code rc;

    for (size_t i = 0; i < s->count && i < WXP_SCHEMA_MAX_FIELDS; i++) {
        const char *name = s->fields[i].name;
        vals[i] = strcmp(name, "openid") == 0       ? o->openid
                  : strcmp(name, "appid") == 0      ? o->appid
                  : strcmp(name, "service_id") == 0 ? o->service_id
                  : strcmp(name, "reason") == 0     ? "race"
                                                    : NULL;
    }
    wxp_buf_init(&authz, WXP_AUTHZ_MAX);
    wxp_buf_init(&target, 4096);
    wxp_buf_init(&body, 4096);
    rc = wxp_op_target(op, vals, &target, err);
    if (rc == WXP_OK) {
        rc = wxp_op_body(op, vals, &body, err);
    }
    if (rc == WXP_OK) {
        rc = wxp_nonce(nonce, err);
    }
    if (rc == WXP_OK) {
        rc = wxp_authz_sign(&authz, &signer, wxp_str_c(op->method),
                            (struct wxp_str){target.ptr, target.len},
                            (struct wxp_str){body.ptr, body.len}, ts, nonce, err);
    }
    if (rc == WXP_OK) {
        rc = wxp_buf_addf(out,
                          "%s %s HTTP/1.1\r\nHost: race\r\nAuthorization: %s\r\n"
                          "Accept: application/json\r\nUser-Agent: wxp-bench-race\r\n"
                          "Content-Type: application/json\r\nContent-Length: %zu\r\n"
                          "Connection: close\r\n\r\n%s",
                          op->method, wxp_buf_cstr(&target), wxp_buf_cstr(&authz), body.len,
                          wxp_buf_cstr(&body));
    }
    wxp_buf_free(&authz);
    wxp_buf_free(&target);
    wxp_buf_free(&body);
    return rc;
}

static bool write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            return false;
        }
        p += w;
        n -= (size_t)w;
    }
    return true;
}

static int open_conn(const struct sockaddr_in *sa)
{
    int one = 1;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    if (fd < 0) {
        return -1;
    }
    /* The partial request must leave now, not wait for its last byte (Nagle). */
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0 ||
        connect(fd, (const struct sockaddr *)sa, sizeof *sa) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Reads whatever is ready on each connection until every one is closed by the server (the
 * requests say Connection: close) or the deadline passes. */
static void read_answers(struct conn *c, long n, long timeout_ms)
{
    struct pollfd *p = wxp_malloc((size_t)n * sizeof *p);
    double deadline = now_us() + (double)timeout_ms * 1e3;
    long open = n;

    if (p == NULL) {
        return;
    }
    while (open > 0 && now_us() < deadline) {
        long k = 0;
        for (long i = 0; i < n; i++) {
            p[i].fd = c[i].done ? -1 : c[i].fd;
            p[i].events = POLLIN;
            p[i].revents = 0;
        }
        int r = poll(p, (nfds_t)n, 100);
        if (r < 0 && errno != EINTR) {
            break;
        }
        for (long i = 0; i < n && r > 0; i++) {
            if (c[i].done || p[i].revents == 0) {
                continue;
            }
            size_t room = sizeof c[i].resp - 1 - c[i].resp_len;
            ssize_t got = read(c[i].fd, c[i].resp + c[i].resp_len, room);
            if (got > 0) {
                c[i].resp_len += (size_t)got;
            }
            if (got <= 0 || room == (size_t)got) {
                c[i].done = true;
                k++;
            }
        }
        open -= k;
    }
    wxp_free(p);
}

/* Finds `needle` in the first `len` bytes of `hay` (no NUL needed). */
static const char *find(const char *hay, size_t len, const char *needle)
{
    size_t nl = strlen(needle);
    for (size_t i = 0; i + nl <= len; i++) {
        if (memcmp(hay + i, needle, nl) == 0) {
            return hay + i;
        }
    }
    return NULL;
}

/* The status code of "HTTP/1.x SSS ...", 0 when there is no complete status line. */
static unsigned parse_status(const char *r, size_t len)
{
    unsigned s = 0;

    if (len < 12 || memcmp(r, "HTTP/1.", 7) != 0 || r[8] != ' ') {
        return 0;
    }
    for (size_t i = 9; i < 12; i++) {
        if (r[i] < '0' || r[i] > '9') {
            return 0;
        }
        s = s * 10 + (unsigned)(r[i] - '0');
    }
    return s;
}

/* The envelope's "code" value (our mock writes it without spaces), or "-". */
static void parse_code(const char *r, size_t len, char out[CODE_MAX])
{
    const char *body = find(r, len, "\r\n\r\n");
    const char *end = r + len;
    const char *v;
    size_t n = 0;

    snprintf(out, CODE_MAX, "-");
    if (body == NULL) {
        return;
    }
    v = find(body, (size_t)(end - body), "\"code\":\"");
    if (v == NULL) {
        return;
    }
    v += 8;
    while (v + n < end && v[n] != '"' && n < CODE_MAX - 1) {
        n++;
    }
    memcpy(out, v, n);
    out[n] = '\0';
}

static void add_tally(struct tally *t, long *nt, unsigned status, const char *code)
{
    for (long i = 0; i < *nt; i++) {
        if (t[i].status == status && strcmp(t[i].code, code) == 0) {
            t[i].count++;
            return;
        }
    }
    t[*nt].status = status;
    snprintf(t[*nt].code, CODE_MAX, "%s", code);
    t[*nt].count = 1;
    (*nt)++;
}

int main(int argc, char **argv)
{
    struct race_opts o = {NULL,
                          100,
                          NULL,
                          "500001",
                          "wxd678efh567hg6787",
                          WXP_FIXTURES_DIR "/keys/test-merchant-a.key.pem",
                          "1900000109",
                          "3B2A4C1D5E6F708192A3B4C5D6E7F8091A2B3C4D",
                          100,
                          10000};
    struct sockaddr_in sa;
    struct wxp_key *key = NULL;
    struct wxp_err err;
    struct conn *c = NULL;
    struct tally *t = NULL;
    long nt = 0, opened = 0, no_answer = 0;
    double t0, t1;
    int64_t ts;
    struct timespec settle;
    int rc = parse_args(argc, argv, &o);

    if (rc != 0) {
        return rc;
    }
    if (!parse_url(o.url, &sa)) {
        fprintf(stderr, "wxp-bench-race: --url must be http://A.B.C.D:PORT, not '%s'\n", o.url);
        return 2;
    }
    rc = 1;
    c = wxp_malloc((size_t)o.count * sizeof *c);
    t = wxp_malloc((size_t)o.count * sizeof *t);
    if (c == NULL || t == NULL) {
        fprintf(stderr, "wxp-bench-race: out of memory\n");
        goto out;
    }
    memset(c, 0, (size_t)o.count * sizeof *c);
    for (long i = 0; i < o.count; i++) {
        c[i].fd = -1;
        wxp_buf_init(&c[i].req, REQ_MAX);
    }
    if (wxp_key_private_file(o.key_file, &key, &err) != WXP_OK) {
        fprintf(stderr, "wxp-bench-race: %s\n", err.msg);
        goto out;
    }
    /* Sign everything first: the race starts only once every request is ready. */
    ts = (int64_t)time(NULL);
    for (long i = 0; i < o.count; i++) {
        if (build_request(&o, key, ts, &c[i].req, &err) != WXP_OK) {
            fprintf(stderr, "wxp-bench-race: %s\n", err.msg);
            goto out;
        }
    }
    for (opened = 0; opened < o.count; opened++) {
        struct conn *k = &c[opened];
        k->fd = open_conn(&sa);
        if (k->fd < 0 || !write_all(k->fd, k->req.ptr, k->req.len - 1)) {
            fprintf(stderr, "wxp-bench-race: connection %ld to %s: %s\n", opened, o.url,
                    strerror(errno));
            goto out;
        }
    }
    /* Give the server time to read every request up to the missing byte. */
    settle.tv_sec = o.settle_ms / 1000;
    settle.tv_nsec = (o.settle_ms % 1000) * 1000000L;
    nanosleep(&settle, NULL);
    t0 = now_us();
    for (long i = 0; i < o.count; i++) {
        if (!write_all(c[i].fd, c[i].req.ptr + c[i].req.len - 1, 1)) {
            c[i].done = true;
        }
    }
    t1 = now_us();
    read_answers(c, o.count, o.timeout_ms);
    for (long i = 0; i < o.count; i++) {
        unsigned status = parse_status(c[i].resp, c[i].resp_len);
        char code[CODE_MAX];
        if (status == 0) {
            no_answer++;
            continue;
        }
        parse_code(c[i].resp, c[i].resp_len, code);
        add_tally(t, &nt, status, code);
    }
    for (long i = 0; i < nt; i++) {
        printf("status=%u code=%s count=%ld\n", t[i].status, t[i].code, t[i].count);
    }
    printf("no_answer=%ld last_byte_spread_us=%.0f\n", no_answer, t1 - t0);
    rc = 0;
out:
    for (long i = 0; c != NULL && i < o.count; i++) {
        if (c[i].fd >= 0) {
            close(c[i].fd);
        }
        wxp_buf_free(&c[i].req);
    }
    wxp_free(c);
    wxp_free(t);
    wxp_key_free(key);
    return rc;
}
