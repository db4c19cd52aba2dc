/* SPDX-License-Identifier: MIT */
/* str.h: borrowed byte slices. Nothing that comes from the network is NUL-terminated. */
#ifndef WXP_STR_H
#define WXP_STR_H

#include <stdbool.h>
#include <stddef.h>

/* A slice borrowed from someone else's buffer. ptr == NULL means "absent" (a missing header),
 * which callers can tell apart from present-but-empty (ptr != NULL, len == 0). */
struct wxp_str {
    const char *ptr;
    size_t len;
};

#define WXP_STR_LIT(lit) ((struct wxp_str){(lit), sizeof(lit) - 1})

/* A slice over a C string; NULL gives the absent slice. */
struct wxp_str wxp_str_c(const char *s);

bool wxp_str_eq(struct wxp_str a, struct wxp_str b);
/* ASCII case-insensitive equality (hex serials, header names). */
bool wxp_str_eq_nocase(struct wxp_str a, struct wxp_str b);
bool wxp_str_starts_with(struct wxp_str s, const char *prefix);

/* A command-line or config number: decimal digits only (no sign, no spaces), within [lo, hi]
 * (lo >= 0). False, *out untouched, for anything else. */
bool wxp_parse_long(const char *s, long lo, long hi, long *out);

#endif
