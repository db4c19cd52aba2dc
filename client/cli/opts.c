/* SPDX-License-Identifier: MIT */
/* opts.c: the wxpay option table, --help, and the merging of flags > environment > config file >
 * built-in TEST defaults into struct cli_opts. The only place besides main.c that reads getenv. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "cli.h"
#include "wxpay/wxpay.h"

/* A config file larger than this is refused before it is parsed. */
#define CONFIG_MAX_BYTES (1024 * 1024)
/* A PEM file read to check WXPAY_PLATFORM_SERIAL. */
#define PEM_MAX_BYTES (256 * 1024)

enum opt_id {
    O_BASE_URL,
    O_MCHID,
    O_MCH_SERIAL,
    O_MCH_KEY,
    O_MCH_CERT,
    O_PLATFORM_CERT,
    O_PUBKEY,
    O_PUBKEY_ID,
    O_ACCEPT_SERIAL,
    O_CA_FILE,
    O_TIMEOUT,
    O_CONNECT_TIMEOUT,
    O_SKEW,
    O_RETRIES,
    O_CONFIG,
    O_JSON,
    O_VERBOSE,
    O_HELP,
    O_VERSION,
    O_OPENID,
    O_SERVICE_ID,
    O_APPID,
    O_REASON,
    O_QUERY,
    O_DATA,
    O_AUTH_CODE,
    O_NOTIFY_URL,
    O_FROM_ENV,
    O_APIV3_KEY_FILE,
    O_OUT,
    O_PORT,
    O_BIND,
    O_READY_FILE,
    O_NOTIFY_COUNT,
    O_FAIL_FIRST,
    O_ALLOW_REMOTE,
    O_HEADERS,
    O_BODY,
    O_COUNT
};

/* Continuation lines of a help text line up under its first line. */
#define HELP_INDENT "                                   "

/* The commands an option belongs to, as a bit set (0: global, allowed anywhere on the line). */
#define IN(cmd) (1u << (cmd))
#define GLOBAL 0u
#define PERMISSIONS (IN(CLI_CMD_APPLY) | IN(CLI_CMD_QUERY) | IN(CLI_CMD_TERMINATE))

/* The option table: one row per flag. `arg` names its value for --help (NULL: takes none);
 * `cmds` are the commands it belongs to. */
static const struct opt {
    enum opt_id id;
    const char *name;
    const char *alias;
    const char *arg;
    unsigned cmds;
    int repeat;
    const char *help;
} OPTIONS[] = {
    {O_BASE_URL, "--base-url", NULL, "URL", GLOBAL, 0,
     "API base URL (default " WXPAY_DEFAULT_BASE_URL ";\n" HELP_INDENT CLI_TEST_BASE_URL
     " with the built-in TEST merchant)"},
    {O_MCHID, "--mchid", NULL, "MCHID", GLOBAL, 0, "merchant id"},
    {O_MCH_SERIAL, "--mch-serial", NULL, "SERIAL", GLOBAL, 0,
     "merchant certificate serial (hex); not needed with --mch-cert"},
    {O_MCH_KEY, "--mch-key", NULL, "FILE", GLOBAL, 0, "merchant private key (PEM)"},
    {O_MCH_CERT, "--mch-cert", NULL, "FILE", GLOBAL, 0,
     "merchant certificate (PEM): its serial is used"},
    {O_PLATFORM_CERT, "--platform-cert", NULL, "FILE", GLOBAL, 1,
     "platform certificate to verify answers with; repeatable"},
    {O_PUBKEY, "--platform-public-key", NULL, "FILE", GLOBAL, 1,
     "platform public key (PEM); repeatable, paired in order with:"},
    {O_PUBKEY_ID, "--platform-public-key-id", NULL, "ID", GLOBAL, 1,
     "its id, PUB_KEY_ID_...; repeatable"},
    {O_ACCEPT_SERIAL, "--accept-serial", NULL, "SERIAL", GLOBAL, 0,
     "Wechatpay-Serial header to send (\"\" = none; default: the first\n" HELP_INDENT
     "public key id, else the first certificate serial)"},
    {O_CA_FILE, "--ca-file", "--cacert", "FILE", GLOBAL, 0,
     "HTTPS trust anchors (default: the system's)"},
    {O_APIV3_KEY_FILE, "--apiv3-key-file", NULL, "FILE", GLOBAL, 0,
     "the merchant's APIv3 key (32 bytes), to decrypt certificates"},
    {O_TIMEOUT, "--timeout-ms", NULL, "N", GLOBAL, 0,
     "whole-request timeout, 1..3600000 (default 30000)"},
    {O_CONNECT_TIMEOUT, "--connect-timeout-ms", NULL, "N", GLOBAL, 0,
     "connect timeout, 1..600000 (default 5000)"},
    {O_SKEW, "--skew", NULL, "SECONDS", GLOBAL, 0,
     "allowed clock skew of answers, 1..86400 (default 300)"},
    {O_RETRIES, "--retries", NULL, "N", GLOBAL, 0,
     "retries of 429, 5xx and transport failures, 0..10 (default 0)"},
    {O_CONFIG, "--config", NULL, "FILE", GLOBAL, 0,
     "JSON config file (lowest precedence; see docs/client.md)"},
    {O_JSON, "--json", NULL, NULL, GLOBAL, 1,
     "print exactly one JSON object on stdout, whatever happens"},
    {O_VERBOSE, "--verbose", "-v", NULL, GLOBAL, 1,
     "trace the signing string, request and response on stderr"},
    {O_HELP, "--help", "-h", NULL, GLOBAL, 1, "show help (also after a command)"},
    {O_VERSION, "--version", NULL, NULL, GLOBAL, 1, "show the version"},
    {O_OPENID, "--openid", NULL, "OPENID", IN(CLI_CMD_QUERY) | IN(CLI_CMD_TERMINATE), 0,
     "the user's openid (1..128 bytes); with --appid"},
    {O_AUTH_CODE, "--authorization-code", NULL, "CODE", PERMISSIONS, 0,
     "the authorization code (1..32 of 0-9 A-Z a-z _ - | *);\n" HELP_INDENT
     "query and terminate take it instead of --openid"},
    {O_SERVICE_ID, "--service-id", NULL, "ID", PERMISSIONS, 0,
     "the payscore service id (1..32 bytes)"},
    {O_APPID, "--appid", NULL, "APPID", PERMISSIONS, 0, "the appid (1..32 bytes)"},
    {O_REASON, "--reason", NULL, "TEXT", IN(CLI_CMD_TERMINATE), 0,
     "why the authorization ends (1..50 characters)"},
    {O_NOTIFY_URL, "--notify-url", NULL, "URL", IN(CLI_CMD_APPLY), 0,
     "optional: where WeChat Pay notifies the merchant (1..255 bytes)"},
    {O_FROM_ENV, "--from-env", NULL, NULL, IN(CLI_CMD_CALL), 0,
     "OPERATION from WXPAY_OPERATION when not given, and each parameter\n" HELP_INDENT
     "not given from WXPAY_<NAME> (upper case): the conformance runner's\n" HELP_INDENT
     "client contract"},
    {O_QUERY, "--query", NULL, "QUERY", IN(CLI_CMD_REQUEST), 0,
     "query string without '?', sent as given (or put it in PATH)"},
    {O_DATA, "--data", NULL, "JSON", IN(CLI_CMD_REQUEST), 0,
     "JSON request body, sent as given; @FILE reads it from FILE,\n" HELP_INDENT
     "- from stdin, byte for byte (CR/LF kept, as curl --data-binary);\n" HELP_INDENT
     "at most 1048576 bytes"},
    {O_OUT, "--out", NULL, "DIR", IN(CLI_CMD_CERTIFICATES), 0,
     "write each certificate to DIR/wechatpay_<serial>.pem"},
    {O_PORT, "--port", NULL, "N", IN(CLI_CMD_NOTIFY_LISTEN), 0,
     "port to listen on, 0..65535 (0: any free port; see --ready-file)"},
    {O_BIND, "--bind", NULL, "ADDR", IN(CLI_CMD_NOTIFY_LISTEN), 0,
     "address to listen on (default 127.0.0.1); only loopback\n" HELP_INDENT
     "addresses unless --allow-remote"},
    {O_READY_FILE, "--ready-file", NULL, "FILE", IN(CLI_CMD_NOTIFY_LISTEN), 0,
     "write http://ADDR:PORT to FILE once listening"},
    {O_NOTIFY_COUNT, "--count", NULL, "N", IN(CLI_CMD_NOTIFY_LISTEN), 0,
     "exit (status 0) after N valid notifications, 1..1000000"},
    {O_FAIL_FIRST, "--fail-first", NULL, "N", IN(CLI_CMD_NOTIFY_LISTEN), 0,
     "answer the first N valid notifications 500 on purpose, to\n" HELP_INDENT
     "see the sender retry them; 1..1000000"},
    {O_ALLOW_REMOTE, "--allow-remote", NULL, NULL, IN(CLI_CMD_NOTIFY_LISTEN), 0,
     "allow --bind to a non-loopback address (exposes the listener)"},
    {O_HEADERS, "--headers", NULL, "FILE", IN(CLI_CMD_NOTIFY_VERIFY), 0,
     "the notification's headers, \"Name: value\" lines (curl -D)"},
    {O_BODY, "--body", NULL, "FILE", IN(CLI_CMD_NOTIFY_VERIFY), 0,
     "the notification's body, byte for byte"},
};

