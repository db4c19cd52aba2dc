/* SPDX-License-Identifier: MIT */
/* main.c: wxpay-conformance's command line: list the catalogue, grade a server (a base URL or the
 * bundled wxpay-mock) or a client (a command), write the reports, exit with the verdict. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cJSON.h>
#include <curl/curl.h>

#include "conf.h"
#include "wxp/mem.h"
#include "wxp/op.h"
#include "wxp/str.h"
#include "wxp/keyfile.h"

/* Exit statuses (documented in --help and docs/conformance.md#exit-status). */
#define EXIT_GRADED_OK 0   /* every MUST case passed (with --strict, and every SHOULD case) */
#define EXIT_GRADED_FAIL 1 /* such a case failed or could not be run */
#define EXIT_USAGE 2
/* The runner could not start, could not reach the server, could not run the client command, or
 * could not write a report: nothing was graded (or not all of it). */
#define EXIT_RUNNER 3

#define MAX_ONLY 256
/* Lines of the command's output shown when the run stops because it could not be run. */
#define STOP_OUTPUT_LINES 10

enum cmd { CMD_NONE, CMD_LIST, CMD_SERVER, CMD_CLIENT, CMD_NOTIFY };

struct opts {
    enum cmd cmd;
    bool list_json;
    bool list_markdown;
    bool mode_given;
    enum conf_mode list_mode;
    const char *only[MAX_ONLY];
    size_t nonly;
    const char *junit, *json, *html;
    bool strict;
    const char *config;
};

/* Which commands take an option. */
#define FOR_LIST 1u
#define FOR_SERVER 2u
#define FOR_CLIENT 4u
#define FOR_NOTIFY 8u

/* The option table: one row per flag; `arg` names its value for --help. */
static const struct {
    const char *name;
    const char *arg;
    unsigned cmds;
    const char *help;
} OPTIONS[] = {
    {"--mode", "server|client|notify", FOR_LIST, "list only the cases of one mode"},
    {"--json", NULL, FOR_LIST, "print the catalogue as JSON"},
    {"--markdown", NULL, FOR_LIST, "print the catalogue as a Markdown table"},
    {"--base-url", "URL", FOR_SERVER, "server to grade (default: start the bundled wxpay-mock)"},
    {"--cmd", "COMMAND", FOR_CLIENT, "client command to grade, run with sh -c once per case"},
    {"--operations", "OP[,OP...]", FOR_CLIENT,
     "operations the client supports; the others' cases are not applicable (default: all)"},
    {"--url", "URL", FOR_NOTIFY, "the merchant's notification handler to grade (required)"},
    {"--platform-key", "PEM", FOR_NOTIFY,
     "platform private key that signs the notifications (default: the TEST one)"},
    {"--platform-serial", "ID", FOR_NOTIFY,
     "Wechatpay-Serial sent: its certificate serial or PUB_KEY_ID_... (needed with a key)"},
    {"--apiv3-key-file", "FILE", FOR_SERVER | FOR_NOTIFY,
     "the merchant's APIv3 key (32 bytes): server mode decrypts the certificates (CERTS-005), "
     "notify mode encrypts the resources (default there: the TEST one)"},
    {"--apiv3-key", "KEY", FOR_SERVER | FOR_NOTIFY,
     "the same, given inline (visible to ps: prefer the file)"},
    {"--mock", "PATH", FOR_SERVER | FOR_CLIENT, "wxpay-mock executable to start"},
    {"--fixtures", "DIR", FOR_CLIENT, "TEST key directory handed to the client"},
    {"--config", "FILE", FOR_SERVER | FOR_NOTIFY,
     "JSON file: merchant, platform keys, appid... (command-line options win)"},
    {"--mchid", "ID", FOR_SERVER | FOR_NOTIFY,
     "merchant id (default 1900000109, the TEST merchant)"},
    {"--mch-serial", "HEX", FOR_SERVER, "merchant certificate serial"},
    {"--mch-key", "PEM", FOR_SERVER, "merchant private key file (default: the TEST key)"},
    {"--mch-cert", "PEM", FOR_SERVER, "merchant certificate: its serial, checked against the key"},
    {"--platform-cert", "PEM", FOR_SERVER,
     "server's platform certificate to verify answers with; repeatable (default: TEST's)"},
    {"--platform-public-key", "PEM", FOR_SERVER,
     "server's platform public key; repeatable, paired in order with:"},
    {"--platform-public-key-id", "ID", FOR_SERVER, "its id, PUB_KEY_ID_...; repeatable"},
    {"--appid", "A", FOR_SERVER | FOR_NOTIFY,
     "appid bound to the merchant (default wxd678efh567hg6787)"},
    {"--service-id", "S", FOR_SERVER | FOR_NOTIFY, "payscore service id (default 500001)"},
    {"--other-appid", "A", FOR_SERVER, "an appid NOT bound to the merchant"},
    {"--openid-prefix", "P", FOR_SERVER | FOR_NOTIFY,
     "prefix of the fresh openids (default oConf)"},
    {"--only", "ID[,ID...]", FOR_SERVER | FOR_CLIENT | FOR_NOTIFY,
     "run only these cases (repeatable)"},
    {"--timeout-ms", "N", FOR_SERVER | FOR_CLIENT | FOR_NOTIFY, "per-case timeout (default 20000)"},
    {"--cacert", "FILE", FOR_SERVER | FOR_NOTIFY,
     "trust anchors (PEM) for an https:// --base-url or --url"},
    {"--junit", "FILE", FOR_SERVER | FOR_CLIENT | FOR_NOTIFY, "write a JUnit XML report"},
    {"--json", "FILE", FOR_SERVER | FOR_CLIENT | FOR_NOTIFY,
     "write a JSON report (schema wxpay-conformance/1)"},
    {"--html", "FILE", FOR_SERVER | FOR_CLIENT | FOR_NOTIFY, "write a self-contained HTML report"},
    {"--strict", NULL, FOR_SERVER | FOR_CLIENT | FOR_NOTIFY,
     "SHOULD failures fail the run and JUnit too (default: warnings)"},
    {"--verbose", NULL, FOR_SERVER | FOR_CLIENT | FOR_NOTIFY,
     "show what a case that did not pass sent and received (also -v)"},
};

