/* SPDX-License-Identifier: MIT */
/* test_wire.c: what libwxpay writes to the socket, seen by a send() of this executable that
 * libcurl's calls reach first (the executable exports it; it forwards to the next one): a request
 * with a body goes out in one write, and one curl handle serves POST, GET, DELETE and POST again
 * with each request's own method, headers and body. */
#define _GNU_SOURCE /* RTLD_NEXT */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "e2e.h"
#include "wxpay/wxpay.h"

static struct e2e_mock mock;
static char key_path[1024], cert_path[1024];

/* ---- the send() that libcurl reaches -------------------------------------------------------
 * Only the test thread sends (libcurl runs transfers in the calling thread; the mock is another
 * process), so no lock. */

#define MAX_WRITES 16
#define WRITE_MAX 8192

static struct {
    char marker[160]; /* record the writes that hold this (a request line); "" = none */
    char data[MAX_WRITES][WRITE_MAX + 1];
    size_t len[MAX_WRITES];
    size_t count; /* writes recorded */
    size_t total; /* bytes of every write since the marker was set */
    bool after;   /* a write holding the marker was seen */
} wire;

static void wire_watch(const char *marker)
{
    memset(&wire, 0, sizeof wire);
    snprintf(wire.marker, sizeof wire.marker, "%s", marker);
}

static void wire_note(const void *buf, size_t len)
{
    if (wire.marker[0] == '\0') {
        return;
    }
    if (memmem(buf, len, wire.marker, strlen(wire.marker)) != NULL) {
        wire.after = true;
    }
    if (!wire.after || wire.count == MAX_WRITES) {
        return;
    }
    wire.len[wire.count] = len < WRITE_MAX ? len : WRITE_MAX;
    memcpy(wire.data[wire.count], buf, wire.len[wire.count]);
    wire.data[wire.count][wire.len[wire.count]] = '\0';
    wire.count++;
    wire.total += len;
}

__attribute__((visibility("default"))) ssize_t send(int fd, const void *buf, size_t len, int flags);
ssize_t send(int fd, const void *buf, size_t len, int flags)
{
    static ssize_t (*next)(int, const void *, size_t, int);

    if (next == NULL) {
        *(void **)&next = dlsym(RTLD_NEXT, "send");
    }
    wire_note(buf, len);
    return next(fd, buf, len, flags);
}

/* ---- fixture -------------------------------------------------------------------------------- */

static int start(void **state)
{
    (void)state;
    snprintf(key_path, sizeof key_path, "%s", t_fixture("keys/test-merchant-a.key.pem"));
    snprintf(cert_path, sizeof cert_path, "%s", t_fixture("certs/test-platform.cert.pem"));
    e2e_start(&mock, NULL);
    return 0;
}

static int stop(void **state)
{
    (void)state;
    e2e_stop(&mock);
    return 0;
}

struct traced {
    size_t request_lines;
    size_t request_bodies;
    char last_body[512];
};

static void on_trace(void *ud, const char *what, const char *text, size_t len)
{
    struct traced *t = ud;

    if (strcmp(what, "request-line") == 0) {
        t->request_lines++;
    } else if (strcmp(what, "request-body") == 0) {
        t->request_bodies++;
        snprintf(t->last_body, sizeof t->last_body, "%.*s", (int)len, text);
    }
}

static struct wxpay_client *client_new(struct traced *t)
{
    static const char *certs[2];
    struct wxpay_config cfg;
    struct wxpay_client *c = NULL;
    struct wxpay_result r;

    memset(&cfg, 0, sizeof cfg);
    certs[0] = cert_path;
    cfg.base_url = mock.url;
    cfg.mchid = T_MCHID_A;
    cfg.mch_serial = T_SERIAL_A;
    cfg.mch_key_file = key_path;
    cfg.platform_cert_files = certs;
    if (t != NULL) {
        cfg.trace.fn = on_trace;
        cfg.trace.ud = t;
    }
    if (wxpay_client_new(&cfg, &c, &r) != WXPAY_OK) {
        fail_msg("client: %s", r.error);
    }
    wxpay_result_free(&r);
    return c;
}

static enum wxpay_result_kind terminate(struct wxpay_client *c, const char *openid,
                                        const char *reason, struct wxpay_result *r)
{
    struct wxpay_terminate t = {openid, "500001", "wxd678efh567hg6787", reason};
    return wxpay_payscore_terminate(c, &t, r);
}

/* The one recorded write that starts with `line`; fails the test unless there is exactly one. */
static const char *the_write(const char *line)
{
    const char *found = NULL;

    for (size_t i = 0; i < wire.count; i++) {
        if (strncmp(wire.data[i], line, strlen(line)) == 0) {
            if (found != NULL) {
                fail_msg("two writes start with %s", line);
            }
            found = wire.data[i];
        }
    }
    if (found == NULL) {
        fail_msg("no write starts with %s", line);
    }
    return found;
}

/* ---- tests ---------------------------------------------------------------------------------- */

/* The request line, the headers and the body leave in one write (libcurl was given the body to
 * send with the headers), on a fresh connection and on the kept-alive one: one write, one
 * segment for the server to read, instead of the headers and then the body from a read callback
 * (two writes and a poll between them). */