#define NOPTIONS (sizeof OPTIONS / sizeof OPTIONS[0])

/* The commands. `ops` are the libwxpay operations a command calls (their method and path come
 * from the library's table for --help: the CLI writes no API path). */
static const struct {
    enum cli_cmd cmd;
    const char *name;
    const char *synopsis;
    const char *what;
    const char *ops[2];
} COMMANDS[] = {
    {CLI_CMD_APPLY,
     "payscore permissions apply",
     "payscore permissions apply --service-id ID --appid APPID --authorization-code CODE\n"
     "          [--notify-url URL]",
     "pre-authorize a user (商户预授权): prints apply_permissions_token",
     {"payscore.permissions.apply", NULL}},
    {CLI_CMD_QUERY,
     "payscore permissions query",
     "payscore permissions query (--openid OPENID --appid APPID | --authorization-code CODE)\n"
     "          --service-id ID",
     "read a user's authorization (查询用户授权记录): prints its fields",
     {"payscore.permissions.query-by-openid", "payscore.permissions.query-by-code"}},
    {CLI_CMD_TERMINATE,
     "payscore permissions terminate",
     "payscore permissions terminate (--openid OPENID --appid APPID | --authorization-code "
     "CODE)\n          --service-id ID --reason TEXT",
     "end a user's authorization (解除用户授权关系)",
     {"payscore.permissions.terminate-by-openid", "payscore.permissions.terminate-by-code"}},
    {CLI_CMD_CALL,
     "call",
     "call OPERATION [NAME=VALUE...] [--from-env]",
     "any operation of libwxpay's table by name, its parameters as NAME=VALUE",
     {NULL, NULL}},
    {CLI_CMD_CERTIFICATES,
     "certificates",
     "certificates [--out DIR]",
     "download, decrypt and verify the platform certificates (GET /v3/certificates)",
     {NULL, NULL}},
    {CLI_CMD_NOTIFY_LISTEN,
     "notify listen",
     "notify listen --port N [--bind ADDR] [--ready-file FILE] [--count N]\n"
     "          [--fail-first N] [--allow-remote]",
     "receive notifications: print each one verified and decrypted as one JSON\n"
     "      line on stdout (answer 204), or why it was refused on stderr (answer\n"
     "      401 {\"code\":\"FAIL\",...}); SIGINT or SIGTERM stops it (status 0).\n"
     "      Needs only the platform keys and the APIv3 key (no merchant key)",
     {NULL, NULL}},
    {CLI_CMD_NOTIFY_VERIFY,
     "notify verify",
     "notify verify --headers FILE --body FILE",
     "check one saved notification: its JSON on stdout (status 0), or why it is\n"
     "      refused (status 3: forged; 6: authentic but unusable, e.g. wrong APIv3 key).\n"
     "      Needs only the platform keys and the APIv3 key (no merchant key)",
     {NULL, NULL}},
    {CLI_CMD_REQUEST,
     "request",
     "request METHOD PATH[?QUERY] [--query QUERY] [--data JSON|@FILE|-]",
     "any signed APIv3 call; PATH starts with '/' and is sent as given (percent-encoded)",
     {NULL, NULL}},
};

#define NCOMMANDS (sizeof COMMANDS / sizeof COMMANDS[0])

static const char *cmd_name(enum cli_cmd cmd)
{
    for (size_t i = 0; i < NCOMMANDS; i++) {
        if (COMMANDS[i].cmd == cmd) {
            return COMMANDS[i].name;
        }
    }
    return "?";
}

/* One source of settings. NULL / -1 / 0 entries mean "not given here". */
struct layer {
    const char *base_url;
    const char *mchid;
    const char *mch_serial;
    const char *mch_key;
    const char *mch_cert;
    const char *accept_serial;
    const char *ca_file;
    const char *apiv3_key_file;
    const char *apiv3_key;
    const char *certs[CLI_MAX_KEYS];
    size_t ncerts;
    const char *pub_files[CLI_MAX_KEYS];
    size_t npub_files;
    const char *pub_ids[CLI_MAX_KEYS];
    size_t npub_ids;
    long timeout_ms;
    long connect_timeout_ms;
    long skew;
    long retries;
    const char *config;        /* flags and environment only */
    const char *expect_serial; /* environment only: WXPAY_PLATFORM_SERIAL for a certificate */
};

static void layer_init(struct layer *l)
{
    memset(l, 0, sizeof *l);
    l->timeout_ms = -1;
    l->connect_timeout_ms = -1;
    l->skew = -1;
    l->retries = -1;
}

static enum cli_exit fail(char *err, size_t errsz, const char *fmt, ...) CLI_PRINTF(3, 4);

static enum cli_exit fail(char *err, size_t errsz, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errsz, fmt, ap);
    va_end(ap);
    return CLI_EXIT_USAGE;
}

void cli_opts_init(struct cli_opts *o)
{
    memset(o, 0, sizeof *o);
    o->port = -1;
}

void cli_opts_free(struct cli_opts *o)
{
    for (size_t i = 0; i < o->nowned; i++) {
        free(o->owned[i]);
    }
    free(o->owned);
    cli_opts_init(o);
}

/* Takes ownership of `s` (freed by cli_opts_free); returns it, or NULL (and frees it) when out
 * of memory. */
static char *own(struct cli_opts *o, char *s)
{
    char **grown;
    if (s == NULL) {
        return NULL;
    }
    grown = realloc(o->owned, (o->nowned + 1) * sizeof *grown);
    if (grown == NULL) {
        free(s);
        return NULL;
    }
    o->owned = grown;
    o->owned[o->nowned++] = s;
    return s;
}

static char *own_dup(struct cli_opts *o, const char *s, size_t len)
{
    char *d = malloc(len + 1);
    if (d != NULL) {
        memcpy(d, s, len);
        d[len] = '\0';
    }
    return own(o, d);
}

/* ---- help ---- */

static void print_options(FILE *out, enum cli_cmd cmd)
{
    for (size_t i = 0; i < NOPTIONS; i++) {
        char left[64];
        if (cmd == CLI_CMD_NONE ? OPTIONS[i].cmds != GLOBAL : !(OPTIONS[i].cmds & IN(cmd))) {
            continue;
        }
        snprintf(left, sizeof left, "%s%s%s%s%s", OPTIONS[i].alias ? OPTIONS[i].alias : "",
                 OPTIONS[i].alias ? ", " : "", OPTIONS[i].name, OPTIONS[i].arg ? " " : "",
                 OPTIONS[i].arg ? OPTIONS[i].arg : "");
        fprintf(out, "  %-32s %s\n", left, OPTIONS[i].help);
    }
}

static void print_tail(FILE *out)
{
    fprintf(out,
            "\nEnvironment (used when the flag is absent): WXPAY_BASE_URL WXPAY_MCHID "
            "WXPAY_MCH_SERIAL\n"
            "  WXPAY_MCH_KEY WXPAY_MCH_CERT WXPAY_PLATFORM_CERT WXPAY_PLATFORM_KEY_KIND "
            "(certificate|public_key)\n"
            "  WXPAY_PLATFORM_SERIAL (checked against the certificate; the key id for a public "
            "key) WXPAY_CONFIG\n"
            "  WXPAY_APIV3_KEY_FILE\n"
            "Precedence: flags > environment > config file > built-in TEST defaults.\n"
            "With no merchant configured, the built-in TEST merchant " CLI_TEST_MCHID
            " talks to\n  " CLI_TEST_BASE_URL " (a default wxpay-mock).\n"
            "\nExit status: 0 success (the documented 2xx, signature verified), 1 WeChat Pay "
            "error\n"
            "  (non-2xx, or a verified 2xx that is not the documented one), 2 usage or "
            "configuration\n"
            "  error, 3 signature verification failed (treat as forged),\n"
            "  4 transport failure (no answer), 5 input refused before sending,\n"
            "  6 notify verify: authentic notification that cannot be used (wrong APIv3 key).\n"
            "\nDocumentation: man wxpay, man libwxpay (docs/client.md in the source tree)\n");
}