static void usage(FILE *out)
{
    static const struct {
        unsigned mask;
        const char *title;
    } SECTIONS[] = {{FOR_LIST, "list options"},
                    {FOR_SERVER, "server options"},
                    {FOR_CLIENT, "client options"},
                    {FOR_NOTIFY, "notify options"}};
    fprintf(
        out,
        "usage: wxpay-conformance list [--mode server|client|notify] [--json|--markdown]\n"
        "       wxpay-conformance server [--base-url URL] [options]\n"
        "       wxpay-conformance client --cmd 'COMMAND' [options]\n"
        "       wxpay-conformance notify --url URL [options]\n"
        "       wxpay-conformance --help | --version\n\n"
        "Grades a WeChat Pay APIv3 server (a base URL; by default the bundled wxpay-mock), a\n"
        "client (a command) or a merchant's notification handler (a URL) against the protocol\n"
        "rules, case by case. Uses TEST ONLY keys by default; never point it at production with\n"
        "real credentials. Notify mode grades HTTP answers only: whether the handler acted on a\n"
        "notification it refused, or twice on a repeated one, cannot be seen.\n");
    for (size_t s = 0; s < sizeof SECTIONS / sizeof SECTIONS[0]; s++) {
        fprintf(out, "\n%s:\n", SECTIONS[s].title);
        for (size_t i = 0; i < sizeof OPTIONS / sizeof OPTIONS[0]; i++) {
            char left[48];
            if ((OPTIONS[i].cmds & SECTIONS[s].mask) == 0) {
                continue;
            }
            snprintf(left, sizeof left, "%s%s%s", OPTIONS[i].name, OPTIONS[i].arg ? " " : "",
                     OPTIONS[i].arg ? OPTIONS[i].arg : "");
            fprintf(out, "  %-28s %s\n", left, OPTIONS[i].help);
        }
    }
    fprintf(out, "\nexit status:\n"
                 "  0  every MUST case passed (SHOULD failures are warnings, INFO is reported;\n"
                 "     with --strict every SHOULD case must pass too)\n"
                 "  1  such a case failed or could not be run\n"
                 "  2  usage error\n"
                 "  3  the runner could not start (e.g. wxpay-mock failed), the server at\n"
                 "     --base-url did not answer, the client command could not be run, the\n"
                 "     handler at --url could not be reached, or a report could not be written\n"
                 "JUnit agrees with the exit status: only a case that fails the run is <failure>\n"
                 "or <error>; a SHOULD or INFO difference that does not is <skipped>.\n"
                 "\nEnvironment: NO_COLOR disables colour in progress lines.\n"
                 "Documentation: man wxpay-conformance (docs/conformance.md in the source tree)\n");
}

static int bad_usage(const char *fmt, ...) WXP_PRINTF(1, 2);

static int bad_usage(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "wxpay-conformance: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'wxpay-conformance --help'.\n");
    return EXIT_USAGE;
}

