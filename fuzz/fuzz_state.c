/* Target: mock_state_load_json */
/* SPDX-License-Identifier: MIT */
/* fuzz_state.c: the mock's authorization state document (PUT /__admin/state). Invariants: a
 * refused document leaves the state as it was; an accepted one dumps as strict JSON that loads
 * again to the same dump. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "keys.h"
#include "mock.h"
#include "wxp/json.h"

static struct mock_config cfg;
static bool cfg_ready;

static void free_cfg(void)
{
    mock_config_free(&cfg);
}

static void dump(struct mock_state *s, struct wxp_buf *b)
{
    wxp_buf_init(b, (size_t)64 * 1024 * 1024);
    FUZZ_CHECK(mock_state_dump(s, b) == WXP_OK);
    FUZZ_CHECK(wxp_json_check(wxp_buf_cstr(b), b->len, NULL, NULL) == WXP_OK);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mock_state *s;
    struct wxp_buf before, after, again;
    struct wxp_err err;

    if (!cfg_ready) {
        FUZZ_CHECK(mock_config_defaults(&cfg, &err) == WXP_OK);
        cfg_ready = true;
        atexit(free_cfg);
    }
    s = mock_state_new(&cfg);
    FUZZ_CHECK(s != NULL);
    FUZZ_CHECK(mock_state_terminate(s, FUZZ_MCHID, "o-before", "wxd678efh567hg6787", "500001",
                                    "fuzz", FUZZ_NOW) == MOCK_TERM_OK);
    dump(s, &before);
    wxp_err_clear(&err);
    if (mock_state_load_json(s, (const char *)data, size, &err) != WXP_OK) {
        dump(s, &after);
        FUZZ_CHECK(before.len == after.len && memcmp(before.ptr, after.ptr, before.len) == 0);
    } else {
        dump(s, &after);
        FUZZ_CHECK(mock_state_load_json(s, after.ptr, after.len, &err) == WXP_OK);
        dump(s, &again);
        FUZZ_CHECK(after.len == again.len && memcmp(after.ptr, again.ptr, after.len) == 0);
        wxp_buf_free(&again);
        (void)mock_state_terminate(s, FUZZ_MCHID, "o-after", "wxd678efh567hg6787", "500001", "fuzz",
                                   FUZZ_NOW);
        mock_state_reset(s);
    }
    wxp_buf_free(&before);
    wxp_buf_free(&after);
    mock_state_free(s);
    return 0;
}
