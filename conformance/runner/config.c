/* SPDX-License-Identifier: MIT */
/* config.c: the --config FILE of server and notify modes: the merchant identity the runner signs
 * with, the platform keys it verifies answers with and the values it names, from one JSON file
 * whose members are those of wxpay's own config file (docs/conformance.md#config-file). The command
 * line wins over the file, member by member. */
#include <stdio.h>
#include <string.h>

#include <cJSON.h>

#include "conf.h"
#include "wxp/keyfile.h"
#include "wxp/keys.h"
#include "wxp/mem.h"
#include "wxp/str.h"

#define CONFIG_MAX ((size_t)256 * 1024)
#define ARENA_MAX 64
#define PATH_CAP 4096

/* Every string handed to ctx, freed by conf_config_free. */
static char *arena[ARENA_MAX];
static size_t narena;

static const char *keep_str(const char *s, size_t n)
{
    char *p;

    if (narena == ARENA_MAX) {
        return NULL;
    }
    p = wxp_malloc(n + 1);
    if (p == NULL) {
        return NULL;
    }
    memcpy(p, s, n);
    p[n] = '\0';
    arena[narena++] = p;
    return p;
}

void conf_config_free(void)
{
    for (size_t i = 0; i < narena; i++) {
        wxp_free(arena[i]);
    }
    narena = 0;
}

static int refuse(const char *path, const char *field, const char *why)
{
    fprintf(stderr, "wxpay-conformance: config refused: %s: %s%s%s\n", path, field,
            field[0] != '\0' ? ": " : "", why);
    return -1;
}

/* A string member, relative paths made relative to the file's directory when `is_path`. */
static int take(const char *path, const cJSON *m, const char *field, bool is_path, const char **dst)
{
    char buf[PATH_CAP];
    const char *slash = strrchr(path, '/');
    const char *v;
    int n;

    if (!cJSON_IsString(m) || m->valuestring == NULL) {
        return refuse(path, field, "must be a string");
    }
    v = m->valuestring;
    if (v[0] == '\0') {
        return refuse(path, field, "must not be empty");
    }
    if (is_path && v[0] != '/' && slash != NULL) {
        n = snprintf(buf, sizeof buf, "%.*s/%s", (int)(slash - path), path, v);
    } else {
        n = snprintf(buf, sizeof buf, "%s", v);
    }
    if (n < 0 || (size_t)n >= sizeof buf) {
        return refuse(path, field, "is too long");
    }
    *dst = keep_str(buf, (size_t)n);
    return *dst != NULL ? 0 : refuse(path, field, "out of memory");
}

/* Most members an object of the file may have: bounds the duplicate check below. */
#define MEMBERS_MAX 64

/* Rejects members repeated in one object (cJSON keeps both and finds the first). */
static int no_duplicates(const char *path, const cJSON *obj, const char *where)
{
    char field[128];
    int n = cJSON_GetArraySize(obj);

    if (n > MEMBERS_MAX) {
        snprintf(field, sizeof field, "%s", where[0] != '\0' ? where : "");
        return refuse(path, field, "has more than 64 members");
    }

    for (const cJSON *a = obj->child; a != NULL; a = a->next) {
        for (const cJSON *b = a->next; b != NULL; b = b->next) {
            if (strcmp(a->string, b->string) == 0) {
                snprintf(field, sizeof field, "%s%.60s", where, a->string);
                return refuse(path, field, "given twice");
            }
        }
    }
    return 0;
}

/* `skip`: checked but not kept (the command line gave platform keys). */
static int take_certs(const char *path, const cJSON *m, struct conf_context *ctx, bool skip)
{
    char field[64];
    size_t i = 0;
    const char *f = NULL;

    if (!cJSON_IsArray(m)) {
        return refuse(path, "platform_certs", "must be an array of file names");
    }
    for (const cJSON *e = m->child; e != NULL; e = e->next, i++) {
        snprintf(field, sizeof field, "platform_certs[%zu]", i);
        if (i == CONF_PLATFORM_MAX) {
            return refuse(path, field, "at most 8 platform certificates");
        }
        if (take(path, e, field, true, &f) != 0) {
            return -1;
        }
        if (!skip) {
            ctx->platform_certs[ctx->nplatform_certs++] = f;
        }
    }
    return 0;
}