static unsigned cmd_mask(enum cmd c)
{
    switch (c) {
    case CMD_LIST:
        return FOR_LIST;
    case CMD_SERVER:
        return FOR_SERVER;
    case CMD_CLIENT:
        return FOR_CLIENT;
    case CMD_NOTIFY:
        return FOR_NOTIFY;
    case CMD_NONE:
        break;
    }
    return 0;
}

/* Whether option `a` exists for this command, and whether it takes a value. */
static bool option_lookup(const char *a, enum cmd c, bool *takes)
{
    for (size_t k = 0; k < sizeof OPTIONS / sizeof OPTIONS[0]; k++) {
        if (strcmp(a, OPTIONS[k].name) == 0 && (OPTIONS[k].cmds & cmd_mask(c)) != 0) {
            *takes = OPTIONS[k].arg != NULL;
            return true;
        }
    }
    return false;
}

/* Splits "A,B,C" in place into o->only (the string is argv's, which we may modify). */
static int add_only(struct opts *o, char *list)
{
    char *p = list;
    while (p != NULL) {
        char *comma = strchr(p, ',');
        if (comma != NULL) {
            *comma = '\0';
        }
        if (*p != '\0') {
            if (o->nonly == MAX_ONLY) {
                return bad_usage("at most %d ids with --only", MAX_ONLY);
            }
            o->only[o->nonly++] = p;
        }
        p = comma != NULL ? comma + 1 : NULL;
    }
    return 0;
}

/* Marks the operations of "A,B,C" (names of the table) as supported by the client. */
static int add_operations(struct conf_context *ctx, const char *list)
{
    const char *p = list;
    if (strspn(list, ",") == strlen(list)) {
        return bad_usage("--operations needs at least one operation name");
    }
    ctx->operations_given = true;
    while (p != NULL) {
        const char *comma = strchr(p, ',');
        size_t n = comma != NULL ? (size_t)(comma - p) : strlen(p);
        const struct wxp_op *op = wxp_op_by_name((struct wxp_str){p, n});
        if (n > 0 && op == NULL) {
            fprintf(stderr,
                    "wxpay-conformance: --operations: no operation is named '%.*s'; the "
                    "operations are:\n",
                    (int)n, p);
            for (size_t i = 0; i < WXP_OP_COUNT; i++) {
                fprintf(stderr, "  %s\n", WXP_OPS[i].name);
            }
            return bad_usage("unknown operation in --operations");
        }
        if (op != NULL) {
            ctx->operations[op->id] = true;
        }
        p = comma != NULL ? comma + 1 : NULL;
    }
    return 0;
}

bool conf_operation_supported(const struct conf_context *ctx, const struct wxp_op *op)
{
    return !ctx->operations_given || ctx->operations[op->id];
}

