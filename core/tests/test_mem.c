/* SPDX-License-Identifier: MIT */
/* test_mem.c: failmalloc: fail the N-th allocation for every N; each failure must surface as an
 * error (never a crash or a leak, which ASan/valgrind would report) and the run must succeed once
 * N passes the number of allocations. */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "wxp/envelope.h"
#include "wxp/mem.h"
#include "wxp/schema.h"

static const char BODY[] = "{\"service_id\":\"2002000000000558128851361561536\","
                           "\"appid\":\"wxd678efh567hg6787\",\"reason\":\"用户主动解除\"}";
static const char ENVELOPE[] =
    "{\"code\":\"PARAM_ERROR\",\"message\":\"参数错误\",\"detail\":"
    "{\"field\":\"/a\",\"value\":3,\"issue\":\"x\",\"location\":\"body\"}}";

static enum wxp_code workload(void)
{
    struct wxp_values v;
    struct wxp_envelope e;
    struct wxp_buf b;
    enum wxp_code rc;

    rc = wxp_schema_check_body(&WXP_SCHEMA_TERMINATE_BY_OPENID, BODY, sizeof BODY - 1, &v, NULL,
                               NULL);
    if (rc != WXP_OK) {
        return rc;
    }
    wxp_values_free(&v);
    rc = wxp_envelope_parse(ENVELOPE, sizeof ENVELOPE - 1, &e, NULL);
    if (rc != WXP_OK) {
        return rc;
    }
    wxp_envelope_free(&e);
    wxp_buf_init(&b, 4096);
    rc = wxp_envelope_build(&b, "PARAM_ERROR", "参数错误", "{\"location\":\"body\"}", NULL);
    wxp_buf_free(&b);
    return rc;
}

static void test_mem_every_failed_allocation_is_reported(void **state)
{
    (void)state;
    long total;

    wxp_mem_set_allocator(&T_FAILING);
    t_fail_countdown = -1;
    t_fail_allocations = 0;
    assert_int_equal(workload(), WXP_OK);
    total = t_fail_allocations;
    assert_true(total > 5);
    for (long n = 0; n < total; n++) {
        t_fail_countdown = n;
        enum wxp_code rc = workload();
        if (rc != WXP_E_NOMEM) {
            fail_msg("failing allocation %ld of %ld gave %s, not WXP_E_NOMEM", n, total,
                     wxp_code_name(rc));
        }
    }
    t_fail_countdown = total;
    assert_int_equal(workload(), WXP_OK);
    wxp_mem_set_allocator(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mem_every_failed_allocation_is_reported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
