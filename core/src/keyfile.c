/* SPDX-License-Identifier: MIT */
/* keyfile.c: permission warnings for private key files, and file names safe to echo. */
#include "wxp/keyfile.h"

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "wxp/keys.h"
#include "wxp/mem.h"
#include "wxp/str.h"

/* The certificates of every private key in fixtures/ (TEST ONLY, public), embedded at build time
 * by wxp_embed in core/CMakeLists.txt, so a copy of a fixture key anywhere is recognised. */
extern const char wxp_testkey_merchant_a[];
extern const char wxp_testkey_merchant_b[];
extern const char wxp_testkey_platform[];
extern const char wxp_testkey_platform_next[];
extern const char wxp_testkey_platform_expired[];
extern const char wxp_testkey_wrong[];
extern const char wxp_testkey_ec[];
extern const char wxp_testkey_tls_ca[];
extern const char wxp_testkey_tls_server[];

static const char *const TEST_CERTS[] = {
    wxp_testkey_merchant_a,
    wxp_testkey_merchant_b,
    wxp_testkey_platform,
    wxp_testkey_wrong,
    wxp_testkey_ec,
    wxp_testkey_tls_ca,
    wxp_testkey_tls_server,
    wxp_testkey_platform_next,
    wxp_testkey_platform_expired,
};

/* Short enough for struct wxp_err's field (64 bytes). */
static const char NOT_SHOWN[] = "(not shown: looks like key material, not a file name)";

const char *wxp_keyfile_shown(const char *path)
{
    size_t n = 0;

    if (path == NULL) {
        return "(none)";
    }
    for (; path[n] != '\0'; n++) {
        unsigned char ch = (unsigned char)path[n];
        if (ch < 0x20 || ch == 0x7F || n >= WXP_KEYFILE_NAME_SHOWN_MAX) {
            return NOT_SHOWN;
        }
    }
    if (strstr(path, "-----") != NULL) {
        return NOT_SHOWN;
    }
    return path;
}

bool wxp_looks_like_key(const char *s)
{
    size_t run = 0;

    if (s == NULL) {
        return false;
    }
    if (strstr(s, "-----") != NULL) {
        return true;
    }
    for (; *s != '\0'; s++) {
        unsigned char ch = (unsigned char)*s;
        bool b64 = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
                   (ch >= '0' && ch <= '9') || ch == '+' || ch == '/' || ch == '=';
        if (ch < 0x20 || ch == 0x7F) {
            return true;
        }
        run = b64 ? run + 1 : 0;
        if (run >= WXP_KEYLIKE_RUN) {
            return true;
        }
    }
    return false;
}

const char *wxp_name_shown(const char *s)
{
    return wxp_looks_like_key(s) ? "(not shown: looks like key material)" : s;
}

static char empty_passphrase[] = "";

/* True when pem[0..len) holds a private key whose public half is one of TEST_CERTS'. */
static bool is_test_key(const char *pem, size_t len)
{
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    EVP_PKEY *key = NULL;
    bool found = false;

    if (bio == NULL) {
        goto out;
    }
    /* An empty passphrase: an encrypted key is not a fixture, and must not prompt. */
    key = PEM_read_bio_PrivateKey(bio, NULL, NULL, empty_passphrase);
    if (key == NULL) {
        goto out;
    }
    for (size_t i = 0; i < sizeof TEST_CERTS / sizeof TEST_CERTS[0] && !found; i++) {
        BIO *cb = BIO_new_mem_buf(TEST_CERTS[i], -1);
        X509 *x = cb != NULL ? PEM_read_bio_X509(cb, NULL, NULL, NULL) : NULL;
        found = x != NULL && EVP_PKEY_eq(X509_get0_pubkey(x), key) == 1;
        X509_free(x);
        BIO_free(cb);
    }
out:
    EVP_PKEY_free(key);
    BIO_free(bio);
    /* Parse failures here are not errors of the caller: leave no stale entries behind. */
    ERR_clear_error();
    return found;
}

/* Reads at most WXP_PEM_MAX bytes of `f` into a new buffer; NULL on failure. */
static char *read_capped(FILE *f, size_t *len)
{
    char *buf = wxp_malloc(WXP_PEM_MAX);
    size_t n = 0;
    size_t got;

    *len = 0;
    if (buf == NULL) {
        return NULL;
    }
    while (n < WXP_PEM_MAX && (got = fread(buf + n, 1, WXP_PEM_MAX - n, f)) > 0) {
        n += got;
    }
    *len = n;
    return buf;
}

bool wxp_keyfile_warning(const char *path, char *warn, size_t cap)
{
    struct stat st;
    FILE *f;
    char *pem = NULL;
    size_t len = 0;
    unsigned mode;
    bool test_key;

    if (cap > 0) {
        warn[0] = '\0';
    }
    /* stat before opening: opening a named pipe would block until a writer comes. */
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) || (st.st_mode & 077) == 0) {
        return false;
    }
    f = fopen(path, "rb");
    if (f == NULL) {
        return false;
    }
    /* Then fstat on what was opened: the mode reported is the mode of the bytes read. */
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode) || (st.st_mode & 077) == 0) {
        fclose(f);
        return false;
    }
    pem = read_capped(f, &len);
    fclose(f);
    test_key = pem != NULL && is_test_key(pem, len);
    if (pem != NULL) {
        OPENSSL_cleanse(pem, len);
        wxp_free(pem);
    }
    if (test_key) {
        return false;
    }
    mode = (unsigned)(st.st_mode & 07777);
    /* rule: a private key file must not be open to anyone but its owner (OpenSSH's
     * sshkey_perm_ok refuses mode & 077). src: docs/reliability.md#security */
    if (cap > 0) {
        char shown[WXP_PATH_IN_MSG];
        wxp_str_tail(shown, sizeof shown, wxp_keyfile_shown(path));
        snprintf(warn, cap, "private key %s is %s (mode %04o); run chmod 600 %s", shown,
                 (mode & 044) != 0 ? "readable by others" : "open to group or others", mode, shown);
    }
    return true;
}