static int parse_value(const char *a, char *v, struct opts *o, struct conf_context *ctx)
{
    long n;
    if (strcmp(a, "--mode") == 0) {
        if (strcmp(v, "server") != 0 && strcmp(v, "client") != 0 && strcmp(v, "notify") != 0) {
            return bad_usage("--mode takes server, client or notify, not '%s'", v);
        }
        o->mode_given = true;
        o->list_mode = strcmp(v, "server") == 0   ? CONF_SERVER
                       : strcmp(v, "client") == 0 ? CONF_CLIENT
                                                  : CONF_NOTIFY;
    } else if (strcmp(a, "--base-url") == 0) {
        if (strncmp(v, "http://", 7) != 0 && strncmp(v, "https://", 8) != 0) {
            return bad_usage("--base-url takes an http:// or https:// URL, not '%s'", v);
        }
        ctx->base_url = v;
    } else if (strcmp(a, "--url") == 0) {
        if (strncmp(v, "http://", 7) != 0 && strncmp(v, "https://", 8) != 0) {
            return bad_usage("--url takes an http:// or https:// URL, not '%s'", v);
        }
        ctx->notify_url = v;
    } else if (strcmp(a, "--platform-key") == 0) {
        ctx->platform_key_file = v;
    } else if (strcmp(a, "--platform-serial") == 0) {
        ctx->platform_serial = v;
    } else if (strcmp(a, "--apiv3-key-file") == 0) {
        ctx->apiv3_key_file = v;
    } else if (strcmp(a, "--apiv3-key") == 0) {
        ctx->apiv3_key = v;
    } else if (strcmp(a, "--cmd") == 0) {
        if (v[0] == '\0') {
            return bad_usage("--cmd must not be empty");
        }
        ctx->command = v;
    } else if (strcmp(a, "--operations") == 0) {
        return add_operations(ctx, v);
    } else if (strcmp(a, "--mock") == 0) {
        ctx->mock_bin = v;
    } else if (strcmp(a, "--fixtures") == 0) {
        ctx->fixtures_dir = v;
    } else if (strcmp(a, "--config") == 0) {
        o->config = v;
    } else if (strcmp(a, "--mchid") == 0) {
        ctx->mchid = v;
        ctx->merchant_given = true;
    } else if (strcmp(a, "--mch-serial") == 0) {
        ctx->mch_serial = v;
        ctx->merchant_given = true;
    } else if (strcmp(a, "--mch-key") == 0) {
        ctx->mch_key_file = v;
        ctx->merchant_given = true;
    } else if (strcmp(a, "--mch-cert") == 0) {
        ctx->mch_cert_file = v;
        ctx->merchant_given = true;
    } else if (strcmp(a, "--platform-cert") == 0) {
        if (ctx->nplatform_certs == CONF_PLATFORM_MAX) {
            return bad_usage("at most %d --platform-cert", CONF_PLATFORM_MAX);
        }
        ctx->platform_certs[ctx->nplatform_certs++] = v;
    } else if (strcmp(a, "--platform-public-key") == 0) {
        if (ctx->nplatform_pubkeys == CONF_PLATFORM_MAX) {
            return bad_usage("at most %d --platform-public-key", CONF_PLATFORM_MAX);
        }
        ctx->platform_pubkeys[ctx->nplatform_pubkeys++] = v;
    } else if (strcmp(a, "--platform-public-key-id") == 0) {
        if (ctx->nplatform_pubkey_ids == CONF_PLATFORM_MAX) {
            return bad_usage("at most %d --platform-public-key-id", CONF_PLATFORM_MAX);
        }
        ctx->platform_pubkey_ids[ctx->nplatform_pubkey_ids++] = v;
    } else if (strcmp(a, "--appid") == 0) {
        ctx->appid = v;
    } else if (strcmp(a, "--service-id") == 0) {
        ctx->service_id = v;
    } else if (strcmp(a, "--other-appid") == 0) {
        ctx->other_appid = v;
    } else if (strcmp(a, "--openid-prefix") == 0) {
        ctx->openid_prefix = v;
    } else if (strcmp(a, "--only") == 0) {
        return add_only(o, v);
    } else if (strcmp(a, "--cacert") == 0) {
        ctx->ca_file = v;
    } else if (strcmp(a, "--timeout-ms") == 0) {
        if (!wxp_parse_long(v, 1, 600000, &n)) {
            return bad_usage("--timeout-ms takes 1..600000, not '%s'", v);
        }
        ctx->timeout_ms = n;
    } else if (strcmp(a, "--junit") == 0) {
        o->junit = v;
    } else if (strcmp(a, "--json") == 0) {
        o->json = v;
    } else if (strcmp(a, "--html") == 0) {
        o->html = v;
    }
    return 0;
}

static int parse_args(int argc, char **argv, struct opts *o, struct conf_context *ctx)
{
    const char *c;
    if (argc < 2) {
        return bad_usage("a command is needed: list, server, client or notify");
    }
    c = argv[1];
    if (strcmp(c, "--help") == 0 || strcmp(c, "-h") == 0 || strcmp(c, "help") == 0) {
        usage(stdout);
        exit(EXIT_GRADED_OK);
    }
    if (strcmp(c, "--version") == 0) {
        printf("wxpay-conformance %s\n", WXP_VERSION);
        exit(EXIT_GRADED_OK);
    }
    if (strcmp(c, "list") == 0) {
        o->cmd = CMD_LIST;
    } else if (strcmp(c, "server") == 0) {
        o->cmd = CMD_SERVER;
    } else if (strcmp(c, "client") == 0) {
        o->cmd = CMD_CLIENT;
    } else if (strcmp(c, "notify") == 0) {
        o->cmd = CMD_NOTIFY;
    } else {
        return bad_usage("unknown command '%s' (list, server, client or notify)", c);
    }
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        bool takes = false;
        int rc;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            exit(EXIT_GRADED_OK);
        }
        if (strcmp(a, "-v") == 0) {
            a = "--verbose";
        }
        if (!option_lookup(a, o->cmd, &takes)) {
            return bad_usage("unknown option '%s' for '%s'", wxp_name_shown(a), c);
        }
        if (strcmp(a, "--verbose") == 0) {
            ctx->verbose = true;
        } else if (strcmp(a, "--strict") == 0) {
            o->strict = true;
        } else if (strcmp(a, "--json") == 0 && o->cmd == CMD_LIST) {
            o->list_json = true;
        } else if (strcmp(a, "--markdown") == 0) {
            o->list_markdown = true;
        }
        if (!takes) {
            continue;
        }
        if (i + 1 >= argc) {
            return bad_usage("option %s needs a value", a);
        }
        rc = parse_value(a, argv[++i], o, ctx);
        if (rc != 0) {
            return rc;
        }
    }
    if (o->cmd == CMD_CLIENT && ctx->command == NULL) {
        return bad_usage("client mode needs --cmd 'COMMAND'");
    }
    if (o->list_json && o->list_markdown) {
        return bad_usage("--json and --markdown exclude each other");
    }
    if (ctx->nplatform_pubkeys != ctx->nplatform_pubkey_ids) {
        return bad_usage("each --platform-public-key needs its --platform-public-key-id (%zu "
                         "keys, %zu ids)",
                         ctx->nplatform_pubkeys, ctx->nplatform_pubkey_ids);
    }
    return 0;
}

