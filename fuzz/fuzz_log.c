/* Target: mock_log_line */
/* SPDX-License-Identifier: MIT */
/* fuzz_log.c: the request log line in both formats, with fields taken from the input: a method
 * (up to 15 bytes, as the daemon keeps), a raw target, a scenario's code, a failed check and a
 * Request-ID, separated by NUL bytes. Invariants: the JSON line is one strict JSON object
 * (wxp_json_check) and ends in its only '\n'; both lines hold only valid UTF-8, no control byte but
 * the final '\n', no DEL and no C1 control; the text line's spaces are exactly its separators. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "fuzz.h"
#include "log.h"
#include "mock.h"
#include "wxp/buf.h"
#include "wxp/json.h"
#include "wxp/utf8.h"

/* The next field of in[*off..size), up to a NUL or the end, copied NUL-terminated into dst. */
static void field(const uint8_t *in, size_t size, size_t *off, char *dst, size_t cap)
{
    size_t n = 0;

    while (*off < size && in[*off] != '\0') {
        if (n + 1 < cap) {
            dst[n++] = (char)in[*off];
        }
        (*off)++;
    }
    if (*off < size) {
        (*off)++;
    }
    dst[n] = '\0';
}

/* One line: valid UTF-8, '\n' only at its end, no other control byte, DEL or C1 control;
 * returns its spaces. */
static size_t check_line(const char *s, size_t len)
{
    size_t spaces = 0;

    FUZZ_CHECK(len > 0 && s[len - 1] == '\n');
    FUZZ_CHECK(wxp_utf8_check(s, len, NULL) == WXP_OK);
    for (size_t i = 0; i + 1 < len; i++) {
        unsigned char c = (unsigned char)s[i];
        unsigned char d = (unsigned char)s[i + 1];
        FUZZ_CHECK(c >= 0x20 && c != 0x7F);
        FUZZ_CHECK(!(c == 0xC2 && d >= 0x80 && d <= 0x9F));
        spaces += c == ' ';
    }
    return spaces;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char target[4096], code[64], check[64], rid[64];
    struct mock_request req;
    struct mock_response resp;
    struct wxp_buf line;
    size_t off = 0;
    size_t eoff = 0;
    struct wxp_err e;

    memset(&req, 0, sizeof req);
    mock_response_init(&resp);
    field(data, size, &off, req.method, sizeof req.method);
    field(data, size, &off, target, sizeof target);
    field(data, size, &off, code, sizeof code);
    field(data, size, &off, check, sizeof check);
    field(data, size, &off, rid, sizeof rid);
    req.target = target;
    req.seq = size;
    snprintf(resp.code, sizeof resp.code, "%s", code);
    resp.failed_check = check[0] != '\0' ? check : NULL;
    resp.status = 400;
    resp.drop = size % 2 == 1;

    wxp_buf_init(&line, 64 * 1024);
    FUZZ_CHECK(mock_log_line(&line, true, "2023-11-14T22:13:20.000Z", &req, &resp,
                             rid[0] != '\0' ? rid : NULL, 7) == WXP_OK);
    (void)check_line(line.ptr, line.len);
    FUZZ_CHECK(line.ptr[0] == '{');
    FUZZ_CHECK(wxp_json_check(line.ptr, line.len - 1, &eoff, &e) == WXP_OK);
    wxp_buf_reset(&line);
    FUZZ_CHECK(mock_log_line(&line, false, "", &req, &resp, NULL, 7) == WXP_OK);
    /* "wxpay-mock: seq= method= path= status= code= latency_ms= check=[ dropped=1]": values
     * hold no space, so the spaces are exactly the separators. */
    FUZZ_CHECK(check_line(line.ptr, line.len) == (resp.drop ? 8U : 7U));
    wxp_buf_free(&line);
    mock_response_free(&resp);
    return 0;
}
