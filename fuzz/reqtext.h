/* SPDX-License-Identifier: MIT */
/* reqtext.h: the text form in which fuzz inputs carry mock requests, built in memory without
 * sockets (what daemon.c builds from libmicrohttpd):
 *
 *   POST /v3/payscore/permissions/openid/o1/terminate     <- method SP target
 *   Authorization: WECHATPAY2-SHA256-RSA2048 mchid=...     <- header lines, "Name: value"
 *   Accept: application/json
 *                                                          <- empty line
 *   {"appid":...}                                          <- body: the rest
 *
 * Several requests go in one input separated by a line holding only "%%", so an input can add a
 * scenario or state through the admin API and then send a terminate. Lines end in LF or CRLF. */
#ifndef WXP_FUZZ_REQTEXT_H
#define WXP_FUZZ_REQTEXT_H

#include <stddef.h>

#include "fuzz.h"
#include "mock.h"

#define REQTEXT_SEPARATOR "\n%%\n"
#define REQTEXT_MAX_REQUESTS 8
/* Every request "arrives" at the fixed clock. */
#define FUZZ_REQTEXT_MS (FUZZ_NOW * 1000)

/* Fills `r` (zeroed first) from text[0..len); the caller frees it with reqtext_free, also when
 * this fails. Anything the format cannot express (a NUL in a header) is cut as MHD would. False
 * only when out of memory. */
bool reqtext_parse(const char *text, size_t len, struct mock_request *r);
void reqtext_free(struct mock_request *r);

/* Splits text at REQTEXT_SEPARATOR: returns the number of parts (at most max), each a slice of
 * `text`. */
size_t reqtext_split(const char *text, size_t len, struct wxp_str *parts, size_t max);

#endif
