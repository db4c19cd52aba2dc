/* SPDX-License-Identifier: MIT */
/* op_internal.h: wxp_op_route over any table, so unit tests can route against a table of their
 * own (core only). */
#ifndef WXP_OP_INTERNAL_H
#define WXP_OP_INTERNAL_H

#include "wxp/op.h"

/* wxp_op_route over ops[0..n). */
enum wxp_route_result wxp_op_route_in(const struct wxp_op *ops, size_t n, struct wxp_str method,
                                      struct wxp_str path, struct wxp_route *out);

#endif