/* What neither the command line nor the config file set: the TEST fixtures' values. */
static void apply_defaults(struct conf_context *ctx)
{
    ctx->mchid = ctx->mchid != NULL ? ctx->mchid : "1900000109";
    if (ctx->mch_serial == NULL && ctx->mch_cert_file == NULL) {
        ctx->mch_serial = "3B2A4C1D5E6F708192A3B4C5D6E7F8091A2B3C4D";
    }
    ctx->other_appid = ctx->other_appid != NULL ? ctx->other_appid : "wx1234567890abcdef";
    ctx->appid = ctx->appid != NULL ? ctx->appid : "wxd678efh567hg6787";
    ctx->service_id = ctx->service_id != NULL ? ctx->service_id : "500001";
    ctx->openid_prefix = ctx->openid_prefix != NULL ? ctx->openid_prefix : "oConf";
    ctx->timeout_ms = ctx->timeout_ms > 0 ? ctx->timeout_ms : 20000;
    if (ctx->ca_file != NULL) {
        conf_http_set_cacert(ctx->ca_file);
    }
}

/* `name` looked up through PATH as execvp would (mock.c starts it with execv, which does not
 * search). Returns `name` itself when no directory has it: the start then fails and says so. */
static const char *search_path(const char *name, char *buf, size_t cap)
{
    const char *p = getenv("PATH");
    while (p != NULL && *p != '\0') {
        const char *colon = strchr(p, ':');
        size_t dl = colon != NULL ? (size_t)(colon - p) : strlen(p);
        int w = snprintf(buf, cap, "%.*s%s%s", (int)dl, p, dl > 0 ? "/" : "", name);
        if (w > 0 && (size_t)w < cap && access(buf, X_OK) == 0) {
            return buf;
        }
        p = colon != NULL ? colon + 1 : NULL;
    }
    return name;
}

/* The directory of this executable (from /proc/self/exe) into `buf`; false when unknown. */
static bool self_dir(char *buf, size_t cap)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    char *slash;
    if (n <= 0) {
        return false;
    }
    self[n] = '\0';
    slash = strrchr(self, '/');
    if (slash == NULL) {
        return false;
    }
    *slash = '\0';
    return snprintf(buf, cap, "%s", self) < (int)cap;
}

/* The wxpay-mock to start: the one installed or built next to this executable, else the build
 * tree's, else "wxpay-mock" looked up through PATH. */
static const char *find_mock(char *buf, size_t cap)
{
    char dir[PATH_MAX];
    if (self_dir(dir, sizeof dir) && snprintf(buf, cap, "%s/wxpay-mock", dir) < (int)cap &&
        access(buf, X_OK) == 0) {
        return buf;
    }
    if (access(WXPAY_MOCK_DEFAULT, X_OK) == 0) {
        return WXPAY_MOCK_DEFAULT;
    }
    return search_path("wxpay-mock", buf, cap);
}

/* Where an installed copy keeps the TEST fixtures, relative to its bin directory. */
#ifndef WXP_INSTALL_FIXTURES_REL
#define WXP_INSTALL_FIXTURES_REL "../share/wxpay-harness/fixtures"
#endif

/* The fixtures directory: the installed one (<exe dir>/../share/wxpay-harness/fixtures, with
 * the leading "../" resolved) when it exists, else the source tree's, compiled in. */
static const char *find_fixtures(char *buf, size_t cap)
{
    char dir[PATH_MAX];
    char probe[PATH_MAX + 64];
    const char *rel = WXP_INSTALL_FIXTURES_REL;
    if (!self_dir(dir, sizeof dir)) {
        return WXP_FIXTURES_DIR;
    }
    while (strncmp(rel, "../", 3) == 0) {
        char *slash = strrchr(dir, '/');
        if (slash == NULL || slash == dir) {
            return WXP_FIXTURES_DIR;
        }
        *slash = '\0';
        rel += 3;
    }
    if (snprintf(buf, cap, "%s/%s", dir, rel) < (int)cap &&
        snprintf(probe, sizeof probe, "%s/fixtures.json", buf) < (int)sizeof probe &&
        access(probe, R_OK) == 0) {
        return buf;
    }
    return WXP_FIXTURES_DIR;
}