static int take_pubkeys(const char *path, const cJSON *m, struct conf_context *ctx)
{
    char field[64];
    size_t i = 0;

    if (!cJSON_IsArray(m)) {
        return refuse(path, "platform_public_keys", "must be an array of {\"id\",\"file\"}");
    }
    for (const cJSON *e = m->child; e != NULL; e = e->next, i++) {
        const cJSON *id, *file;
        const char *id_s = NULL, *file_s = NULL;

        snprintf(field, sizeof field, "platform_public_keys[%zu]", i);
        if (i == CONF_PLATFORM_MAX) {
            return refuse(path, field, "at most 8 platform public keys");
        }
        if (!cJSON_IsObject(e)) {
            return refuse(path, field, "must be an object {\"id\",\"file\"}");
        }
        if (no_duplicates(path, e, "platform_public_keys[].") != 0) {
            return -1;
        }
        for (const cJSON *x = e->child; x != NULL; x = x->next) {
            if (strcmp(x->string, "id") != 0 && strcmp(x->string, "file") != 0) {
                snprintf(field, sizeof field, "platform_public_keys[%zu].%.30s", i, x->string);
                return refuse(path, field, "unknown member (id, file)");
            }
        }
        id = cJSON_GetObjectItemCaseSensitive(e, "id");
        file = cJSON_GetObjectItemCaseSensitive(e, "file");
        if (id == NULL || file == NULL) {
            snprintf(field, sizeof field, "platform_public_keys[%zu].%s", i,
                     id == NULL ? "id" : "file");
            return refuse(path, field, "is required");
        }
        snprintf(field, sizeof field, "platform_public_keys[%zu].id", i);
        if (take(path, id, field, false, &id_s) != 0) {
            return -1;
        }
        snprintf(field, sizeof field, "platform_public_keys[%zu].file", i);
        if (take(path, file, field, true, &file_s) != 0) {
            return -1;
        }
        ctx->platform_pubkey_ids[i] = id_s;
        ctx->platform_pubkeys[i] = file_s;
    }
    ctx->nplatform_pubkeys = i;
    ctx->nplatform_pubkey_ids = i;
    return 0;
}

