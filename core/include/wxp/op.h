/* SPDX-License-Identifier: MIT */
/* op.h: the operation table. Each APIv3 operation the harness knows is described once here:
 * its id and name, method, path template, parameters (path, query and body rows of one schema),
 * success status and response fields. The mock routes and checks by it, the client builds its
 * requests from it, and the conformance runner names the operation each case tests, so the path of
 * an API is written in exactly one place (like redis's command table: name -> description; the
 * business rules stay with the mock's handlers).
 * Adding an operation: docs/architecture.md, "Adding an API". */
#ifndef WXP_OP_H
#define WXP_OP_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "err.h"
#include "schema.h"
#include "str.h"

/* Table order; WXP_OPS[id].id == id. */
enum wxp_op_id {
    WXP_OP_PERMISSIONS_APPLY,
    WXP_OP_PERMISSIONS_QUERY_BY_CODE,
    WXP_OP_PERMISSIONS_QUERY_BY_OPENID,
    WXP_OP_PERMISSIONS_TERMINATE_BY_CODE,
    WXP_OP_PERMISSIONS_TERMINATE_BY_OPENID,
    WXP_OP_PLATFORM_CERTIFICATES_LIST,
    WXP_OP_COUNT
};

/* Path parameters of one template ("{openid}"), at most. */
#define WXP_OP_PATH_PARAMS_MAX 4

struct wxp_op {
    enum wxp_op_id id;
    /* The stable name users type and reports show: "payscore.permissions.terminate-by-openid"
     * (the CLI's and the runner's WXPAY_OPERATION, scenario `match.operation`, the journal). */
    const char *name;
    const char *method; /* "GET", "POST" */
    /* The path template: literal segments and whole-segment variables, each variable the name of
     * a WXP_LOC_URI_TEMPLATE row of `params`: "/v3/payscore/permissions/openid/{openid}/terminate".
     * Never a query: query parameters are the WXP_LOC_QUERY rows. */
    const char *path;
    /* Every request parameter, in the order the live server checks them: path rows, then query
     * rows, then body rows; within a location, the documented order (also the order the client
     * serialises a query or a body in). */
    const struct wxp_schema *params;
    unsigned success; /* 200 or 204 */
    /* The success body's fields (all WXP_LOC_BODY rows; `required` = always present), or NULL
     * when the success answer has no flat body: a 204, or a 200 whose body is nested (the
     * certificate list), which the schema's flat rows cannot describe; that body is written down
     * in `doc`, the mock's handler builds it, and wxp_op_response_build/parse refuse the row. */
    const struct wxp_schema *response;
    /* Where the rules of this operation are written down: a docs/protocol.md anchor. */
    const char *doc;
};

/* The table, indexed by enum wxp_op_id. */
extern const struct wxp_op WXP_OPS[WXP_OP_COUNT];

/* The operation of that name (exact, case-sensitive), or NULL. */
const struct wxp_op *wxp_op_by_name(struct wxp_str name);

/* ---- building a request (client side) --------------------------------------------------------
 * `vals` is indexed like op->params->fields: vals[i] is the value of row i as a NUL-terminated
 * UTF-8 string, or NULL when absent. Nothing is taken over; nothing is kept. */

/* Checks values before anything is sent: each required row present, each present value within its
 * row (wxp_schema_check_value). Returns WXP_OK or the first failure, err->field naming the row as
 * "/<location>/<name>": WXP_E_PARAM_MISSING, then wxp_schema_check_value's codes. */
enum wxp_code wxp_op_check_values(const struct wxp_op *op, const char *const *vals,
                                  struct wxp_err *err) WXP_MUST_CHECK;

/* Appends the request target to `out`: the template with each {var} replaced by its value
 * percent-encoded as a path segment (RFC 3986 unreserved characters kept, every other byte %XX,
 * upper-case hex), then, when any query row has a value, '?' and the query rows in table order as
 * name=value pairs joined by '&' (values encoded the same way). Returns WXP_OK, WXP_E_PARAM_MISSING
 * (a path variable without a value), WXP_E_TOO_LARGE (out's cap), WXP_E_NOMEM. */
enum wxp_code wxp_op_target(const struct wxp_op *op, const char *const *vals, struct wxp_buf *out,
                            struct wxp_err *err) WXP_MUST_CHECK;