/* "      POST /v3/... (payscore.permissions.apply)": from libwxpay's table. */
static void print_operation_line(FILE *out, const char *indent, const char *op)
{
    struct wxpay_operation_info info;

    if (op == NULL || wxpay_operation_info(op, &info) != 0) {
        return;
    }
    fprintf(out, "%s%s %s (%s)\n", indent, info.method, info.path, info.name);
}

/* Every operation with its parameters, for 'wxpay call --help'. */
static void print_operations(FILE *out)
{
    const char *name;

    fprintf(out, "\nOperations (NAME=VALUE parameters; * = required):\n");
    for (size_t i = 0; (name = wxpay_operation_name(i)) != NULL; i++) {
        struct wxpay_operation_info info;
        struct wxpay_param_info p;
        if (wxpay_operation_info(name, &info) != 0) {
            continue;
        }
        fprintf(out, "  %s\n      %s %s -> %u\n      ", name, info.method, info.path, info.success);
        for (size_t j = 0; wxpay_operation_param(name, j, &p) == 0; j++) {
            fprintf(out, "%s%s%s (%s, %zu..%zu %s%s%s)", j > 0 ? ",\n      " : "", p.name,
                    p.required ? "*" : "",
                    strcmp(p.location, "uri_template") == 0 ? "path" : p.location, p.min, p.max,
                    p.unit, p.charset[0] != '\0' ? " of " : "", p.charset);
        }
        fputc('\n', out);
    }
}

void cli_usage(FILE *out, enum cli_cmd cmd)
{
    for (size_t i = 0; i < NCOMMANDS; i++) {
        if (COMMANDS[i].cmd != cmd) {
            continue;
        }
        fprintf(out, "usage: wxpay [options] %s\n\n%s\n", COMMANDS[i].synopsis, COMMANDS[i].what);
        for (size_t j = 0; j < 2; j++) {
            print_operation_line(out, "  ", COMMANDS[i].ops[j]);
        }
        if (cmd == CLI_CMD_CALL) {
            print_operations(out);
        }
        fprintf(out, "\nOptions of this command:\n");
        print_options(out, cmd);
        fprintf(out, "\nGlobal options:\n");
        print_options(out, CLI_CMD_NONE);
        print_tail(out);
        return;
    }
    fprintf(out, "usage: wxpay [options] COMMAND [command options]\n\n"
                 "Calls WeChat Pay APIv3 with libwxpay: signs the request, verifies the answer.\n\n"
                 "Commands:\n");
    for (size_t i = 0; i < NCOMMANDS; i++) {
        fprintf(out, "  wxpay %s\n      %s\n", COMMANDS[i].synopsis, COMMANDS[i].what);
        for (size_t j = 0; j < 2; j++) {
            print_operation_line(out, "      ", COMMANDS[i].ops[j]);
        }
    }
    fprintf(out, "\nGlobal options (before or after the command words):\n");
    print_options(out, CLI_CMD_NONE);
    fprintf(out, "\n'wxpay COMMAND --help' shows a command's options.\n");
    print_tail(out);
}

/* ---- values ---- */

static int parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    long v;
    if (s[0] < '0' || s[0] > '9') {
        return -1;
    }
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < lo || v > hi) {
        return -1;
    }
    *out = v;
    return 0;
}

/* The range of each numeric setting, for flags and config file alike. */
static const struct {
    enum opt_id id;
    const char *config_name;
    long lo, hi;
    size_t off; /* of the long in struct layer */
} NUMBERS[] = {
    {O_TIMEOUT, "timeout_ms", 1, 3600000, offsetof(struct layer, timeout_ms)},
    {O_CONNECT_TIMEOUT, "connect_timeout_ms", 1, 600000,
     offsetof(struct layer, connect_timeout_ms)},
    {O_SKEW, "skew", 1, 86400, offsetof(struct layer, skew)},
    {O_RETRIES, "retries", 0, 10, offsetof(struct layer, retries)},
};

/* Where each single-string option lives in a layer. */
static const struct {
    enum opt_id id;
    size_t off;
} STRING_FIELDS[] = {
    {O_BASE_URL, offsetof(struct layer, base_url)},
    {O_MCHID, offsetof(struct layer, mchid)},
    {O_MCH_SERIAL, offsetof(struct layer, mch_serial)},
    {O_MCH_KEY, offsetof(struct layer, mch_key)},
    {O_MCH_CERT, offsetof(struct layer, mch_cert)},
    {O_ACCEPT_SERIAL, offsetof(struct layer, accept_serial)},
    {O_CA_FILE, offsetof(struct layer, ca_file)},
    {O_APIV3_KEY_FILE, offsetof(struct layer, apiv3_key_file)},
    {O_CONFIG, offsetof(struct layer, config)},
};

static long *layer_number(struct layer *l, enum opt_id id)
{
    for (size_t i = 0; i < sizeof NUMBERS / sizeof NUMBERS[0]; i++) {
        if (NUMBERS[i].id == id) {
            return (long *)(void *)((char *)l + NUMBERS[i].off);
        }
    }
    return NULL;
}

static const char **layer_string(struct layer *l, enum opt_id id)
{
    for (size_t i = 0; i < sizeof STRING_FIELDS / sizeof STRING_FIELDS[0]; i++) {
        if (STRING_FIELDS[i].id == id) {
            return (const char **)(void *)((char *)l + STRING_FIELDS[i].off);
        }
    }
    return NULL;
}

static int add_key(const char **list, size_t *n, const char *v)
{
    if (*n == CLI_MAX_KEYS) {
        return -1;
    }
    list[(*n)++] = v;
    return 0;
}

/* ---- flags ---- */

/* Command words: 'call OPERATION' and one NAME=VALUE per parameter, with room to spare. */
#define MAX_WORDS (2 + CLI_MAX_PARAMS + 6)

struct parsed {
    const char *words[MAX_WORDS];
    size_t nwords;
    const struct opt *cmd_opt_seen[O_COUNT]; /* command options given, for the command check */
};

static const struct opt *find_option(const char *a, size_t len)
{
    for (size_t i = 0; i < NOPTIONS; i++) {
        if ((strlen(OPTIONS[i].name) == len && strncmp(a, OPTIONS[i].name, len) == 0) ||
            (OPTIONS[i].alias != NULL && strlen(OPTIONS[i].alias) == len &&
             strncmp(a, OPTIONS[i].alias, len) == 0)) {
            return &OPTIONS[i];
        }
    }
    return NULL;
}

static enum cli_exit apply_flag(struct cli_opts *o, struct layer *f, const struct opt *op,
                                const char *v, char *err, size_t errsz)
{
    long *num = layer_number(f, op->id);
    const char **str = layer_string(f, op->id);

    if (num != NULL) {
        for (size_t i = 0; i < sizeof NUMBERS / sizeof NUMBERS[0]; i++) {
            if (NUMBERS[i].id == op->id && parse_long(v, NUMBERS[i].lo, NUMBERS[i].hi, num) != 0) {
                return fail(err, errsz, "%s takes an integer %ld..%ld, not '%s'", op->name,
                            NUMBERS[i].lo, NUMBERS[i].hi, v);
            }
        }
        return CLI_EXIT_OK;
    }
    if (str != NULL) {
        if (v[0] == '\0' && op->id != O_ACCEPT_SERIAL) {
            return fail(err, errsz, "%s must not be empty", op->name);
        }
        *str = v;
        return CLI_EXIT_OK;
    }
    switch (op->id) {
    case O_PLATFORM_CERT:
    case O_PUBKEY:
    case O_PUBKEY_ID:
        if (v[0] == '\0') {
            return fail(err, errsz, "%s must not be empty", op->name);
        }
        if (add_key(op->id == O_PLATFORM_CERT ? f->certs
                    : op->id == O_PUBKEY      ? f->pub_files
                                              : f->pub_ids,
                    op->id == O_PLATFORM_CERT ? &f->ncerts
                    : op->id == O_PUBKEY      ? &f->npub_files
                                              : &f->npub_ids,
                    v) != 0) {
            return fail(err, errsz, "at most %d %s", CLI_MAX_KEYS, op->name);
        }
        return CLI_EXIT_OK;
    case O_JSON:
        o->json = 1;
        return CLI_EXIT_OK;
    case O_VERBOSE:
        o->verbose = 1;
        return CLI_EXIT_OK;
    case O_HELP:
        o->help = 1;
        return CLI_EXIT_OK;
    case O_VERSION:
        o->version = 1;
        return CLI_EXIT_OK;
    case O_OPENID:
        o->openid = v;
        return CLI_EXIT_OK;
    case O_SERVICE_ID:
        o->service_id = v;
        return CLI_EXIT_OK;
    case O_APPID:
        o->appid = v;
        return CLI_EXIT_OK;
    case O_REASON:
        o->reason = v;
        return CLI_EXIT_OK;
    case O_AUTH_CODE:
        o->authorization_code = v;
        return CLI_EXIT_OK;
    case O_NOTIFY_URL:
        o->notify_url = v;
        return CLI_EXIT_OK;
    case O_FROM_ENV:
        o->from_env = 1;
        return CLI_EXIT_OK;
    case O_QUERY:
        o->query = v;
        return CLI_EXIT_OK;
    case O_DATA:
        o->data = v;
        return CLI_EXIT_OK;
    case O_PORT:
        if (parse_long(v, 0, 65535, &o->port) != 0) {
            return fail(err, errsz, "--port is 0..65535, not '%.32s'", v);
        }
        return CLI_EXIT_OK;
    case O_NOTIFY_COUNT:
        if (parse_long(v, 1, 1000000, &o->count) != 0) {
            return fail(err, errsz, "--count is 1..1000000, not '%.32s'", v);
        }
        return CLI_EXIT_OK;
    case O_FAIL_FIRST:
        if (parse_long(v, 1, 1000000, &o->fail_first) != 0) {
            return fail(err, errsz, "--fail-first is 1..1000000, not '%.32s'", v);
        }
        return CLI_EXIT_OK;
    case O_BIND:
        o->bind = v;
        return CLI_EXIT_OK;
    case O_READY_FILE:
        o->ready_file = v;
        return CLI_EXIT_OK;
    case O_ALLOW_REMOTE:
        o->allow_remote = 1;
        return CLI_EXIT_OK;
    case O_HEADERS:
        o->headers_file = v;
        return CLI_EXIT_OK;
    case O_BODY:
        o->body_file = v;
        return CLI_EXIT_OK;
    case O_OUT:
        if (v[0] == '\0') {
            return fail(err, errsz, "%s must not be empty", op->name);
        }
        o->out_dir = v;
        return CLI_EXIT_OK;
    case O_BASE_URL:
    case O_MCHID:
    case O_MCH_SERIAL:
    case O_MCH_KEY:
    case O_MCH_CERT:
    case O_ACCEPT_SERIAL:
    case O_CA_FILE:
    case O_APIV3_KEY_FILE:
    case O_CONFIG:
    case O_TIMEOUT:
    case O_CONNECT_TIMEOUT:
    case O_SKEW:
    case O_RETRIES:
    case O_COUNT:
        break;
    }
    return CLI_EXIT_OK;
}

