/* SPDX-License-Identifier: MIT */
/* testutil.h: fixture access for the cmocka unit tests. Aborts the test on any failure. */
#ifndef WXP_TESTUTIL_H
#define WXP_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "wxp/keys.h"

/* Fixed test identities; they match fixtures/fixtures.json (checked by test_keys). */
#define T_MCHID_A "1900000109"
#define T_MCHID_B "1900000110"
#define T_SERIAL_A "3B2A4C1D5E6F708192A3B4C5D6E7F8091A2B3C4D"
#define T_SERIAL_B "4C3B5D2E6F708192A3B4C5D6E7F8091A2B3C4D5E"
#define T_SERIAL_PLATFORM "6D5C4B3A29180F1E2D3C4B5A69788796A5B4C3D2"
#define T_SERIAL_WRONG "7E6D5C4B3A29180F1E2D3C4B5A69788796A5B4C3"
#define T_PUBKEY_ID "PUB_KEY_ID_0119000001092025112400000000000001"

/* "fixtures/<rel>" as an absolute path in a static buffer (valid until the next call). */
const char *t_fixture(const char *rel);
/* Reads fixtures/<rel> into a new NUL-terminated buffer (free with wxp_free). */
char *t_read(const char *rel, size_t *len);
/* Load keys from fixtures/<rel>; fail the test on error. Free with wxp_key_free. */
struct wxp_key *t_private(const char *rel);
struct wxp_key *t_cert(const char *rel);
struct wxp_key *t_pubkey(const char *rel, const char *id);

/* failmalloc: install T_FAILING with wxp_mem_set_allocator; t_fail_countdown is how many
 * allocations succeed before one fails (-1: never), t_fail_allocations counts every call. */
#include "wxp/mem.h"
extern long t_fail_countdown;
extern long t_fail_allocations;
extern const struct wxp_allocator T_FAILING;

#endif