int conf_config_load(const char *path, struct conf_context *ctx)
{
    /* rows: member, where it goes, whether it is a file name */
    const struct {
        const char *name;
        const char **dst;
        bool is_path;
        bool merchant;
    } STRINGS[] = {
        {"base_url", &ctx->base_url, false, false},
        {"mchid", &ctx->mchid, false, true},
        {"mch_serial", &ctx->mch_serial, false, true},
        {"mch_key", &ctx->mch_key_file, true, true},
        {"mch_cert", &ctx->mch_cert_file, true, true},
        {"appid", &ctx->appid, false, false},
        {"service_id", &ctx->service_id, false, false},
        {"other_appid", &ctx->other_appid, false, false},
        {"openid_prefix", &ctx->openid_prefix, false, false},
        {"ca_file", &ctx->ca_file, true, false},
        {"apiv3_key_file", &ctx->apiv3_key_file, true, false},
        {"apiv3_key", &ctx->apiv3_key, false, false},
        {"notify_url", &ctx->notify_url, false, false},
        {"platform_key", &ctx->platform_key_file, true, false},
        {"platform_serial", &ctx->platform_serial, false, false},
    };
    /* the command line's platform keys replace the file's as a whole */
    bool platform_from_cli = ctx->nplatform_certs > 0 || ctx->nplatform_pubkeys > 0;
    char *text = NULL;
    size_t len = 0;
    cJSON *root = NULL;
    const char *end = NULL;
    struct wxp_err err;
    int ret = -1;

    if (wxp_file_read(path, CONFIG_MAX, &text, &len, &err) != WXP_OK) {
        return refuse(path, "", err.msg);
    }
    root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (root == NULL || !cJSON_IsObject(root)) {
        refuse(path, "", "is not a JSON object");
        goto out;
    }
    while (end != NULL && end < text + len && strchr(" \t\r\n", *end) != NULL) {
        end++;
    }
    if (end != text + len) {
        refuse(path, "", "has text after the JSON object");
        goto out;
    }
    if (no_duplicates(path, root, "") != 0) {
        goto out;
    }
    for (const cJSON *m = root->child; m != NULL; m = m->next) {
        size_t i;
        bool done = false;

        for (i = 0; i < sizeof STRINGS / sizeof STRINGS[0]; i++) {
            const char *v = NULL;
            if (strcmp(m->string, STRINGS[i].name) != 0) {
                continue;
            }
            if (take(path, m, m->string, STRINGS[i].is_path, &v) != 0) {
                goto out;
            }
            if ((STRINGS[i].dst == &ctx->base_url || STRINGS[i].dst == &ctx->notify_url) &&
                strncmp(v, "http://", 7) != 0 && strncmp(v, "https://", 8) != 0) {
                refuse(path, m->string, "must be an http:// or https:// URL");
                goto out;
            }
            if (*STRINGS[i].dst == NULL) {
                *STRINGS[i].dst = v;
                ctx->merchant_given = ctx->merchant_given || STRINGS[i].merchant;
            }
            done = true;
        }
        if (done) {
            continue;
        }
        if (strcmp(m->string, "timeout_ms") == 0) {
            if (!cJSON_IsNumber(m) || m->valuedouble < 1 || m->valuedouble > 600000 ||
                m->valuedouble != (double)(long)m->valuedouble) {
                refuse(path, "timeout_ms", "must be an integer 1..600000");
                goto out;
            }
            if (ctx->timeout_ms == 0) {
                ctx->timeout_ms = (long)m->valuedouble;
            }
        } else if (strcmp(m->string, "platform_certs") == 0) {
            if (take_certs(path, m, ctx, platform_from_cli) != 0) {
                goto out;
            }
        } else if (strcmp(m->string, "platform_public_keys") == 0) {
            if (!platform_from_cli && take_pubkeys(path, m, ctx) != 0) {
                goto out;
            }
        } else {
            char field[80];
            snprintf(field, sizeof field, "%.60s", m->string);
            refuse(path, field,
                   "unknown member (base_url, mchid, mch_serial, mch_key, mch_cert, "
                   "platform_certs, platform_public_keys, appid, service_id, other_appid, "
                   "openid_prefix, ca_file, timeout_ms, apiv3_key_file, apiv3_key, notify_url, "
                   "platform_key, platform_serial)");
            goto out;
        }
    }
    ret = 0;
out:
    cJSON_Delete(root);
    wxp_free(text);
    return ret;
}

/* rule: the APIv3 key is 32 bytes; a file holding it may end with one newline (as wxpay reads
 * apiv3_key_file). src: docs/conformance.md#the-apiv3-key */
int conf_apiv3_key(const struct conf_context *ctx, unsigned char key[32])
{
    char *text = NULL;
    size_t len = 0;
    struct wxp_err err;
    int ret = -1;

    if (ctx->apiv3_key_file != NULL && ctx->apiv3_key != NULL) {
        fprintf(stderr, "wxpay-conformance: give the APIv3 key once: --apiv3-key-file or "
                        "--apiv3-key (or apiv3_key_file / apiv3_key in the config)\n");
        return -1;
    }
    if (ctx->apiv3_key != NULL) {
        if (strlen(ctx->apiv3_key) != 32) {
            fprintf(stderr, "wxpay-conformance: the APIv3 key must be 32 bytes, not %zu\n",
                    strlen(ctx->apiv3_key));
            return -1;
        }
        memcpy(key, ctx->apiv3_key, 32);
        return 1;
    }
    if (ctx->apiv3_key_file == NULL) {
        return 0;
    }
    if (wxp_file_read(ctx->apiv3_key_file, 256, &text, &len, &err) != WXP_OK) {
        fprintf(stderr, "wxpay-conformance: APIv3 key file: %s\n", err.msg);
        return -1;
    }
    if (len > 0 && text[len - 1] == '\n') {
        len--;
        if (len > 0 && text[len - 1] == '\r') {
            len--;
        }
    }
    if (len != 32) {
        fprintf(stderr,
                "wxpay-conformance: APIv3 key file %s: must hold 32 bytes (and at most one "
                "newline), not %zu\n",
                wxp_keyfile_shown(ctx->apiv3_key_file), len);
    } else {
        memcpy(key, text, 32);
        ret = 1;
    }
    for (size_t i = 0; i < len; i++) {
        ((volatile char *)text)[i] = 0;
    }
    wxp_free(text);
    return ret;
}