/* A name or word about to be echoed that looks like key material: a control byte, "-----" or 24
 * base64 characters in a row. The same test as the core's wxp_looks_like_key, which the CLI
 * cannot call (it links only libwxpay's exported API). Never echoed: docs/reliability.md#security.
 */
static int looks_like_key(const char *s)
{
    size_t run = 0;

    if (strstr(s, "-----") != NULL) {
        return 1;
    }
    for (; *s != '\0'; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch < 0x20 || ch == 0x7F) {
            return 1;
        }
        run = isalnum(ch) || ch == '+' || ch == '/' || ch == '=' ? run + 1 : 0;
        if (run >= 24) {
            return 1;
        }
    }
    return 0;
}

static const char *name_shown(const char *s)
{
    return looks_like_key(s) ? "(not shown: looks like key material)" : s;
}

static enum cli_exit parse_argv(struct cli_opts *o, int argc, char **argv, struct layer *f,
                                struct parsed *p, char *err, size_t errsz)
{
    unsigned char seen[O_COUNT] = {0};
    int only_words = 0;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *eq;
        const char *v = NULL;
        const struct opt *op;
        enum cli_exit rc;
        size_t nlen;

        if (only_words || a[0] != '-' || a[1] == '\0') {
            if (p->nwords == sizeof p->words / sizeof p->words[0]) {
                /* Not echoed: a PEM file expanded unquoted ($(cat key.pem)) overflows here
                 * with a line of the key. */
                return fail(err, errsz, "too many arguments (at most %zu command words)",
                            sizeof p->words / sizeof p->words[0]);
            }
            p->words[p->nwords++] = a;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            only_words = 1;
            continue;
        }
        eq = a[1] == '-' ? strchr(a, '=') : NULL;
        nlen = eq != NULL ? (size_t)(eq - a) : strlen(a);
        op = find_option(a, nlen);
        if (op == NULL) {
            /* PEM text given as a word is not echoed (docs/reliability.md#security). */
            if (looks_like_key(a)) {
                return fail(err, errsz, "unknown option %s", name_shown(a));
            }
            return fail(err, errsz, "unknown option '%.*s'", (int)(nlen > 64 ? 64 : nlen), a);
        }
        if (op->arg == NULL && eq != NULL) {
            return fail(err, errsz, "%s takes no value", op->name);
        }
        if (op->arg != NULL) {
            if (eq != NULL) {
                v = eq + 1;
            } else if (i + 1 < argc) {
                v = argv[++i];
            } else {
                return fail(err, errsz, "%s needs a value (%s)", op->name, op->arg);
            }
        }
        if (seen[op->id] && !op->repeat) {
            return fail(err, errsz, "%s given twice", op->name);
        }
        seen[op->id] = 1;
        if (op->cmds != GLOBAL) {
            p->cmd_opt_seen[op->id] = op;
        }
        rc = apply_flag(o, f, op, v, err, errsz);
        if (rc != CLI_EXIT_OK) {
            return rc;
        }
    }
    return CLI_EXIT_OK;
}

/* 'call [OPERATION] [NAME=VALUE...]': the first word without '=' is the operation. The names are
 * checked against the operation later (check_call), once --from-env may have supplied it. */
static enum cli_exit resolve_call(struct cli_opts *o, const char *const *w, size_t n, char *err,
                                  size_t errsz)
{
    size_t i = 0;

    if (n > 0 && strchr(w[0], '=') == NULL) {
        o->operation = w[0];
        i = 1;
    }
    for (; i < n; i++) {
        const char *eq = strchr(w[i], '=');
        char *name;
        if (eq == NULL || eq == w[i]) {
            return fail(err, errsz,
                        "call takes OPERATION and then NAME=VALUE parameters, not '%.64s'", w[i]);
        }
        if (o->nparams == CLI_MAX_PARAMS) {
            return fail(err, errsz, "call: at most %d parameters", CLI_MAX_PARAMS);
        }
        name = own_dup(o, w[i], (size_t)(eq - w[i]));
        if (name == NULL) {
            return fail(err, errsz, "out of memory");
        }
        o->param_names[o->nparams] = name;
        o->param_values[o->nparams] = eq + 1;
        o->nparams++;
    }
    return CLI_EXIT_OK;
}

/* Resolves the command words. With `lenient` (for --help) an unknown command is not an error. */
static enum cli_exit resolve_command(struct cli_opts *o, const struct parsed *p, int lenient,
                                     char *err, size_t errsz)
{
    const char *const *w = p->words;
    size_t n = p->nwords;

    if (n > 0 && strcmp(w[0], "help") == 0) {
        o->help = 1;
        w++;
        n--;
        lenient = 1;
    }
    if (n == 0) {
        return lenient ? CLI_EXIT_OK : fail(err, errsz, "no command given");
    }
    if (strcmp(w[0], "payscore") == 0) {
        static const struct {
            const char *word;
            enum cli_cmd cmd;
        } SUB[] = {
            {"apply", CLI_CMD_APPLY},
            {"query", CLI_CMD_QUERY},
            {"terminate", CLI_CMD_TERMINATE},
        };
        for (size_t i = 0; n >= 3 && i < sizeof SUB / sizeof SUB[0]; i++) {
            if (strcmp(w[1], "permissions") != 0 || strcmp(w[2], SUB[i].word) != 0) {
                continue;
            }
            o->cmd = SUB[i].cmd;
            if (n > 3 && !lenient) {
                return fail(err, errsz, "unexpected argument '%s'", w[3]);
            }
            return CLI_EXIT_OK;
        }
        return lenient
                   ? CLI_EXIT_OK
                   : fail(err, errsz,
                          "unknown command 'payscore%s%s%s%s': the payscore commands are "
                          "'payscore permissions apply', 'payscore permissions query' and "
                          "'payscore permissions terminate'",
                          n > 1 ? " " : "", n > 1 ? w[1] : "", n > 2 ? " " : "", n > 2 ? w[2] : "");
    }
    if (strcmp(w[0], "call") == 0) {
        o->cmd = CLI_CMD_CALL;
        return lenient ? CLI_EXIT_OK : resolve_call(o, w + 1, n - 1, err, errsz);
    }
    if (strcmp(w[0], "certificates") == 0) {
        o->cmd = CLI_CMD_CERTIFICATES;
        if (n > 1 && !lenient) {
            return fail(err, errsz, "unexpected argument '%s'", w[1]);
        }
        return CLI_EXIT_OK;
    }
    if (strcmp(w[0], "notify") == 0) {
        if (n >= 2 && strcmp(w[1], "listen") == 0) {
            o->cmd = CLI_CMD_NOTIFY_LISTEN;
        } else if (n >= 2 && strcmp(w[1], "verify") == 0) {
            o->cmd = CLI_CMD_NOTIFY_VERIFY;
        } else {
            return lenient ? CLI_EXIT_OK
                           : fail(err, errsz,
                                  "the notify commands are 'notify listen' and 'notify verify'");
        }
        if (n > 2 && !lenient) {
            return fail(err, errsz, "unexpected argument '%s'", w[2]);
        }
        return CLI_EXIT_OK;
    }
    if (strcmp(w[0], "request") == 0) {
        o->cmd = CLI_CMD_REQUEST;
        if (lenient) {
            return CLI_EXIT_OK;
        }
        if (n != 3) {
            return fail(err, errsz,
                        "request takes METHOD and PATH, e.g. 'wxpay request GET "
                        "/v3/certificates'");
        }
        o->method = w[1];
        o->path = w[2];
        return CLI_EXIT_OK;
    }
    return lenient ? CLI_EXIT_OK : fail(err, errsz, "unknown command '%s'", w[0]);
}

