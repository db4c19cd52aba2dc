/* SPDX-License-Identifier: MIT */
/* cli.h: the wxpay command's settings. opts.c merges them from flags, the environment, a config
 * file and the built-in TEST defaults (in that order of precedence); main.c runs the command. */
#ifndef WXPAY_CLI_H
#define WXPAY_CLI_H

#include <stddef.h>
#include <stdio.h>

#if defined(__GNUC__)
#define CLI_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define CLI_PRINTF(fmt, args)
#endif

/* Platform certificates and public keys accepted from one source, each. */
#define CLI_MAX_KEYS 16
/* Error and hint lines: room for a whole path (PATH_MAX on Linux) and its reason, so a message
 * never cuts the file name, the part a user needs. */
#define CLI_PATH_MAX 4096
#define CLI_ERR_MAX (CLI_PATH_MAX + 1024)

/* The built-in TEST ONLY identity: fixtures/ merchant A against a default wxpay-mock. */
#define CLI_TEST_MCHID "1900000109"
#define CLI_TEST_BASE_URL "http://127.0.0.1:8080"
#define CLI_TEST_PUBKEY_ID "PUB_KEY_ID_0119000001092025112400000000000001"
/* Merchant A's APIv3 key: TEST ONLY, fixed and published (fixtures/README.md). */
#define CLI_TEST_APIV3_KEY "TestOnlyApiV3KeyA1900000109zYxWv"

/* NUL-terminated PEM texts compiled in from fixtures/ (generated embedded.c). TEST ONLY. */
extern const char cli_embed_merchant_key[];
extern const char cli_embed_merchant_cert[];
extern const char cli_embed_platform_cert[];
extern const char cli_embed_platform_pubkey[];

/* Exit status of the command (documented in --help and docs/client.md). */
enum cli_exit {
    CLI_EXIT_OK = 0,        /* a 2xx whose signature verified */
    CLI_EXIT_WECHAT = 1,    /* a non-2xx answer */
    CLI_EXIT_USAGE = 2,     /* bad flags, missing option, unknown command, bad configuration */
    CLI_EXIT_VERIFY = 3,    /* a 2xx whose signature failed: treat as forged */
    CLI_EXIT_TRANSPORT = 4, /* no HTTP answer */
    CLI_EXIT_LOCAL = 5,     /* input refused before sending (e.g. reason too long) */
    CLI_EXIT_NOTIFY = 6     /* notify verify: authentic, but the body is unusable (wrong APIv3
                               key, malformed envelope) */
};

enum cli_cmd {
    CLI_CMD_NONE = 0,
    CLI_CMD_TERMINATE,     /* payscore permissions terminate (by openid or by authorization code) */
    CLI_CMD_REQUEST,       /* request METHOD PATH */
    CLI_CMD_APPLY,         /* payscore permissions apply */
    CLI_CMD_QUERY,         /* payscore permissions query (by openid or by authorization code) */
    CLI_CMD_CALL,          /* call OPERATION NAME=VALUE... */
    CLI_CMD_CERTIFICATES,  /* certificates [--out DIR]: GET /v3/certificates */
    CLI_CMD_NOTIFY_LISTEN, /* notify listen --port N: receive notifications (notify.c) */
    CLI_CMD_NOTIFY_VERIFY  /* notify verify --headers FILE --body FILE: check a saved one */
};

/* Parameters of one `call` (an operation has at most 16: the core's WXP_SCHEMA_MAX_FIELDS). */
#define CLI_MAX_PARAMS 16

/* Every `const char *` borrows from argv, the environment or `owned`; NULL means unset. */
struct cli_opts {
    enum cli_cmd cmd;
    int help;
    int version;
    int json;
    int verbose;
    /* No merchant setting anywhere: use the TEST merchant 1900000109 (embedded key). */
    int builtin_merchant;
    /* No platform key anywhere: use the embedded TEST platform certificate and public key. */
    int builtin_platform;
    int notify_only; /* notify listen/verify without a merchant key: wxpay_notify_client_new */

