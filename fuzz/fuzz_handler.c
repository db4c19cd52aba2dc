/* Target: mock_handle */
/* SPDX-License-Identifier: MIT */
/* fuzz_handler.c: the mock's whole request handler without sockets: requests in the text form of
 * reqtext.h (several per input, "%%" between them) go through mock_handle as daemon.c would send
 * them, then into the journal, and answers that are to be signed are signed and verified with the
 * platform keys. One server is built once with mock_server_init, as wxpay-mock's is, and reset
 * after each input (state, nonces, journal, scenarios, notifications; the notification sender is
 * not started, so notifications are queued and never sent), so inputs do not affect each other.
 *
 * Clock: mock_handle reads time(NULL). The request window is set to 100 years, so signed seeds
 * with the fixed timestamp FUZZ_NOW keep verifying; only a timestamp 100 years away from the
 * clock depends on the day of the run. Invariants: every answer has a status (or drops); every
 * answer the normal checks produce has an empty or strict-JSON body (clients read it with
 * wxp_envelope_parse); admin answers are complete JSON; a signed answer verifies. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fuzz.h"
#include "keys.h"
#include "mock.h"
#include "reqtext.h"
#include "wxp/json.h"

#define WINDOW_100_YEARS ((int64_t)100 * 366 * 86400)

static struct mock_server srv;
static bool trace; /* WXP_FUZZ_TRACE set: one line per request on stderr, to check seeds */
static struct wxp_keystore *ks;
static bool ready;

static void teardown(void)
{
    mock_server_free(&srv);
    wxp_keystore_free(ks);
}

static void setup(void)
{
    struct mock_config cfg;
    struct wxp_err err;

    FUZZ_CHECK(mock_config_defaults(&cfg, &err) == WXP_OK);
    cfg.skew = WINDOW_100_YEARS;
    cfg.journal_size = 16;
    FUZZ_CHECK(mock_server_init(&srv, &cfg, 1024, false, &err) == WXP_OK);
    srv.quiet = 1;
    ks = fuzz_platform_keystore();
    trace = getenv("WXP_FUZZ_TRACE") != NULL;
    ready = true;
    atexit(teardown);
}

/* Signs as daemon.c does and checks the result with the client's verifier. */
static void sign_and_verify(const struct mock_request *req, const struct mock_response *resp)
{
    struct mock_out_headers h;
    struct wxp_err err;
    struct wxp_resp r;
    struct wxp_resp_policy pol = {(int64_t)time(NULL), WXP_SKEW_DEFAULT, true};
    bool untampered = resp->sigmode == MOCK_SIG_VALID && !resp->unknown_serial &&
                      resp->ts_offset == 0 && resp->omit_header[0] == '\0' &&
                      resp->sign_over == NULL;

    FUZZ_CHECK(mock_sign_response(&srv, req, resp, &h, &err) == WXP_OK);
    if (!h.has_sig || !untampered || !resp->sign) {
        return;
    }
    r.timestamp = wxp_str_c(h.timestamp);
    r.nonce = wxp_str_c(h.nonce);
    r.signature = wxp_str_c(h.signature);
    r.serial = wxp_str_c(h.serial);
    r.request_id = wxp_str_c(h.request_id);
    r.body = (struct wxp_str){wxp_buf_cstr(&resp->body), resp->body.len};
    FUZZ_CHECK(wxp_resp_verify(ks, &r, &pol, &err) == WXP_OK);
}

/* Admin answers echo request bytes faithfully, so a NUL comes out as \u0000: valid JSON that the
 * strict wxp_json_check refuses by policy. They are checked with cJSON, as their readers do. */
static bool json_complete(const struct wxp_buf *b)
{
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(b->ptr, b->len, &end, 0);
    bool ok = root != NULL && end == b->ptr + b->len;
    cJSON_Delete(root);
    return ok;
}

static void one(const struct wxp_str text)
{
    struct mock_request req;
    struct mock_response resp;

    mock_response_init(&resp);
    if (reqtext_parse(text.ptr, text.len, &req)) {
        req.seq = mock_server_next_seq(&srv);
        mock_handle(&srv, &req, &resp);
        if (trace) {
            fprintf(stderr, "fuzz_handler: %s %s -> %u %s %s\n", req.method, req.target,
                    resp.status, resp.code, resp.failed_check ? resp.failed_check : "-");
        }
        FUZZ_CHECK(resp.drop || (resp.status >= 100 && resp.status <= 999));
        if (strncmp(req.target, "/__admin", 8) == 0) {
            FUZZ_CHECK(resp.body.len == 0 || json_complete(&resp.body));
        } else if (resp.failed_check == NULL || strcmp(resp.failed_check, "scenario") != 0) {
            FUZZ_CHECK(resp.body.len == 0 || wxp_json_check(wxp_buf_cstr(&resp.body), resp.body.len,
                                                            NULL, NULL) == WXP_OK);
        }
        if (!resp.drop) {
            sign_and_verify(&req, &resp);
        }
        mock_journal_add(srv.journal, &req, &resp);
    }
    mock_response_free(&resp);
    reqtext_free(&req);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct wxp_str parts[REQTEXT_MAX_REQUESTS];
    size_t n;

    if (!ready) {
        setup();
    }
    n = reqtext_split((const char *)data, size, parts, REQTEXT_MAX_REQUESTS);
    for (size_t i = 0; i < n; i++) {
        one(parts[i]);
    }
    mock_state_reset(srv.state);
    mock_nonces_clear(srv.nonces);
    mock_journal_clear(srv.journal);
    mock_scenarios_clear(srv.scenarios);
    mock_notify_clear(&srv);
    pthread_mutex_lock(&srv.seq_lock);
    srv.seq = 0;
    pthread_mutex_unlock(&srv.seq_lock);
    return 0;
}