/* PATH must start with '/'; a '?' splits off the query. */
static enum cli_exit split_path(struct cli_opts *o, char *err, size_t errsz)
{
    const char *q = strchr(o->path, '?');
    if (o->path[0] != '/') {
        return fail(err, errsz, "PATH must start with '/', not '%s'", o->path);
    }
    if (q == NULL) {
        return CLI_EXIT_OK;
    }
    if (o->query != NULL) {
        return fail(err, errsz, "give the query either in PATH or with --query, not both");
    }
    o->query = q[1] != '\0' ? q + 1 : NULL;
    o->path = own_dup(o, o->path, (size_t)(q - o->path));
    if (o->path == NULL) {
        return fail(err, errsz, "out of memory");
    }
    return CLI_EXIT_OK;
}

static enum cli_exit load_data(struct cli_opts *o, char *err, size_t errsz);
static const char *env(const char *name);

/* query and terminate name the authorization either by openid (with appid) or by code. */
static enum cli_exit check_who(const struct cli_opts *o, char *err, size_t errsz)
{
    const char *cmd = cmd_name(o->cmd);

    if (o->openid != NULL && o->authorization_code != NULL) {
        return fail(err, errsz, "%s takes --openid or --authorization-code, not both", cmd);
    }
    if (o->openid == NULL && o->authorization_code == NULL) {
        return fail(err, errsz, "%s needs --openid (with --appid) or --authorization-code", cmd);
    }
    if (o->authorization_code != NULL && o->appid != NULL) {
        return fail(err, errsz, "%s: --appid goes with --openid, not with --authorization-code",
                    cmd);
    }
    if (o->openid != NULL && o->appid == NULL) {
        return fail(err, errsz, "%s needs --appid with --openid", cmd);
    }
    if (o->service_id == NULL) {
        return fail(err, errsz, "%s needs --service-id", cmd);
    }
    if (o->cmd == CLI_CMD_TERMINATE && o->reason == NULL) {
        return fail(err, errsz, "%s needs --reason", cmd);
    }
    return CLI_EXIT_OK;
}

/* The operations' names on one line, for a message. */
static void operation_names(char *out, size_t cap)
{
    const char *name;
    size_t len = 0;

    out[0] = '\0';
    for (size_t i = 0; (name = wxpay_operation_name(i)) != NULL; i++) {
        int w = snprintf(out + len, cap - len, "%s%s", i > 0 ? ", " : "", name);
        if (w < 0 || (size_t)w >= cap - len) {
            return;
        }
        len += (size_t)w;
    }
}

/* WXPAY_<NAME>: the parameter's name in upper case. */
static const char *param_env(const char *name)
{
    char var[96];
    size_t n = 0;

    n = (size_t)snprintf(var, sizeof var, "WXPAY_");
    for (size_t i = 0; name[i] != '\0' && n + 1 < sizeof var; i++) {
        char ch = name[i];
        var[n++] = ch >= 'a' && ch <= 'z' ? (char)(ch - 'a' + 'A') : ch == '-' ? '_' : ch;
    }
    var[n] = '\0';
    return env(var);
}

/* call: a known operation, each NAME one of its parameters and given once; with --from-env the
 * operation and the missing parameters come from the environment. Whether the values are valid is
 * the library's check (exit status 5), as for the other commands. */
static enum cli_exit check_call(struct cli_opts *o, char *err, size_t errsz)
{
    struct wxpay_operation_info info;
    struct wxpay_param_info pi;
    char names[512];

    if (o->operation == NULL && o->from_env) {
        o->operation = env("WXPAY_OPERATION");
    }
    if (o->operation == NULL) {
        operation_names(names, sizeof names);
        return fail(err, errsz, "call needs an OPERATION%s: %s",
                    o->from_env ? " (WXPAY_OPERATION is unset)" : "", names);
    }
    if (wxpay_operation_info(o->operation, &info) != 0) {
        operation_names(names, sizeof names);
        return fail(err, errsz, "unknown operation '%.128s'; the operations are: %s", o->operation,
                    names);
    }
    for (size_t i = 0; i < o->nparams; i++) {
        size_t j = 0;
        while (wxpay_operation_param(o->operation, j, &pi) == 0 &&
               strcmp(pi.name, o->param_names[i]) != 0) {
            j++;
        }
        if (j == info.nparams) {
            return fail(err, errsz,
                        "%.64s is not a parameter of %s ('wxpay call --help' lists them)",
                        o->param_names[i], o->operation);
        }
        for (size_t k = 0; k < i; k++) {
            if (strcmp(o->param_names[k], o->param_names[i]) == 0) {
                return fail(err, errsz, "%.64s given twice", o->param_names[i]);
            }
        }
    }
    for (size_t j = 0; o->from_env && wxpay_operation_param(o->operation, j, &pi) == 0; j++) {
        const char *v;
        size_t k = 0;
        while (k < o->nparams && strcmp(o->param_names[k], pi.name) != 0) {
            k++;
        }
        v = k == o->nparams ? param_env(pi.name) : NULL;
        if (v == NULL || o->nparams == CLI_MAX_PARAMS) {
            continue;
        }
        o->param_names[o->nparams] = pi.name;
        o->param_values[o->nparams] = v;
        o->nparams++;
    }
    return CLI_EXIT_OK;
}

static enum cli_exit check_command_args(struct cli_opts *o, const struct parsed *p, char *err,
                                        size_t errsz)
{
    for (size_t i = 0; i < O_COUNT; i++) {
        const struct opt *op = p->cmd_opt_seen[i];
        char names[256] = "";
        size_t len = 0;
        if (op == NULL || (op->cmds & IN(o->cmd))) {
            continue;
        }
        for (size_t c = 0; c < NCOMMANDS; c++) {
            if (op->cmds & IN(COMMANDS[c].cmd)) {
                int w = snprintf(names + len, sizeof names - len, "%s'%s'", len > 0 ? ", " : "",
                                 COMMANDS[c].name);
                len = w > 0 && (size_t)w < sizeof names - len ? len + (size_t)w : len;
            }
        }
        return fail(err, errsz, "%s is an option of %s", op->name, names);
    }
    switch (o->cmd) {
    case CLI_CMD_APPLY:
        if (o->service_id == NULL || o->appid == NULL || o->authorization_code == NULL) {
            return fail(err, errsz, "payscore permissions apply needs %s",
                        o->service_id == NULL ? "--service-id"
                        : o->appid == NULL    ? "--appid"
                                              : "--authorization-code");
        }
        return CLI_EXIT_OK;
    case CLI_CMD_QUERY:
    case CLI_CMD_TERMINATE:
        return check_who(o, err, errsz);
    case CLI_CMD_CALL:
        return check_call(o, err, errsz);
    case CLI_CMD_CERTIFICATES:
        return CLI_EXIT_OK;
    case CLI_CMD_NOTIFY_LISTEN:
        if (o->port < 0) {
            return fail(err, errsz, "notify listen needs --port (0: any free port)");
        }
        return CLI_EXIT_OK;
    case CLI_CMD_NOTIFY_VERIFY:
        if (o->headers_file == NULL || o->body_file == NULL) {
            return fail(err, errsz, "notify verify needs --headers FILE and --body FILE");
        }
        return CLI_EXIT_OK;
    case CLI_CMD_REQUEST:
        if (split_path(o, err, errsz) != CLI_EXIT_OK) {
            return CLI_EXIT_USAGE;
        }
        return load_data(o, err, errsz);
    case CLI_CMD_NONE:
        break;
    }
    return fail(err, errsz, "no command given");
}

/* ---- environment ---- */

static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v != NULL && v[0] != '\0' ? v : NULL;
}

static enum cli_exit read_env(struct layer *e, char *err, size_t errsz)
{
    const char *cert = env("WXPAY_PLATFORM_CERT");
    const char *kind = env("WXPAY_PLATFORM_KEY_KIND");
    const char *serial = env("WXPAY_PLATFORM_SERIAL");

