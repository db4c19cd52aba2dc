/* Target: mock_config_load_text */
/* SPDX-License-Identifier: MIT */
/* fuzz_config.c: the mock's JSON configuration, from memory (mock_config_load reads the same
 * document from a file). The origin names a directory that does not exist, so relative key paths
 * fail to open instead of reading whatever is beside the fuzzer. Invariant: an accepted config
 * has a certificate for every merchant and a key for every signer. */
#include <string.h>

#include "fuzz.h"
#include "mock.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mock_config c;
    struct wxp_err err;
    enum wxp_code rc;

    memset(&c, 0, sizeof c);
    wxp_err_clear(&err);
    rc = mock_config_load_text(&c, (const char *)data, size, "/nonexistent/fuzz/config.json", &err);
    FUZZ_CHECK(rc < WXP_CODE_COUNT);
    if (rc == WXP_OK) {
        for (size_t i = 0; i < c.nmerchants; i++) {
            FUZZ_CHECK(c.merchants[i].cert != NULL);
            FUZZ_CHECK(c.merchants[i].mchid[0] != '\0');
        }
        for (size_t i = 0; i < c.nsigners; i++) {
            FUZZ_CHECK(c.signers[i].key != NULL);
        }
    } else {
        FUZZ_CHECK(err.code == rc);
    }
    mock_config_free(&c);
    return 0;
}