/* Appends the compact JSON body to `out`: the body rows that have a value, in table order, as JSON
 * strings ({"service_id":"500001","appid":"wx…","reason":"…"}). An operation without body rows
 * appends nothing (a GET is sent without a body). Returns WXP_OK, WXP_E_TOO_LARGE, WXP_E_NOMEM. */
enum wxp_code wxp_op_body(const struct wxp_op *op, const char *const *vals, struct wxp_buf *out,
                          struct wxp_err *err) WXP_MUST_CHECK;

/* ---- receiving a request (server side) ------------------------------------------------------ */

/* A routed request: the operation and its raw (still percent-encoded) path segments, in the order
 * the variables appear in the template. The slices borrow from the path given to wxp_op_route. */
struct wxp_route {
    const struct wxp_op *op;
    struct wxp_str seg[WXP_OP_PATH_PARAMS_MAX];
    size_t nseg;
};

enum wxp_route_result {
    WXP_ROUTE_OK,        /* out->op has this path and this method */
    WXP_ROUTE_NOT_FOUND, /* no template matches the path */
    WXP_ROUTE_METHOD,    /* a template matches the path, but not with this method (405) */
};

/* Matches the raw request path (the target before any '?', still percent-encoded) against every
 * template: a literal segment matches itself byte for byte, a variable matches one non-empty
 * segment (no '/'). Literal segments win over variables where both match ("authorization-code" is
 * not an openid): of the templates that match, the one with a literal at the first segment where
 * they differ is taken, and the method is then looked up among that template's operations. On
 * WXP_ROUTE_METHOD out->op is the first operation of that template. */
enum wxp_route_result wxp_op_route(struct wxp_str method, struct wxp_str path,
                                   struct wxp_route *out);

/* Checks every parameter of a routed request in the table's order (path, then query, then body)
 * and, on success, fills `out` (when not NULL; indexed like op->params->fields, decoded,
 * NUL-terminated, owned: wxp_values_free). `query` is the raw query string after the '?'
 * (an absent or empty slice when there is none). The body is read only when the operation has body
 * rows (see wxp_schema_check_body); a GET's body is not a parameter.
 * Path: a segment that is not valid percent-encoding is WXP_E_PARAM_CHARSET; then
 * wxp_schema_check_value on the decoded value.
 * Query: parsed by wxp_query_parse ('+' is a space, as in HTML forms); a row given twice is
 * WXP_E_PARAM_DUPLICATE; an unknown name is ignored, as unknown body members are; a missing
 * required row is WXP_E_PARAM_MISSING; then wxp_schema_check_value.
 * Returns WXP_OK or the first failure with `issue` (may be NULL) naming its location
 * ("uri_template", "query", "body") and pointer ("/query/service_id"), err->msg in the live
 * server's PARAM_ERROR style. */
enum wxp_code wxp_op_check_request(const struct wxp_route *r, struct wxp_str query,
                                   struct wxp_str body, struct wxp_values *out,
                                   struct wxp_param_issue *issue,
                                   struct wxp_err *err) WXP_MUST_CHECK;

/* ---- the success body ------------------------------------------------------------------------ */

/* Appends the success body of `op` to `out` (server side): the response rows that have a value,
 * in table order, as JSON strings. `vals` is indexed like op->response->fields. Returns WXP_OK,
 * WXP_E_INVALID_ARG (op has no response body, or a required row has no value), WXP_E_TOO_LARGE,
 * WXP_E_NOMEM. */
enum wxp_code wxp_op_response_build(const struct wxp_op *op, const char *const *vals,
                                    struct wxp_buf *out, struct wxp_err *err) WXP_MUST_CHECK;

/* Reads a success body (client side): strict JSON (wxp_json_check), an object, each required
 * response row present as a string; unknown members are ignored (the server may add fields).
 * Fills `out` (indexed like op->response->fields; free with wxp_values_free). Returns WXP_OK,
 * WXP_E_INVALID_ARG (op has no response body), WXP_E_UTF8, WXP_E_JSON_SYNTAX,
 * WXP_E_JSON_NOT_OBJECT, WXP_E_JSON_DUPLICATE_KEY, WXP_E_PARAM_MISSING, WXP_E_PARAM_TYPE. */
enum wxp_code wxp_op_response_parse(const struct wxp_op *op, const char *body, size_t len,
                                    struct wxp_values *out, struct wxp_err *err) WXP_MUST_CHECK;

#endif