static void test_wire_request_with_body_is_one_write(void **state)
{
    (void)state;
    static const char *const OPENIDS[] = {"oOneWriteFresh", "oOneWriteKept"};
    struct wxpay_client *c = client_new(NULL);
    struct wxpay_result r;

    for (size_t i = 0; i < 2; i++) {
        char line[160];
        const char *w;
        snprintf(line, sizeof line,
                 "POST /v3/payscore/permissions/openid/%s/terminate HTTP/1.1\r\n", OPENIDS[i]);
        wire_watch(line);
        assert_int_equal(terminate(c, OPENIDS[i], "one write", &r), WXPAY_OK);
        wxpay_result_free(&r);
        assert_int_equal(wire.count, 1);
        w = the_write(line);
        /* The write ends with the body, right after the blank line that ends the headers. */
        assert_non_null(strstr(w, "\r\n\r\n{"));
        assert_non_null(strstr(w, "\"reason\":\"one write\"}"));
        assert_int_equal(w[wire.len[0] - 1], '}');
        wire_watch("");
    }
    wxpay_client_free(c);
}

/* One handle, kept options: each request carries its own method, headers and body, whatever the
 * request before it was (a GET after a POST sends no body and no Content-Length; a DELETE without
 * a body sends none; a POST after them has its body again). The trace sees each request once. */
static void test_wire_one_handle_serves_each_method(void **state)
{
    (void)state;
    struct traced t;
    struct wxpay_client *c;
    struct wxpay_result r;
    const char *w;
    static const char *const GET_LINE = "GET /v3/payscore/permissions/openid/oHandleA?";

    memset(&t, 0, sizeof t);
    c = client_new(&t);
    wire_watch("POST /v3/payscore/permissions/openid/oHandleA/terminate HTTP/1.1\r\n");
    assert_int_equal(terminate(c, "oHandleA", "first post", &r), WXPAY_OK);
    wxpay_result_free(&r);
    w = the_write("POST ");
    assert_non_null(strstr(w, "Content-Length: "));
    assert_non_null(strstr(w, "\"reason\":\"first post\"}"));

    wire_watch(GET_LINE);
    {
        const struct wxpay_param p[] = {
            {"openid", "oHandleA"}, {"appid", "wxd678efh567hg6787"}, {"service_id", "500001"}};
        (void)wxpay_call(c, "payscore.permissions.query-by-openid", p, 3, NULL, &r);
        assert_int_not_equal(r.http_status, 0);
        wxpay_result_free(&r);
    }
    w = the_write("GET ");
    assert_null(strstr(w, "Content-Length"));
    assert_null(strstr(w, "Content-Type"));
    assert_int_equal(strcmp(w + strlen(w) - 4, "\r\n\r\n"), 0); /* no body */
    assert_int_equal(wire.count, 1);

    wire_watch("DELETE /v3/handle-test HTTP/1.1\r\n");
    (void)wxpay_request(c, "DELETE", "/v3/handle-test", NULL, NULL, &r);
    assert_int_not_equal(r.http_status, 0);
    wxpay_result_free(&r);
    w = the_write("DELETE ");
    assert_null(strstr(w, "Content-Length"));
    assert_int_equal(strcmp(w + strlen(w) - 4, "\r\n\r\n"), 0);

    wire_watch("POST /v3/payscore/permissions/openid/oHandleB/terminate HTTP/1.1\r\n");
    assert_int_equal(terminate(c, "oHandleB", "second post", &r), WXPAY_OK);
    wxpay_result_free(&r);
    w = the_write("POST ");
    assert_non_null(strstr(w, "\"reason\":\"second post\"}"));
    wire_watch("");

    assert_int_equal(t.request_lines, 4);
    assert_int_equal(t.request_bodies, 2);
    assert_non_null(strstr(t.last_body, "\"reason\":\"second post\""));
    /* Freeing closes the kept connection; libcurl then traces with no call under way. */
    wxpay_client_free(c);
}

static void add_rules(const char *json)
{
    const char *h[] = {"Content-Type: application/json", NULL};
    struct e2e_resp r;

    e2e_send(&mock, "POST", "/__admin/scenarios", h, json, strlen(json), &r);
    if (r.status != 201) {
        fail_msg("scenario refused: %ld %.*s", r.status, (int)r.body.len, wxp_buf_cstr(&r.body));
    }
    e2e_resp_free(&r);
}

/* The refusal of a resend is for requests with a body: a query (a GET) on a kept-alive
 * connection that the server drops before answering is sent again by libcurl on a fresh one,
 * once, and the call succeeds (docs/client.md#a-dropped-connection). */
static void test_wire_a_dropped_get_is_sent_again(void **state)
{
    (void)state;
    static const char *const LINE = "GET /v3/payscore/permissions/openid/oDropGet?";
    const struct wxpay_param p[] = {
        {"openid", "oDropGet"}, {"appid", "wxd678efh567hg6787"}, {"service_id", "500001"}};
    struct wxpay_client *c = client_new(NULL);
    struct wxpay_result r;
    size_t sent = 0;

    add_rules("[{\"match\":{\"openid\":\"oDropGet\"},\"times\":1,\"action\":{\"drop\":true}}]");
    /* The first call opens the connection the query reuses. */
    assert_int_equal(terminate(c, "oDropGetWarm", "warm", &r), WXPAY_OK);
    wxpay_result_free(&r);
    wire_watch(LINE);
    (void)wxpay_call(c, "payscore.permissions.query-by-openid", p, 3, NULL, &r);
    assert_int_not_equal(r.http_status, 0);
    assert_int_equal(r.attempts, 1);
    assert_int_equal(r.curl_code, 0);
    wxpay_result_free(&r);
    for (size_t i = 0; i < wire.count; i++) {
        sent += strncmp(wire.data[i], LINE, strlen(LINE)) == 0;
    }
    assert_int_equal(sent, 2);
    wire_watch("");
    wxpay_client_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wire_request_with_body_is_one_write),
        cmocka_unit_test(test_wire_one_handle_serves_each_method),
        cmocka_unit_test(test_wire_a_dropped_get_is_sent_again),
    };
    return cmocka_run_group_tests(tests, start, stop);
}
