/* SPDX-License-Identifier: MIT */
/* request.c: header lookup on a received request, and the life cycle of a response (including
 * the APIv3 error envelope every failing check answers with). */
#include <string.h>

#include "mock.h"
#include "wxp/envelope.h"
#include "wxp/mem.h"
#include "wxp/signmsg.h"

/* An error body is a few hundred bytes; admin dumps raise the cap on their own response. */
#define RESPONSE_BODY_MAX ((size_t)1024 * 1024)

size_t mock_request_body_max(const char *method, const char *target)
{
    static const char STATE[] = "/__admin/state";
    size_t n = sizeof STATE - 1;

    /* A state dump may be put back whole: its cap is the dump's (docs/mock-admin.md#state). */
    if (method != NULL && target != NULL && strcmp(method, "PUT") == 0 &&
        strncmp(target, STATE, n) == 0 && (target[n] == '\0' || target[n] == '?')) {
        return MOCK_STATE_DOC_MAX;
    }
    return MOCK_BODY_MAX;
}

const char *mock_request_header(const struct mock_request *r, const char *name)
{
    struct wxp_str want = wxp_str_c(name);
    size_t n = r->nheaders < MOCK_HEADERS_MAX ? r->nheaders : MOCK_HEADERS_MAX;

    if (name == NULL) {
        return NULL;
    }
    /* cppcheck 2.10 takes n for 0 here (a value-flow false positive): nheaders is set by the
     * daemon's header callback, which this file does not see. */
    /* cppcheck-suppress knownConditionTrueFalse */
    for (size_t i = 0; i < n; i++) {
        const struct mock_header *h = &r->headers[i];
        if (h->name != NULL && wxp_str_eq_nocase(wxp_str_c(h->name), want)) {
            return h->value;
        }
    }
    return NULL;
}

struct wxp_buf *mock_scratch(const struct mock_request *r, struct wxp_buf *local)
{
    if (r->scratch != NULL) {
        wxp_buf_reset(r->scratch);
        return r->scratch;
    }
    wxp_buf_init(local, WXP_SIGNMSG_MAX);
    return local;
}

void mock_scratch_done(struct wxp_buf *b, struct wxp_buf *local)
{
    if (b == local) {
        wxp_buf_free(local);
    }
}

void mock_response_init(struct mock_response *resp)
{
    memset(resp, 0, sizeof *resp);
    wxp_buf_init(&resp->body, RESPONSE_BODY_MAX);
    resp->sigmode = MOCK_SIG_VALID;
    resp->sign = false;
}

void mock_response_free(struct mock_response *resp)
{
    if (resp == NULL) {
        return;
    }
    wxp_buf_free(&resp->body);
    wxp_free(resp->sign_over);
    mock_response_init(resp);
}

enum wxp_code mock_response_error(struct mock_response *resp, unsigned status, const char *code,
                                  const char *message, const char *detail_json)
{
    struct wxp_buf body;
    enum wxp_code rc;

    if (code == NULL || strlen(code) >= sizeof resp->code) {
        return WXP_E_INVALID_ARG;
    }
    /* Built aside so that a failure leaves `resp` as it was. */
    wxp_buf_init(&body, resp->body.max ? resp->body.max : RESPONSE_BODY_MAX);
    rc = wxp_envelope_build(&body, code, message, detail_json, NULL);
    if (rc != WXP_OK) {
        wxp_buf_free(&body);
        return rc;
    }
    wxp_buf_free(&resp->body);
    resp->body = body;
    resp->status = status;
    memcpy(resp->code, code, strlen(code) + 1);
    resp->sign = false;
    return WXP_OK;
}