    const char *base_url;      /* always set after cli_opts_load */
    const char *base_url_from; /* where base_url came from, e.g. "WXPAY_BASE_URL" (for hints) */
    const char *mchid;
    const char *mch_serial;
    const char *mch_key;
    const char *mch_cert;
    const char *accept_serial; /* "" = send no Wechatpay-Serial */
    const char *ca_file;
    const char *apiv3_key_file; /* --apiv3-key-file, WXPAY_APIV3_KEY_FILE, config apiv3_key_file */
    const char *apiv3_key;      /* config apiv3_key; the TEST key with the built-in merchant */
    const char *out_dir;        /* certificates --out */
    const char *platform_certs[CLI_MAX_KEYS + 1]; /* NULL-terminated */
    const char *pubkey_files[CLI_MAX_KEYS + 1];   /* NULL-terminated */
    const char *pubkey_ids[CLI_MAX_KEYS + 1];     /* same length as pubkey_files */
    long timeout_ms;                              /* 0: the library's default */
    long connect_timeout_ms;
    long skew;
    long retries;
    const char *tmp_base; /* $TMPDIR, else /tmp: where the built-in keys are written */

    /* Command arguments. */
    const char *openid;
    const char *service_id;
    const char *appid;
    const char *reason;
    const char *authorization_code;
    const char *notify_url;
    /* call: the operation's name and its NAME=VALUE parameters (names owned, values borrowed);
     * with from_env, OPERATION and the parameters not given come from WXPAY_OPERATION and
     * WXPAY_<NAME>. */
    const char *operation;
    const char *param_names[CLI_MAX_PARAMS];
    const char *param_values[CLI_MAX_PARAMS];
    size_t nparams;
    int from_env;
    const char *method;
    const char *path;  /* without its '?query' */
    const char *query; /* NULL: none */
    const char *data;  /* NULL: no body; --data @FILE and --data - are read in by then */

    /* notify listen / notify verify */
    long port;                /* --port, 0..65535; -1 unset */
    const char *bind;         /* --bind, default 127.0.0.1 */
    const char *ready_file;   /* --ready-file: written with the URL once listening */
    long count;               /* --count: exit after this many valid notifications; 0 never */
    long fail_first;          /* --fail-first: answer this many valid notifications 500; 0 none */
    int allow_remote;         /* --allow-remote: --bind may be a non-loopback address */
    const char *headers_file; /* --headers: "Name: value" lines, as curl -D writes them */
    const char *body_file;    /* --body: the body exactly as received */

    char **owned; /* strings allocated while loading; freed by cli_opts_free */
    size_t nowned;
};

void cli_opts_init(struct cli_opts *o);

/* Parses argv, reads the environment and the config file, and merges them. Returns CLI_EXIT_OK,
 * or CLI_EXIT_USAGE with one line in `err` (no prefix, no newline). o->json and o->verbose are
 * set even when it fails. With o->help or o->version set, nothing else is checked. */
enum cli_exit cli_opts_load(struct cli_opts *o, int argc, char **argv, char *err, size_t errsz);

/* NULL-safe on the members; leaves `o` initialised. */
void cli_opts_free(struct cli_opts *o);

/* --help text: the general one for CLI_CMD_NONE, else the command's. */
void cli_usage(FILE *out, enum cli_cmd cmd);

/* The serial number of the first certificate in a PEM text, as upper-case hex without leading
 * zero bytes (as `openssl x509 -noout -serial` prints it). Returns 0, or -1 when there is no
 * parsable certificate or `hex` is too small. Reads at most `len` bytes of `pem`. */
int cli_pem_cert_serial(const char *pem, size_t len, char *hex, size_t hexsz);

/* notify.c: the notify commands on a client made from the options (they need its APIv3 key).
 * Each prints what it found and returns the exit status. */
struct wxpay_client;
enum cli_exit cli_notify_listen(const struct cli_opts *o, struct wxpay_client *c);
enum cli_exit cli_notify_verify(const struct cli_opts *o, struct wxpay_client *c);

#endif
