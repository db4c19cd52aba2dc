/* SPDX-License-Identifier: MIT */
/* test_catalog.c: the built-in catalogue loads, has enough cases of each mode, and every case is
 * well formed (unique ids, a known severity, a plausible expected outcome). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "conf.h"
#include "wxp/op.h"

static struct conf_catalog cat;

static int setup(void **state)
{
    struct wxp_err err;
    (void)state;
    if (conf_catalog_load(&cat, &err) != WXP_OK) {
        print_error("catalogue: %s\n", err.msg);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    conf_catalog_free(&cat);
    return 0;
}

static size_t count_mode(enum conf_mode m)
{
    size_t n = 0;
    for (size_t i = 0; i < cat.count; i++) {
        n += cat.cases[i].mode == m;
    }
    return n;
}

static void test_catalog_has_enough_cases(void **state)
{
    (void)state;
    assert_true(count_mode(CONF_SERVER) >= 40);
    assert_true(count_mode(CONF_CLIENT) >= 15);
    assert_true(count_mode(CONF_NOTIFY) >= 20);
    assert_int_equal(count_mode(CONF_SERVER) + count_mode(CONF_CLIENT) + count_mode(CONF_NOTIFY),
                     cat.count);
}

static void test_catalog_ids_unique(void **state)
{
    (void)state;
    for (size_t i = 0; i < cat.count; i++) {
        for (size_t j = i + 1; j < cat.count; j++) {
            if (strcmp(cat.cases[i].id, cat.cases[j].id) == 0) {
                fail_msg("id %s is used by cases %zu and %zu", cat.cases[i].id, i, j);
            }
        }
    }
}

static void test_catalog_cases_well_formed(void **state)
{
    (void)state;
    for (size_t i = 0; i < cat.count; i++) {
        const struct conf_case *c = &cat.cases[i];
        const char *sev = conf_severity_name(c->severity);
        assert_non_null(c->id);
        assert_non_null(c->title);
        assert_non_null(c->rule);
        assert_non_null(c->source);
        assert_non_null(c->kind);
        if (strcmp(sev, "MUST") != 0 && strcmp(sev, "SHOULD") != 0 && strcmp(sev, "INFO") != 0) {
            fail_msg("case %s: severity %d", c->id, (int)c->severity);
        }
        if (c->mode == CONF_SERVER) {
            if (c->expect_status != 0 && (c->expect_status < 100 || c->expect_status > 599)) {
                fail_msg("case %s: expected status %d", c->id, c->expect_status);
            }
            assert_true(c->expect_signed >= -1 && c->expect_signed <= 1);
        } else if (c->mode == CONF_NOTIFY) {
            /* 200: accepted (2xx), 0: refused (4xx/5xx); a FAIL body only on a refusal */
            assert_true(c->expect_status == 200 || c->expect_status == 0);
            if (c->expect_code != NULL) {
                assert_int_equal(c->expect_status, 0);
                assert_string_equal(c->expect_code, "FAIL");
            }
        } else {
            assert_true(c->expect_status == 0 || c->expect_status == 1);
            assert_null(c->expect_code);
        }
    }
}

/* The issue names these client-mode behaviours; each must have a case that expects failure. */
static void test_catalog_client_expects_success_on_valid_204(void **state)
{
    size_t ok = 0, must_fail = 0;
    (void)state;
    for (size_t i = 0; i < cat.count; i++) {
        const struct conf_case *c = &cat.cases[i];
        if (c->mode != CONF_CLIENT || c->severity != CONF_MUST) {
            continue;
        }
        ok += c->expect_status == 0;
        must_fail += c->expect_status == 1;
    }
    assert_true(ok >= 1);
    assert_true(must_fail >= 10);
}

/* Every case names an operation of the core's table, and its row is the one of that name; a
 * notify-mode case names "notification" and has no row. */
static void test_catalog_every_case_names_its_operation(void **state)
{
    (void)state;
    for (size_t i = 0; i < cat.count; i++) {
        const struct conf_case *c = &cat.cases[i];
        if (c->mode == CONF_NOTIFY) {
            assert_null(c->op);
            assert_string_equal(c->operation, "notification");
            continue;
        }
        if (c->op == NULL || c->operation == NULL || strcmp(c->op->name, c->operation) != 0) {
            fail_msg("case %s: operation %s", c->id, c->operation ? c->operation : "(none)");
        }
    }
}

static size_t count_op(enum conf_mode m, enum wxp_op_id id, const char *kind, int expect)
{
    size_t n = 0;
    for (size_t i = 0; i < cat.count; i++) {
        const struct conf_case *c = &cat.cases[i];
        n += c->mode == m && c->op->id == id && (kind == NULL || strcmp(c->kind, kind) == 0) &&
             (expect < 0 || c->expect_status == expect);
    }
    return n;
}

/* Each operation has a server case expecting its success (signed), parameter errors, and client
 * cases on the request and on forged answers; the GETs have both query orders and the query
 * checks; the lifecycle is one case. */