    e->base_url = env("WXPAY_BASE_URL");
    e->mchid = env("WXPAY_MCHID");
    e->mch_serial = env("WXPAY_MCH_SERIAL");
    e->mch_key = env("WXPAY_MCH_KEY");
    e->mch_cert = env("WXPAY_MCH_CERT");
    e->config = env("WXPAY_CONFIG");
    e->apiv3_key_file = env("WXPAY_APIV3_KEY_FILE");
    if (kind != NULL && strcmp(kind, "certificate") != 0 && strcmp(kind, "public_key") != 0) {
        return fail(err, errsz, "WXPAY_PLATFORM_KEY_KIND is certificate or public_key, not '%s'",
                    kind);
    }
    if (cert == NULL) {
        return CLI_EXIT_OK;
    }
    if (kind != NULL && strcmp(kind, "public_key") == 0) {
        if (serial == NULL) {
            return fail(err, errsz,
                        "WXPAY_PLATFORM_KEY_KIND=public_key needs the key id in "
                        "WXPAY_PLATFORM_SERIAL (PUB_KEY_ID_...)");
        }
        e->pub_files[0] = cert;
        e->pub_ids[0] = serial;
        e->npub_files = e->npub_ids = 1;
        return CLI_EXIT_OK;
    }
    e->certs[0] = cert;
    e->ncerts = 1;
    e->expect_serial = serial;
    return CLI_EXIT_OK;
}

/* ---- files ---- */

/* Reads a stream to its end, up to `max` bytes (never more than max + 1 are read); the text is
 * NUL-terminated. Returns NULL with `why`. */
