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
    assert_int_equal(count_mode(CONF_SERVER) + count_mode(CONF_CLIENT), cat.count);
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
        cmocka_unit_test(test_catalog_names),
        cmocka_unit_test(test_catalog_outcome_init_free),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
