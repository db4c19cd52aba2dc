/* Target: mock_scenarios_add_json */
/* SPDX-License-Identifier: MIT */
/* fuzz_scenario.c: a scenario document (--scenario FILE, POST /__admin/scenarios), then
 * mock_scenarios_apply on a fixed set of requests, three rounds so that nth/times counting runs,
 * then the dump. Rules draw from their own seeded generator, so runs repeat exactly. Invariants:
 * the dump is strict JSON; an answering action leaves a status. */
#include <string.h>

#include "fuzz.h"
#include "mock.h"
#include "reqtext.h"
#include "wxp/json.h"

static const char *const REQUESTS[] = {
    "POST /v3/payscore/permissions/openid/oUpF8uMuAJO_M2pxb1Q9zNjWeS6o/terminate\n"
    "Authorization: WECHATPAY2-SHA256-RSA2048 mchid=\"1900000109\",nonce_str=\"N1\","
    "timestamp=\"1700000000\",serial_no=\"3B2A4C1D5E6F708192A3B4C5D6E7F8091A2B3C4D\","
    "signature=\"c2ln\"\n"
    "Accept: application/json\nUser-Agent: fuzz/1.0\nContent-Type: application/json\n"
    "Wechatpay-Serial: 6D5C4B3A29180F1E2D3C4B5A69788796A5B4C3D2\n\n"
    "{\"service_id\":\"500001\",\"appid\":\"wxd678efh567hg6787\",\"reason\":\"测试\"}",
    "GET /__admin/health?x=1\n\n",
    "POST /v3/payscore/permissions/openid/o%2Fx/terminate\nAccept: */*\n\n{\"reason\":01}",
    "DELETE /v3/other/path\nX-Empty:\n\nnot json",
};

static void apply_all(struct mock_scenarios *s)
{
    for (size_t i = 0; i < sizeof REQUESTS / sizeof REQUESTS[0]; i++) {
        struct mock_request req;
        struct mock_response resp;
        FUZZ_CHECK(reqtext_parse(REQUESTS[i], strlen(REQUESTS[i]), &req));
        mock_response_init(&resp);
        if (mock_scenarios_apply(s, &req, i == 0 ? "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o" : NULL,
                                 i == 0 ? "1900000109" : NULL, &resp)) {
            FUZZ_CHECK(resp.drop || (resp.status >= 100 && resp.status <= 999));
        }
        FUZZ_CHECK(resp.delay_ms >= 0);
        mock_response_free(&resp);
        reqtext_free(&req);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mock_scenarios *s = mock_scenarios_new();
    struct wxp_buf b;
    struct wxp_err err;
    enum wxp_code rc;

    FUZZ_CHECK(s != NULL);
    wxp_err_clear(&err);
    rc = mock_scenarios_add_json(s, (const char *)data, size, "fuzz", &err);
    FUZZ_CHECK(rc < WXP_CODE_COUNT);
    if (rc == WXP_OK) {
        for (int round = 0; round < 3; round++) {
            apply_all(s);
        }
    } else {
        FUZZ_CHECK(err.code == rc);
    }
    wxp_buf_init(&b, (size_t)64 * 1024 * 1024);
    FUZZ_CHECK(mock_scenarios_dump(s, &b) == WXP_OK);
    FUZZ_CHECK(wxp_json_check(wxp_buf_cstr(&b), b.len, NULL, NULL) == WXP_OK);
    wxp_buf_free(&b);
    mock_scenarios_free(s);
    return 0;
}