static void test_catalog_covers_every_operation(void **state)
{
    (void)state;
    for (size_t i = 0; i < WXP_OP_COUNT; i++) {
        const struct wxp_op *op = &WXP_OPS[i];
        bool get = strcmp(op->method, "GET") == 0;
        if (count_op(CONF_SERVER, op->id, NULL, (int)op->success) == 0 ||
            count_op(CONF_SERVER, op->id, NULL, 400) == 0 ||
            count_op(CONF_CLIENT, op->id, "request", -1) == 0 ||
            count_op(CONF_CLIENT, op->id, "response", 0) == 0 ||
            count_op(CONF_CLIENT, op->id, "response", 1) == 0) {
            fail_msg("operation %s lacks a success, error, request or response case", op->name);
        }
        if (get && count_op(CONF_SERVER, op->id, "query_detail", 400) == 0) {
            fail_msg("GET %s has no query parameter-error case", op->name);
        }
    }
    assert_int_equal(count_op(CONF_SERVER, WXP_OP_PERMISSIONS_QUERY_BY_OPENID, "query_order", 200),
                     1);
    assert_int_equal(count_op(CONF_SERVER, WXP_OP_PERMISSIONS_QUERY_BY_CODE, "lifecycle", 200), 1);
    assert_true(count_op(CONF_CLIENT, WXP_OP_PERMISSIONS_QUERY_BY_OPENID, "request", 0) >= 4);
}

/* The handler behaviours notify mode must grade, each by a case of the expected answer. */
static void test_catalog_notify_covers_the_handler_rules(void **state)
{
    static const struct {
        const char *kind;
        const char *param; /* NULL: any */
        int expect;        /* 200 accepted, 0 refused */
        enum conf_severity sev;
    } WANT[] = {
        {"valid", "USER_OPEN_SERVICE", 200, CONF_MUST},
        {"valid", "USER_CLOSE_SERVICE", 200, CONF_MUST},
        {"duplicate", NULL, 200, CONF_MUST},
        {"answer_time", NULL, 200, CONF_INFO},
        {"forged_signature", NULL, 0, CONF_MUST},
        {"signtest_same", NULL, 0, CONF_MUST},
        {"timestamp", "-600", 0, CONF_MUST},
        {"timestamp", "600", 0, CONF_MUST},
        {"unknown_serial", NULL, 0, CONF_MUST},
        {"tamper", "ciphertext", 0, CONF_MUST},
        {"tamper", "tag", 0, CONF_MUST},
        {"wrong_algorithm", NULL, 0, CONF_MUST},
        {"missing_header", "Wechatpay-Signature", 0, CONF_MUST},
        {"missing_header", "Wechatpay-Timestamp", 0, CONF_MUST},
        {"missing_header", "Wechatpay-Nonce", 0, CONF_MUST},
        {"missing_header", "Wechatpay-Serial", 0, CONF_MUST},
        {"envelope", "not_json", 0, CONF_MUST},
        {"envelope", "no_resource", 0, CONF_MUST},
    };
    size_t fail_bodies = 0;
    (void)state;
    for (size_t w = 0; w < sizeof WANT / sizeof WANT[0]; w++) {
        size_t n = 0;
        for (size_t i = 0; i < cat.count; i++) {
            const struct conf_case *c = &cat.cases[i];
            n += c->mode == CONF_NOTIFY && strcmp(c->kind, WANT[w].kind) == 0 &&
                 (WANT[w].param == NULL ||
                  (c->param != NULL && strcmp(c->param, WANT[w].param) == 0)) &&
                 c->expect_status == WANT[w].expect && c->severity == WANT[w].sev &&
                 c->expect_code == NULL;
        }
        if (n != 1) {
            fail_msg("notify kind %s param %s: %zu cases", WANT[w].kind,
                     WANT[w].param ? WANT[w].param : "*", n);
        }
    }
    for (size_t i = 0; i < cat.count; i++) {
        const struct conf_case *c = &cat.cases[i];
        fail_bodies +=
            c->mode == CONF_NOTIFY && c->expect_code != NULL && c->severity == CONF_SHOULD;
    }
    assert_true(fail_bodies >= 1);
}

static void test_catalog_names(void **state)
{
    (void)state;
    assert_string_equal(conf_severity_name(CONF_MUST), "MUST");
    assert_string_equal(conf_severity_name(CONF_SHOULD), "SHOULD");
    assert_string_equal(conf_severity_name(CONF_INFO), "INFO");
    assert_string_equal(conf_verdict_name(CONF_PASS), "pass");
    assert_string_equal(conf_verdict_name(CONF_FAIL), "fail");
    assert_string_equal(conf_verdict_name(CONF_SKIP), "skip");
    assert_string_equal(conf_verdict_name(CONF_ERROR), "error");
}

static void test_catalog_outcome_init_free(void **state)
{
    struct conf_outcome o;
    (void)state;
    conf_outcome_init(&o);
    assert_int_equal(o.verdict, CONF_PASS);
    assert_string_equal(o.reason, "");
    assert_int_equal(wxp_buf_addstr(&o.request, "POST /v3/x HTTP/1.1\r\n"), WXP_OK);
    assert_int_equal(o.exit_status, -1);
    conf_outcome_free(&o);
    assert_null(o.request.ptr);
    conf_outcome_free(&o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_catalog_has_enough_cases),
        cmocka_unit_test(test_catalog_ids_unique),
        cmocka_unit_test(test_catalog_cases_well_formed),
        cmocka_unit_test(test_catalog_client_expects_success_on_valid_204),
        cmocka_unit_test(test_catalog_every_case_names_its_operation),
        cmocka_unit_test(test_catalog_covers_every_operation),
        cmocka_unit_test(test_catalog_notify_covers_the_handler_rules),
        cmocka_unit_test(test_catalog_names),
        cmocka_unit_test(test_catalog_outcome_init_free),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