static char *read_stream(FILE *fp, size_t max, size_t *len, const char **why)
{
    char *buf = malloc(max + 1);
    size_t n;

    if (buf == NULL) {
        *why = "out of memory";
        return NULL;
    }
    n = fread(buf, 1, max + 1, fp);
    if (ferror(fp)) {
        *why = strerror(errno);
        free(buf);
        return NULL;
    }
    if (n > max) {
        *why = "file too large";
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* Reads a whole file, up to `max` bytes; the text is NUL-terminated. Returns NULL with `why`. */
static char *read_file(const char *path, size_t max, size_t *len, const char **why)
{
    FILE *fp = fopen(path, "rb");
    char *buf;

    if (fp == NULL) {
        *why = strerror(errno);
        return NULL;
    }
    buf = read_stream(fp, max, len, why);
    fclose(fp);
    return buf;
}

/* --data @FILE and --data - (curl's forms): the body is read here, byte for byte. Choice: CR and
 * LF are kept, as curl's --data-binary does (curl's --data @FILE strips them): what is read is
 * what is signed and sent. A NUL byte cannot be in a JSON body, and the library takes a C
 * string, so it is refused rather than cutting the body short. */
static enum cli_exit load_data(struct cli_opts *o, char *err, size_t errsz)
{
    const char *arg = o->data;
    const char *why = NULL;
    const char *nul;
    size_t len = 0;
    char *text;

    if (arg == NULL || (arg[0] != '@' && strcmp(arg, "-") != 0)) {
        return CLI_EXIT_OK;
    }
    if (arg[0] == '@' && arg[1] == '\0') {
        return fail(err, errsz, "--data @ needs a file name (--data @FILE, or --data - for stdin)");
    }
    text = arg[0] == '@' ? read_file(arg + 1, WXPAY_BODY_MAX, &len, &why)
                         : read_stream(stdin, WXPAY_BODY_MAX, &len, &why);
    if (text == NULL) {
        if (strcmp(why, "file too large") == 0) {
            return fail(err, errsz, "--data %s: larger than %zu bytes (the request body cap)", arg,
                        WXPAY_BODY_MAX);
        }
        return fail(err, errsz, "--data %s: cannot read %s: %s", arg,
                    arg[0] == '@' ? arg + 1 : "stdin", why);
    }
    nul = memchr(text, '\0', len);
    if (nul != NULL) {
        size_t at = (size_t)(nul - text);
        free(text);
        return fail(err, errsz, "--data %s: byte %zu is NUL, which a JSON body cannot hold", arg,
                    at);
    }
    o->data = own(o, text);
    return o->data != NULL ? CLI_EXIT_OK : fail(err, errsz, "out of memory");
}

/* ---- DER: just enough to find a certificate's serial ---- */

static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    if (c == '+') {
        return 62;
    }
    if (c == '/') {
        return 63;
    }
    return -1;
}

/* Reads one tag-length header at p[*off]; on success *off is at the content. */
static int der_header(const unsigned char *p, size_t n, size_t *off, unsigned char *tag,
                      size_t *len)
{
    size_t i = *off, l;
    if (i + 2 > n) {
        return -1;
    }
    *tag = p[i++];
    l = p[i++];
    if (l & 0x80) {
        size_t k = l & 0x7f;
        if (k == 0 || k > 3 || i + k > n) {
            return -1;
        }
        l = 0;
        while (k-- > 0) {
            l = (l << 8) | p[i++];
        }
    }
    if (l > n - i) {
        return -1;
    }
    *off = i;
    *len = l;
    return 0;
}

int cli_pem_cert_serial(const char *pem, size_t len, char *hex, size_t hexsz)
{
    static const char BEGIN[] = "-----BEGIN CERTIFICATE-----";
    static const char END[] = "-----END CERTIFICATE-----";
    const char *s = NULL, *e;
    unsigned char *der = NULL;
    size_t nder = 0, off = 0, clen;
    unsigned char tag;
    unsigned acc = 0;
    int bits = 0, rc = -1;

    for (size_t i = 0; i + sizeof BEGIN - 1 <= len; i++) {
        if (memcmp(pem + i, BEGIN, sizeof BEGIN - 1) == 0) {
            s = pem + i + sizeof BEGIN - 1;
            break;
        }
    }
    if (s == NULL) {
        return -1;
    }
    der = malloc(len);
    if (der == NULL) {
        return -1;
    }
    for (e = s; e < pem + len && *e != '-' && *e != '='; e++) {
        int v = b64_value((unsigned char)*e);
        if (v < 0) {
            if (!isspace((unsigned char)*e)) {
                goto out;
            }
            continue;
        }
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            der[nder++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    while (e < pem + len && (*e == '=' || isspace((unsigned char)*e))) {
        e++;
    }
    if ((size_t)(pem + len - e) < sizeof END - 1 || memcmp(e, END, sizeof END - 1) != 0) {
        goto out;
    }
    /* Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { [0] version OPTIONAL, serial INTEGER */
    if (der_header(der, nder, &off, &tag, &clen) != 0 || tag != 0x30 ||
        der_header(der, nder, &off, &tag, &clen) != 0 || tag != 0x30 ||
        der_header(der, nder, &off, &tag, &clen) != 0) {
        goto out;
    }
    if (tag == 0xa0) {
        off += clen;
        if (der_header(der, nder, &off, &tag, &clen) != 0) {
            goto out;
        }
    }
    if (tag != 0x02 || clen == 0) {
        goto out;
    }
    while (clen > 1 && der[off] == 0) {
        off++;
        clen--;
    }
    if (clen * 2 + 1 > hexsz) {
        goto out;
    }
    for (size_t i = 0; i < clen; i++) {
        snprintf(hex + 2 * i, 3, "%02X", der[off + i]);
    }
    rc = 0;
out:
    free(der);
    return rc;
}

/* Serials compare as hex numbers: case-insensitive, leading zeros ignored. */
static int same_serial(const char *a, const char *b)
{
    while (*a == '0' && a[1] != '\0') {
        a++;
    }
    while (*b == '0' && b[1] != '\0') {
        b++;
    }
    for (; *a != '\0' && *b != '\0'; a++, b++) {
        if (toupper((unsigned char)*a) != toupper((unsigned char)*b)) {
            return 0;
        }
    }
    return *a == *b;
}

static enum cli_exit check_platform_serial(const char *file, const char *expect, char *err,
                                           size_t errsz)
{
    const char *why = NULL;
    size_t len = 0;
    char serial[128];
    char *pem = read_file(file, PEM_MAX_BYTES, &len, &why);
    int rc;

    if (pem == NULL) {
        return fail(err, errsz, "WXPAY_PLATFORM_CERT: cannot read %s: %s", file, why);
    }
    rc = cli_pem_cert_serial(pem, len, serial, sizeof serial);
    free(pem);
    if (rc != 0) {
        return fail(err, errsz,
                    "WXPAY_PLATFORM_CERT: %s holds no readable certificate (set "
                    "WXPAY_PLATFORM_KEY_KIND=public_key for a public key)",
                    file);
    }
    if (!same_serial(serial, expect)) {
        return fail(err, errsz,
                    "WXPAY_PLATFORM_SERIAL is %.64s but the certificate in %s has serial %s",
                    expect, file, serial);
    }
    return CLI_EXIT_OK;
}

/* ---- config file ---- */

struct cfgctx {
    struct cli_opts *o;
    const char *file;
    const char *dir; /* directory of the file, "" when it has none */
    size_t dirlen;
    char *err;
    size_t errsz;
};

static enum cli_exit cfg_fail(const struct cfgctx *x, const char *field, const char *why)
{
    return fail(x->err, x->errsz, "config refused: %s: %s: %s", x->file, field, why);
}

/* A JSON string member; with `is_path` relative paths are made relative to the file. */
static enum cli_exit cfg_string(const struct cfgctx *x, const cJSON *it, const char *field,
                                int is_path, int may_be_empty, const char **out)
{
    const char *v = cJSON_GetStringValue(it);
    char *s;
    size_t n;

    if (v == NULL) {
        return cfg_fail(x, field, "must be a string");
    }
    if (v[0] == '\0' && !may_be_empty) {
        return cfg_fail(x, field, "must not be empty");
    }
    if (!is_path || v[0] == '/' || x->dirlen == 0) {
        *out = own_dup(x->o, v, strlen(v));
    } else {
        n = x->dirlen + 1 + strlen(v) + 1;
        s = malloc(n);
        if (s != NULL) {
            snprintf(s, n, "%.*s/%s", (int)x->dirlen, x->dir, v);
        }
        *out = own(x->o, s);
    }
    return *out != NULL ? CLI_EXIT_OK : cfg_fail(x, field, "out of memory");
}

static enum cli_exit cfg_number(const struct cfgctx *x, const cJSON *it, const char *field, long lo,
                                long hi, long *out)
{
    char why[96];
    double d;
    if (!cJSON_IsNumber(it)) {
        return cfg_fail(x, field, "must be an integer");
    }
    d = it->valuedouble;
    if (!(d >= (double)lo && d <= (double)hi) || d != (double)(long)d) {
        snprintf(why, sizeof why, "must be an integer %ld..%ld", lo, hi);
        return cfg_fail(x, field, why);
    }
    *out = (long)d;
    return CLI_EXIT_OK;
}

/* Members of one object must be unique (cJSON keeps duplicates; lookups would see the first). */
static const cJSON *duplicate_member(const cJSON *obj)
{
    for (const cJSON *a = obj->child; a != NULL; a = a->next) {
        for (const cJSON *b = a->next; b != NULL; b = b->next) {
            if (a->string != NULL && b->string != NULL && strcmp(a->string, b->string) == 0) {
                return b;
            }
        }
    }
    return NULL;
}

static enum cli_exit cfg_pubkeys(const struct cfgctx *x, const cJSON *arr, struct layer *c)
{
    char field[96];
    size_t i = 0;
    enum cli_exit rc;

    if (!cJSON_IsArray(arr)) {
        return cfg_fail(x, "platform_public_keys", "must be an array of {\"id\",\"file\"}");
    }
    for (const cJSON *k = arr->child; k != NULL; k = k->next, i++) {
        const cJSON *dup;
        const char *id = NULL, *file = NULL;
        snprintf(field, sizeof field, "platform_public_keys[%zu]", i);
        if (!cJSON_IsObject(k)) {
            return cfg_fail(x, field, "must be an object {\"id\",\"file\"}");
        }
        dup = duplicate_member(k);
        if (dup != NULL) {
            snprintf(field, sizeof field, "platform_public_keys[%zu].%.40s", i,
                     name_shown(dup->string));
            return cfg_fail(x, field, "given twice");
        }
        for (const cJSON *m = k->child; m != NULL; m = m->next) {
            snprintf(field, sizeof field, "platform_public_keys[%zu].%.40s", i,
                     name_shown(m->string));
            if (strcmp(m->string, "id") == 0) {
                rc = cfg_string(x, m, field, 0, 0, &id);
            } else if (strcmp(m->string, "file") == 0) {
                rc = cfg_string(x, m, field, 1, 0, &file);
            } else {
                rc = cfg_fail(x, field, "unknown member");
            }
            if (rc != CLI_EXIT_OK) {
                return rc;
            }
        }
        snprintf(field, sizeof field, "platform_public_keys[%zu]", i);
        if (id == NULL || file == NULL) {
            return cfg_fail(x, field, id == NULL ? "needs \"id\"" : "needs \"file\"");
        }
        if (add_key(c->pub_files, &c->npub_files, file) != 0 ||
            add_key(c->pub_ids, &c->npub_ids, id) != 0) {
            return cfg_fail(x, field, "too many public keys");
        }
    }
    return CLI_EXIT_OK;
}

static enum cli_exit cfg_certs(const struct cfgctx *x, const cJSON *arr, struct layer *c)
{
    char field[64];
    size_t i = 0;
    enum cli_exit rc;

    if (!cJSON_IsArray(arr)) {
        return cfg_fail(x, "platform_certs", "must be an array of file names");
    }
    for (const cJSON *k = arr->child; k != NULL; k = k->next, i++) {
        const char *file = NULL;
        snprintf(field, sizeof field, "platform_certs[%zu]", i);
        rc = cfg_string(x, k, field, 1, 0, &file);
        if (rc != CLI_EXIT_OK) {
            return rc;
        }
        if (add_key(c->certs, &c->ncerts, file) != 0) {
            return cfg_fail(x, field, "too many certificates");
        }
    }
    return CLI_EXIT_OK;
}

static enum cli_exit cfg_member(const struct cfgctx *x, const cJSON *m, struct layer *c)
{
    static const struct {
        const char *name;
        enum opt_id id;
        int is_path;
    } STRINGS[] = {
        {"base_url", O_BASE_URL, 0},     {"mchid", O_MCHID, 0},
        {"mch_serial", O_MCH_SERIAL, 0}, {"mch_key", O_MCH_KEY, 1},
        {"mch_cert", O_MCH_CERT, 1},     {"accept_serial", O_ACCEPT_SERIAL, 0},
        {"ca_file", O_CA_FILE, 1},       {"apiv3_key_file", O_APIV3_KEY_FILE, 1},
    };
    const char *name = m->string;

    for (size_t i = 0; i < sizeof STRINGS / sizeof STRINGS[0]; i++) {
        if (strcmp(name, STRINGS[i].name) == 0) {
            return cfg_string(x, m, name, STRINGS[i].is_path, STRINGS[i].id == O_ACCEPT_SERIAL,
                              layer_string(c, STRINGS[i].id));
        }
    }
    for (size_t i = 0; i < sizeof NUMBERS / sizeof NUMBERS[0]; i++) {
        if (strcmp(name, NUMBERS[i].config_name) == 0) {
            return cfg_number(x, m, name, NUMBERS[i].lo, NUMBERS[i].hi,
                              layer_number(c, NUMBERS[i].id));
        }
    }
    if (strcmp(name, "apiv3_key") == 0) {
        return cfg_string(x, m, name, 0, 0, &c->apiv3_key);
    }
    if (strcmp(name, "platform_certs") == 0) {
        return cfg_certs(x, m, c);
    }
    if (strcmp(name, "platform_public_keys") == 0) {
        return cfg_pubkeys(x, m, c);
    }
    return cfg_fail(x, name_shown(name), "unknown member");
}

static enum cli_exit read_config(struct cli_opts *o, const char *file, struct layer *c, char *err,
                                 size_t errsz)
{
    struct cfgctx x = {o, file, file, 0, err, errsz};
    const char *slash = strrchr(file, '/');
    const char *why = NULL;
    const char *end = NULL;
    const cJSON *dup;
    cJSON *root = NULL;
    size_t len = 0;
    char *text = read_file(file, CONFIG_MAX_BYTES, &len, &why);
    enum cli_exit rc = CLI_EXIT_USAGE;

    if (text == NULL) {
        return fail(err, errsz, "config refused: %s: cannot read: %s", file, why);
    }
    x.dirlen = slash == NULL ? 0 : slash == file ? 1 : (size_t)(slash - file);
    if (memchr(text, '\0', len) != NULL) {
        fail(err, errsz, "config refused: %s: contains a NUL byte", file);
        goto out;
    }
    root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (root == NULL) {
        const char *at = cJSON_GetErrorPtr();
        size_t pos = at != NULL && at >= text && at <= text + len ? (size_t)(at - text) : 0;
        fail(err, errsz, "config refused: %s: not valid JSON near byte %zu", file, pos);
        goto out;
    }
    while (end != NULL && end < text + len && isspace((unsigned char)*end)) {
        end++;
    }
    if (end != text + len) {
        fail(err, errsz, "config refused: %s: trailing bytes after the JSON object", file);
        goto out;
    }
    if (!cJSON_IsObject(root)) {
        fail(err, errsz, "config refused: %s: must be a JSON object", file);
        goto out;
    }
    dup = duplicate_member(root);
    if (dup != NULL) {
        rc = cfg_fail(&x, dup->string, "given twice");
        goto out;
    }
    for (const cJSON *m = root->child; m != NULL; m = m->next) {
        rc = cfg_member(&x, m, c);
        if (rc != CLI_EXIT_OK) {
            goto out;
        }
    }
    rc = CLI_EXIT_OK;
out:
    cJSON_Delete(root);
    free(text);
    return rc;
}

/* ---- merging ---- */

static const char *pick(const char *a, const char *b, const char *c)
{
    return a != NULL ? a : b != NULL ? b : c;
}

static long pick_long(long a, long b, long c)
{
    return a >= 0 ? a : b >= 0 ? b : c >= 0 ? c : 0;
}

static int has_merchant(const struct layer *l)
{
    return l->mchid != NULL || l->mch_serial != NULL || l->mch_key != NULL || l->mch_cert != NULL;
}

static enum cli_exit merge(struct cli_opts *o, const struct layer *f, const struct layer *e,
                           const struct layer *c, const char *config_from, char *err, size_t errsz)
{
    const struct layer *layers[3] = {f, e, c};
    const struct layer *plat = NULL;

    o->mchid = pick(f->mchid, e->mchid, c->mchid);
    o->mch_serial = pick(f->mch_serial, e->mch_serial, c->mch_serial);
    o->mch_key = pick(f->mch_key, e->mch_key, c->mch_key);
    o->mch_cert = pick(f->mch_cert, e->mch_cert, c->mch_cert);
    o->accept_serial = pick(f->accept_serial, e->accept_serial, c->accept_serial);
    o->ca_file = pick(f->ca_file, e->ca_file, c->ca_file);
    /* A key file from a flag or the environment overrides the config file's key, inline or not;
     * the config file giving both is the library's error. */
    o->apiv3_key_file = pick(f->apiv3_key_file, e->apiv3_key_file, c->apiv3_key_file);
    o->apiv3_key = f->apiv3_key_file == NULL && e->apiv3_key_file == NULL ? c->apiv3_key : NULL;
    o->timeout_ms = pick_long(f->timeout_ms, e->timeout_ms, c->timeout_ms);
    o->connect_timeout_ms =
        pick_long(f->connect_timeout_ms, e->connect_timeout_ms, c->connect_timeout_ms);
    o->skew = pick_long(f->skew, e->skew, c->skew);
    o->retries = pick_long(f->retries, e->retries, c->retries);
    o->builtin_merchant = !has_merchant(f) && !has_merchant(e) && !has_merchant(c);
    o->base_url = pick(f->base_url, e->base_url, c->base_url);
    o->base_url_from = f->base_url != NULL   ? "--base-url"
                       : e->base_url != NULL ? "WXPAY_BASE_URL"
                       : c->base_url != NULL ? config_from
                       : o->builtin_merchant ? "the default of the built-in TEST merchant"
                                             : "the default";
    if (o->base_url == NULL) {
        o->base_url = o->builtin_merchant ? CLI_TEST_BASE_URL : WXPAY_DEFAULT_BASE_URL;
    }
    if (strncmp(o->base_url, "http://", 7) != 0 && strncmp(o->base_url, "https://", 8) != 0) {
        return fail(err, errsz, "the base URL must start with http:// or https://, not '%s'",
                    o->base_url);
    }

    /* The platform keys are one setting: the first source naming any key gives all of them. */
    for (size_t i = 0; i < 3 && plat == NULL; i++) {
        if (layers[i]->ncerts + layers[i]->npub_files + layers[i]->npub_ids > 0) {
            plat = layers[i];
        }
    }
    o->builtin_platform = plat == NULL;
    if (plat != NULL) {
        if (plat->npub_files != plat->npub_ids) {
            return fail(err, errsz,
                        "%zu --platform-public-key but %zu --platform-public-key-id: give one id "
                        "per key, in the same order",
                        plat->npub_files, plat->npub_ids);
        }
        memcpy(o->platform_certs, plat->certs, plat->ncerts * sizeof plat->certs[0]);
        memcpy(o->pubkey_files, plat->pub_files, plat->npub_files * sizeof plat->pub_files[0]);
        memcpy(o->pubkey_ids, plat->pub_ids, plat->npub_ids * sizeof plat->pub_ids[0]);
        if (plat == e && e->expect_serial != NULL) {
            enum cli_exit rc = check_platform_serial(e->certs[0], e->expect_serial, err, errsz);
            if (rc != CLI_EXIT_OK) {
                return rc;
            }
        }
    }
    if (o->builtin_merchant) {
        if (o->apiv3_key_file == NULL && o->apiv3_key == NULL) {
            o->apiv3_key = CLI_TEST_APIV3_KEY;
        }
        return CLI_EXIT_OK;
    }
    /* The notify commands use only the platform keys and the APIv3 key: without a merchant key
     * they run on a client for notifications only (wxpay_notify_client_new). */
    if ((o->cmd == CLI_CMD_NOTIFY_LISTEN || o->cmd == CLI_CMD_NOTIFY_VERIFY) &&
        o->mch_key == NULL) {
        o->notify_only = 1;
        if (o->apiv3_key_file == NULL && o->apiv3_key == NULL) {
            return fail(err, errsz,
                        "no APIv3 key to decrypt notifications with: give --apiv3-key-file, "
                        "WXPAY_APIV3_KEY_FILE or \"apiv3_key\" in the config file");
        }
        if (o->builtin_platform) {
            return fail(err, errsz,
                        "no platform key to verify notifications with: give --platform-cert or "
                        "--platform-public-key with --platform-public-key-id (or "
                        "WXPAY_PLATFORM_CERT)");
        }
        return CLI_EXIT_OK;
    }
    if (o->mchid == NULL) {
        return fail(err, errsz,
                    "no merchant id: give --mchid, WXPAY_MCHID or \"mchid\" in the "
                    "config file");
    }
    if (o->mch_key == NULL) {
        return fail(err, errsz,
                    "no merchant private key: give --mch-key, WXPAY_MCH_KEY or "
                    "\"mch_key\" in the config file");
    }
    if (o->mch_serial == NULL && o->mch_cert == NULL) {
        return fail(err, errsz,
                    "no merchant certificate serial: give --mch-serial or --mch-cert "
                    "(or WXPAY_MCH_SERIAL / WXPAY_MCH_CERT)");
    }
    /* The first certificate download needs no platform key (trust on first use): none is
     * configured, and none of the built-in TEST ones stands in for the merchant's. */
    if (o->builtin_platform && o->cmd == CLI_CMD_CERTIFICATES) {
        o->builtin_platform = 0;
        return CLI_EXIT_OK;
    }
    if (o->builtin_platform) {
        return fail(err, errsz,
                    "no platform key to verify answers with: give --platform-cert or "
                    "--platform-public-key with --platform-public-key-id (or "
                    "WXPAY_PLATFORM_CERT)");
    }
    return CLI_EXIT_OK;
}

enum cli_exit cli_opts_load(struct cli_opts *o, int argc, char **argv, char *err, size_t errsz)
{
    struct layer f, e, c;
    struct parsed p;
    const char *config;
    const char *config_from = "the config file";
    enum cli_exit rc;

    layer_init(&f);
    layer_init(&e);
    layer_init(&c);
    memset(&p, 0, sizeof p);
    err[0] = '\0';
    /* Known before anything can fail, so that a usage error is reported in the right form. */
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
        o->json |= strcmp(argv[i], "--json") == 0;
    }
    rc = parse_argv(o, argc, argv, &f, &p, err, errsz);
    if (rc != CLI_EXIT_OK) {
        return rc;
    }
    if (p.nwords > 0 && strcmp(p.words[0], "help") == 0) {
        o->help = 1;
    }
    if (o->help || o->version) {
        return resolve_command(o, &p, 1, err, errsz);
    }
    rc = resolve_command(o, &p, 0, err, errsz);
    if (rc == CLI_EXIT_OK) {
        rc = check_command_args(o, &p, err, errsz);
    }
    if (rc == CLI_EXIT_OK) {
        rc = read_env(&e, err, errsz);
    }
    if (rc != CLI_EXIT_OK) {
        return rc;
    }
    config = pick(f.config, e.config, NULL);
    if (config != NULL) {
        char from[CLI_PATH_MAX + 64];
        rc = read_config(o, config, &c, err, errsz);
        if (rc != CLI_EXIT_OK) {
            return rc;
        }
        snprintf(from, sizeof from, "\"base_url\" in the config file %s", config);
        config_from = own_dup(o, from, strlen(from));
        if (config_from == NULL) {
            return fail(err, errsz, "out of memory");
        }
    }
    o->tmp_base = env("TMPDIR");
    if (o->tmp_base == NULL) {
        o->tmp_base = "/tmp";
    }
    return merge(o, &f, &e, &c, config_from, err, errsz);
}