/* ---- list ----------------------------------------------------------------------------------- */

static int list_json(const struct conf_catalog *cat, const struct opts *o)
{
    cJSON *arr = cJSON_CreateArray();
    char *text = NULL;
    bool ok = arr != NULL;
    for (size_t i = 0; ok && i < cat->count; i++) {
        const struct conf_case *c = &cat->cases[i];
        cJSON *obj;
        if (o->mode_given && c->mode != o->list_mode) {
            continue;
        }
        obj = cJSON_CreateObject();
        ok = obj != NULL && cJSON_AddItemToArray(arr, obj) &&
             cJSON_AddStringToObject(obj, "id", c->id) &&
             cJSON_AddStringToObject(obj, "operation", c->operation) &&
             cJSON_AddStringToObject(obj, "mode", conf_mode_name(c->mode)) &&
             cJSON_AddStringToObject(obj, "severity", conf_severity_name(c->severity)) &&
             cJSON_AddStringToObject(obj, "title", c->title) &&
             cJSON_AddStringToObject(obj, "rule", c->rule) &&
             cJSON_AddStringToObject(obj, "source", c->source) &&
             cJSON_AddStringToObject(obj, "kind", c->kind);
    }
    if (ok) {
        text = cJSON_Print(arr);
    }
    cJSON_Delete(arr);
    if (text == NULL) {
        fprintf(stderr, "wxpay-conformance: out of memory\n");
        return EXIT_RUNNER;
    }
    printf("%s\n", text);
    cJSON_free(text);
    return EXIT_GRADED_OK;
}

/* Markdown cells cannot hold '|'. */
static void md_cell(const char *s)
{
    for (; *s != '\0'; s++) {
        if (*s == '|') {
            fputs("\\|", stdout);
        } else {
            putchar(*s);
        }
    }
}

static int list_text(const struct conf_catalog *cat, const struct opts *o)
{
    size_t idw = 2;
    for (size_t i = 0; i < cat->count; i++) {
        size_t l = strlen(cat->cases[i].id);
        idw = l > idw ? l : idw;
    }
    for (int m = CONF_SERVER; m <= CONF_NOTIFY; m++) {
        size_t shown = 0;
        if (o->mode_given && (enum conf_mode)m != o->list_mode) {
            continue;
        }
        for (size_t i = 0; i < cat->count; i++) {
            const struct conf_case *c = &cat->cases[i];
            if (c->mode != (enum conf_mode)m) {
                continue;
            }
            if (shown++ == 0 && o->list_markdown) {
                printf("%s### %s-mode cases\n\n| Id | Operation | Severity | Case | Source "
                       "|\n|---|---|---|---|---|\n",
                       m == CONF_SERVER ? "" : "\n", conf_mode_name(c->mode));
            } else if (shown == 1) {
                printf("%s%s mode:\n", m == CONF_SERVER ? "" : "\n", conf_mode_name(c->mode));
            }
            if (o->list_markdown) {
                printf("| `%s` | `%s` | %s | ", c->id, c->operation,
                       conf_severity_name(c->severity));
                md_cell(c->title);
                printf(" | ");
                md_cell(c->source);
                printf(" |\n");
            } else {
                printf("  %-*s  %-6s  %s\n  %-*s  %-6s  operation: %s\n  %-*s  %-6s  source: %s\n",
                       (int)idw, c->id, conf_severity_name(c->severity), c->title, (int)idw, "", "",
                       c->operation, (int)idw, "", "", c->source);
            }
        }
    }
    return EXIT_GRADED_OK;
}

/* ---- server / client ------------------------------------------------------------------------ */

static const struct conf_case *find_case(const struct conf_catalog *cat, enum conf_mode mode,
                                         const char *id)
{
    for (size_t i = 0; i < cat->count; i++) {
        if (cat->cases[i].mode == mode && strcmp(cat->cases[i].id, id) == 0) {
            return &cat->cases[i];
        }
    }
    return NULL;
}

static bool selected(const struct opts *o, const struct conf_case *c)
{
    if (o->nonly == 0) {
        return true;
    }
    for (size_t i = 0; i < o->nonly; i++) {
        if (strcmp(o->only[i], c->id) == 0) {
            return true;
        }
    }
    return false;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int write_reports(const struct opts *o, const struct conf_result *rs, size_t n,
                         const char *mode, const char *target, const char *stopped)
{
    char suite[64];
    int rc = 0;
    snprintf(suite, sizeof suite, "wxpay-conformance %s", mode);
    if (o->junit != NULL && conf_report_junit(o->junit, rs, n, suite) != 0) {
        rc = -1;
    }
    if (o->json != NULL && conf_report_json(o->json, rs, n, mode, target) != 0) {
        rc = -1;
    }
    if (o->html != NULL && conf_report_html(o->html, rs, n, mode, target, stopped) != 0) {
        rc = -1;
    }
    return rc;
}

/* Says on stderr why the run stops after case `done` of `total`: the case's reason, then the
 * first lines of the command's output (bounded, no key material). The case's reason gets the
 * same note, so that every report says why the run stopped. Returns the note, kept in `buf`. */
static const char *stop_note(struct conf_result *r, size_t done, size_t total, char *buf,
                             size_t cap)
{
    int n =
        snprintf(buf, cap, "%s; the run stopped after case %zu of %zu", r->o.reason, done, total);
    size_t keep = n < 0 ? 0 : strlen(buf);

    /* The reason's room is smaller than buf: a cut keeps whole UTF-8 characters. */
    if (keep >= sizeof r->o.reason) {
        keep = wxp_utf8_prefix_len(buf, sizeof r->o.reason - 1);
    }
    memcpy(r->o.reason, buf, keep);
    r->o.reason[keep] = '\0';
    fprintf(stderr, "wxpay-conformance: %s\n", buf);
    if (r->c->mode == CONF_CLIENT) {
        fprintf(stderr, "wxpay-conformance: the command's first lines of stdout and stderr:\n");
        conf_report_excerpt(wxp_buf_cstr(&r->o.output), r->o.output.len, STOP_OUTPUT_LINES);
    }
    fflush(stderr);
    return buf;
}

static int run(const struct conf_catalog *cat, const struct opts *o, struct conf_context *ctx)
{
    enum conf_mode mode = o->cmd == CMD_SERVER   ? CONF_SERVER
                          : o->cmd == CMD_CLIENT ? CONF_CLIENT
                                                 : CONF_NOTIFY;
    const char *mname = conf_mode_name(mode);
    struct conf_result *rs = NULL;
    size_t n = 0;
    const char *user_url = ctx->base_url;
    char target[1024];
    char stop_why[sizeof rs->o.reason + 64];
    const char *stopped = NULL;
    size_t ran = 0;
    int status = EXIT_RUNNER;

    for (size_t i = 0; i < o->nonly; i++) {
        if (find_case(cat, mode, o->only[i]) == NULL) {
            return bad_usage("--only: no %s case has the id '%s' (see 'wxpay-conformance list')",
                             mname, o->only[i]);
        }
    }
    rs = wxp_malloc((cat->count + 1) * sizeof *rs);
    if (rs == NULL) {
        fprintf(stderr, "wxpay-conformance: out of memory\n");
        return EXIT_RUNNER;
    }
    for (size_t i = 0; i < cat->count; i++) {
        if (cat->cases[i].mode == mode && selected(o, &cat->cases[i])) {
            rs[n].c = &cat->cases[i];
            conf_outcome_init(&rs[n].o);
            n++;
        }
    }
    if (n == 0) {
        fprintf(stderr, "wxpay-conformance: the catalogue has no %s cases\n", mname);
        goto out;
    }

    /* begin prints why it failed, in one line */
    if ((mode == CONF_SERVER   ? conf_server_begin(ctx)
         : mode == CONF_CLIENT ? conf_client_begin(ctx)
                               : conf_notify_begin(ctx)) != 0) {
        if (mode == CONF_NOTIFY) {
            conf_notify_end(ctx);
        }
        goto out;
    }
    /* begin may have started the bundled mock and pointed base_url at it; copy it now, since
     * end stops the mock. */
    if (mode == CONF_CLIENT) {
        snprintf(target, sizeof target, "%s", ctx->command);
    } else if (mode == CONF_NOTIFY) {
        snprintf(target, sizeof target, "%s", ctx->notify_url);
    } else if (user_url != NULL) {
        snprintf(target, sizeof target, "%s", user_url);
    } else {
        snprintf(target, sizeof target, "the bundled wxpay-mock (%s) at %s", ctx->mock_bin,
                 ctx->base_url ? ctx->base_url : "?");
    }
    fprintf(stderr, "wxpay-conformance: %zu %s case%s against %s\n", n, mname, n == 1 ? "" : "s",
            target);
    for (ran = 0; ran < n && stopped == NULL; ran++) {
        struct conf_result *r = &rs[ran];
        double t0 = now_seconds();
        if (mode == CONF_SERVER) {
            conf_run_server_case(ctx, r->c, &r->o);
        } else if (mode == CONF_CLIENT) {
            conf_run_client_case(ctx, r->c, &r->o);
        } else {
            conf_run_notify_case(ctx, r->c, &r->o);
        }
        if (r->o.seconds <= 0) {
            r->o.seconds = now_seconds() - t0;
        }
        conf_report_progress(r, ran, n);
        if (ctx->verbose && (r->o.verdict == CONF_FAIL || r->o.verdict == CONF_ERROR)) {
            conf_report_detail(r);
        }
        if (r->o.stop_run) {
            stopped = stop_note(r, ran + 1, n, stop_why, sizeof stop_why);
        }
    }
    if (mode == CONF_SERVER) {
        conf_server_end(ctx);
    } else if (mode == CONF_CLIENT) {
        conf_client_end(ctx);
    } else {
        conf_notify_end(ctx);
    }

    /* Stopped early: the summary and the reports hold the cases run so far. */
    status = conf_report_summary(rs, ran, target, stopped);
    if (mode == CONF_NOTIFY) {
        printf("Note: %s\n", CONF_NOTIFY_UNSEEN);
    }
    if (stopped != NULL) {
        status = EXIT_RUNNER;
    }
    if (write_reports(o, rs, ran, mname, target, stopped) != 0) {
        status = EXIT_RUNNER;
    }
out:
    for (size_t i = 0; i < n; i++) {
        conf_outcome_free(&rs[i].o);
    }
    wxp_free(rs);
    return status;
}

int main(int argc, char **argv)
{
    char mock_path[PATH_MAX];
    char fixtures_path[PATH_MAX];
    struct conf_context ctx = {
        .base_url = NULL,
        .mock_bin = NULL,
        .fixtures_dir = NULL,
        .mchid = NULL,
        .mch_serial = NULL,
        .mch_key_file = NULL,
        .other_appid = NULL,
        .appid = NULL,
        .service_id = NULL,
        .openid_prefix = NULL,
        .command = NULL,
        .operations_given = false,
        .timeout_ms = 0,
        .verbose = false,
    };
    struct opts o;
    struct conf_catalog cat = {NULL, 0};
    struct wxp_err err;
    int rc;

    memset(&o, 0, sizeof o);
    rc = parse_args(argc, argv, &o, &ctx);
    if (rc != 0) {
        return rc;
    }
    if (o.config != NULL && conf_config_load(o.config, &ctx) != 0) {
        conf_config_free();
        return EXIT_USAGE;
    }
    if (o.cmd == CMD_NOTIFY && ctx.notify_url == NULL) {
        conf_config_free();
        return bad_usage("notify mode needs --url URL (or notify_url in the config file)");
    }
    if (o.cmd == CMD_NOTIFY && ctx.platform_key_file != NULL && ctx.platform_serial == NULL) {
        conf_config_free();
        return bad_usage("--platform-key needs --platform-serial (the serial of its certificate "
                         "or its PUB_KEY_ID_...)");
    }
    if (o.cmd == CMD_SERVER || o.cmd == CMD_NOTIFY) {
        unsigned char key[32];
        int k = conf_apiv3_key(&ctx, key); /* checked now: a bad key is a usage error */
        for (size_t i = 0; i < sizeof key; i++) {
            ((volatile unsigned char *)key)[i] = 0;
        }
        if (k < 0) {
            conf_config_free();
            return EXIT_USAGE;
        }
    }
    apply_defaults(&ctx);
    if (ctx.mock_bin == NULL) {
        ctx.mock_bin = find_mock(mock_path, sizeof mock_path);
    }
    if (ctx.fixtures_dir == NULL) {
        ctx.fixtures_dir = find_fixtures(fixtures_path, sizeof fixtures_path);
    }
    if (conf_catalog_load(&cat, &err) != WXP_OK) {
        fprintf(stderr, "wxpay-conformance: built-in catalogue: %s\n", err.msg);
        conf_config_free();
        return EXIT_RUNNER;
    }
    if (o.cmd == CMD_LIST) {
        rc = o.list_json ? list_json(&cat, &o) : list_text(&cat, &o);
        goto out;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "wxpay-conformance: libcurl could not be initialised\n");
        rc = EXIT_RUNNER;
        goto out;
    }
    conf_report_set_strict(o.strict);
    rc = run(&cat, &o, &ctx);
    curl_global_cleanup();
out:
    conf_catalog_free(&cat);
    conf_config_free();
    return rc;
}
