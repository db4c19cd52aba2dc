/* SPDX-License-Identifier: MIT */
/* keys.c: PEM loading through OpenSSL 3's EVP and OSSL_DECODER-backed PEM readers. */
#include "wxp/keys.h"

#include <errno.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/decoder.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "key_internal.h"
#include "wxp/keyfile.h"
#include "wxp/mem.h"
#include "wxp/str.h"

enum wxp_key_kind wxp_key_kind(const struct wxp_key *k)
{
    return k->kind;
}

const char *wxp_key_id(const struct wxp_key *k)
{
    return k->id;
}

int wxp_key_bits(const struct wxp_key *k)
{
    return EVP_PKEY_get_bits(k->pkey);
}

bool wxp_key_same_public(const struct wxp_key *a, const struct wxp_key *b)
{
    return EVP_PKEY_eq(a->pkey, b->pkey) == 1;
}

void wxp_key_free(struct wxp_key *k)
{
    if (k == NULL) {
        return;
    }
    EVP_PKEY_free(k->pkey);
    wxp_free(k);
}

enum wxp_code wxp_key_share(const struct wxp_key *k, struct wxp_key **out, struct wxp_err *err)
{
    struct wxp_key *c = wxp_malloc(sizeof *c);

    *out = NULL;
    if (c == NULL || EVP_PKEY_up_ref(k->pkey) != 1) {
        wxp_free(c);
        return wxp_err_set(err, WXP_E_NOMEM, NULL, NULL);
    }
    *c = *k;
    *out = c;
    return WXP_OK;
}

/* rule: ids are printable ASCII without quotes or spaces (serials are hex, key ids
 * PUB_KEY_ID_ + digits). src: docs/protocol.md#keys */
enum wxp_code wxp_key_set_id(struct wxp_key *k, const char *id, struct wxp_err *err)
{
    size_t n = strlen(id);

    if (n == 0 || n >= sizeof k->id) {
        return wxp_err_set(err, WXP_E_KEY_ID, "id", "key id must be 1..%d characters, got %zu",
                           WXP_KEY_ID_MAX, n);
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)id[i];
        if (c <= 0x20 || c >= 0x7F || c == '"' || c == ',') {
            return wxp_err_set(err, WXP_E_KEY_ID, "id",
                               "key id has a character that is not allowed at offset %zu", i);
        }
    }
    memcpy(k->id, id, n + 1);
    return WXP_OK;
}

/* Wraps an EVP_PKEY after checking it is RSA of at least 2048 bits. Takes ownership of pkey. */
static enum wxp_code wrap(EVP_PKEY *pkey, enum wxp_key_kind kind, struct wxp_key **out,
                          struct wxp_err *err)
{
    struct wxp_key *k;
    int bits;

    int type = EVP_PKEY_get_base_id(pkey);

    if (type != EVP_PKEY_RSA) {
        EVP_PKEY_free(pkey);
        return wxp_err_set(err, WXP_E_KEY_NOT_RSA, NULL,
                           "key type is %s; APIv3 uses RSA (WECHATPAY2-SHA256-RSA2048)",
                           type == NID_undef ? "unknown" : OBJ_nid2sn(type));
    }
    bits = EVP_PKEY_get_bits(pkey);
    if (bits < WXP_KEY_MIN_BITS) {
        EVP_PKEY_free(pkey);
        return wxp_err_set(err, WXP_E_KEY_TOO_SMALL, NULL,
                           "RSA key has %d bits; at least %d are required", bits, WXP_KEY_MIN_BITS);
    }
    k = wxp_malloc(sizeof *k);
    if (k == NULL) {
        EVP_PKEY_free(pkey);
        return wxp_err_set(err, WXP_E_NOMEM, NULL, NULL);
    }
    k->pkey = pkey;
    k->kind = kind;
    k->id[0] = '\0';
    *out = k;
    return WXP_OK;
}

/* A read-only BIO over PEM text, after the size check every loader makes. */
static enum wxp_code pem_bio(const char *pem, size_t len, BIO **out, struct wxp_err *err)
{
    *out = NULL;
    if (len > WXP_PEM_MAX) {
        return wxp_err_set(err, WXP_E_TOO_LARGE, NULL, "PEM text is larger than %d bytes",
                           WXP_PEM_MAX);
    }
    *out = BIO_new_mem_buf(pem, (int)len);
    if (*out == NULL) {
        return wxp_err_openssl(err, WXP_E_NOMEM, "cannot wrap PEM text");
    }
    return WXP_OK;
}

static char empty_passphrase[] = "";

/* An RSA private key (PKCS#8 or PKCS#1 PEM, unencrypted) from bio, or NULL. */
static EVP_PKEY *rsa_private(BIO *bio)
{
    EVP_PKEY *pkey = NULL;
    OSSL_DECODER_CTX *d =
        OSSL_DECODER_CTX_new_for_pkey(&pkey, "PEM", NULL, "RSA", EVP_PKEY_KEYPAIR, NULL, NULL);

    if (d == NULL) {
        return NULL;
    }
    if (OSSL_DECODER_CTX_set_passphrase(d, (const unsigned char *)empty_passphrase, 0) != 1 ||
        OSSL_DECODER_from_bio(d, bio) != 1) {
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }
    OSSL_DECODER_CTX_free(d);
    return pkey;
}

enum wxp_code wxp_key_private_pem(const char *pem, size_t len, struct wxp_key **out,
                                  struct wxp_err *err)
{
    EVP_PKEY *pkey;
    BIO *bio;
    enum wxp_code rc;

    *out = NULL;
    rc = pem_bio(pem, len, &bio, err);
    if (rc != WXP_OK) {
        return rc;
    }
    /* An RSA key is decoded as one first: asked for any key, OpenSSL 3.0 builds a chain of every
     * decoder it has, 3.5 times the work (280 against 80 µs here), and the platform key is what
     * wxpay-mock parses at start (docs/performance.md#start-up). Any other key, or none, then goes
     * the general way, which gives the error. An empty passphrase: an encrypted key fails
     * instead of prompting. */
    pkey = rsa_private(bio);
    if (pkey == NULL) {
        ERR_clear_error();
        (void)BIO_reset(bio);
        pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, empty_passphrase);
    }
    BIO_free(bio);
    if (pkey == NULL) {
        return wxp_err_openssl(err, WXP_E_KEY_PEM,
                               "no unencrypted private key (BEGIN PRIVATE KEY or BEGIN RSA "
                               "PRIVATE KEY) found");
    }
    return wrap(pkey, WXP_KEY_PRIVATE, out, err);
}

/* Serial as uppercase hex of its minimal big-endian bytes: what wechatpay-go's
 * fmt.Sprintf("%X", SerialNumber.Bytes()) gives. src: docs/protocol.md#keys */
static enum wxp_code serial_hex(X509 *x, char *out, size_t cap, struct wxp_err *err)
{
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
    char *hex;
    size_t n;

    if (bn == NULL) {
        return wxp_err_openssl(err, WXP_E_CRYPTO, "cannot read certificate serial");
    }
    if (BN_is_negative(bn)) {
        BN_free(bn);
        return wxp_err_set(err, WXP_E_KEY_ID, "serial", "certificate serial is negative");
    }
    hex = BN_bn2hex(bn);
    BN_free(bn);
    if (hex == NULL) {
        return wxp_err_openssl(err, WXP_E_NOMEM, "cannot format certificate serial");
    }
    n = strlen(hex);
    if (n >= cap) {
        OPENSSL_free(hex);
        return wxp_err_set(err, WXP_E_KEY_ID, "serial", "certificate serial is too long");
    }
    memcpy(out, hex, n + 1);
    OPENSSL_free(hex);
    return WXP_OK;
}

enum wxp_code wxp_key_cert_pem(const char *pem, size_t len, struct wxp_key **out,
                               struct wxp_err *err)
{
    X509 *x;
    EVP_PKEY *pkey;
    BIO *bio;
    char serial[WXP_KEY_ID_MAX + 1];
    enum wxp_code rc;

    *out = NULL;
    rc = pem_bio(pem, len, &bio, err);
    if (rc != WXP_OK) {
        return rc;
    }
    x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    BIO_free(bio);
    if (x == NULL) {
        return wxp_err_openssl(err, WXP_E_KEY_PEM, "no certificate (BEGIN CERTIFICATE) found");
    }
    rc = serial_hex(x, serial, sizeof serial, err);
    if (rc != WXP_OK) {
        X509_free(x);
        return rc;
    }
    pkey = X509_get_pubkey(x);
    X509_free(x);
    if (pkey == NULL) {
        return wxp_err_openssl(err, WXP_E_KEY_PEM, "certificate has no usable public key");
    }
    rc = wrap(pkey, WXP_KEY_CERT, out, err);
    if (rc != WXP_OK) {
        return rc;
    }
    memcpy((*out)->id, serial, strlen(serial) + 1);
    return WXP_OK;
}

enum wxp_code wxp_key_pubkey_pem(const char *pem, size_t len, const char *id, struct wxp_key **out,
                                 struct wxp_err *err)
{
    EVP_PKEY *pkey;
    BIO *bio;
    enum wxp_code rc;

    *out = NULL;
    rc = pem_bio(pem, len, &bio, err);
    if (rc != WXP_OK) {
        return rc;
    }
    pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
    BIO_free(bio);
    if (pkey == NULL) {
        return wxp_err_openssl(err, WXP_E_KEY_PEM, "no public key (BEGIN PUBLIC KEY) found");
    }
    rc = wrap(pkey, WXP_KEY_PUBKEY, out, err);
    if (rc != WXP_OK) {
        return rc;
    }
    rc = wxp_key_set_id(*out, id ? id : "", err);
    if (rc != WXP_OK) {
        wxp_key_free(*out);
        *out = NULL;
    }
    return rc;
}

enum wxp_code wxp_file_read(const char *path, size_t max, char **out, size_t *len,
                            struct wxp_err *err)
{
    FILE *f;
    char *buf = NULL;
    size_t n = 0;
    size_t cap = 0;
    enum wxp_code rc = WXP_OK;
    /* PEM text given where a file name belongs must not come back in the message; a long path
     * keeps its end, so the message keeps its reason. */
    char shown[WXP_PATH_IN_MSG];

    wxp_str_tail(shown, sizeof shown, wxp_keyfile_shown(path));

    *out = NULL;
    *len = 0;
    f = fopen(path, "rb");
    if (f == NULL) {
        return wxp_err_set(err, WXP_E_IO, shown, "cannot open %s: %s", shown, strerror(errno));
    }
    for (;;) {
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 4096;
            char *p;
            if (cap > max) {
                rc = wxp_err_set(err, WXP_E_TOO_LARGE, shown, "%s is larger than %zu bytes", shown,
                                 max);
                goto out;
            }
            p = wxp_malloc(ncap + 1);
            if (p == NULL) {
                rc = wxp_err_set(err, WXP_E_NOMEM, shown, NULL);
                goto out;
            }
            if (buf != NULL) {
                memcpy(p, buf, n);
                OPENSSL_cleanse(buf, cap);
                wxp_free(buf);
            }
            buf = p;
            cap = ncap;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            break;
        }
    }
    if (ferror(f)) {
        rc = wxp_err_set(err, WXP_E_IO, shown, "cannot read %s: %s", shown, strerror(errno));
        goto out;
    }
    if (n > max) {
        rc = wxp_err_set(err, WXP_E_TOO_LARGE, shown, "%s is larger than %zu bytes", shown, max);
        goto out;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    buf = NULL;
out:
    if (buf != NULL) {
        OPENSSL_cleanse(buf, cap);
        wxp_free(buf);
    }
    fclose(f);
    return rc;
}

/* Loads with `load` from the file's bytes, then wipes them (they may hold a private key). */
static enum wxp_code from_file(const char *path, const char *id, enum wxp_key_kind kind,
                               struct wxp_key **out, struct wxp_err *err)
{
    char *pem;
    size_t len;
    enum wxp_code rc;

    *out = NULL;
    rc = wxp_file_read(path, WXP_PEM_MAX, &pem, &len, err);
    if (rc != WXP_OK) {
        return rc;
    }
    switch (kind) {
    case WXP_KEY_PRIVATE:
        rc = wxp_key_private_pem(pem, len, out, err);
        break;
    case WXP_KEY_CERT:
        rc = wxp_key_cert_pem(pem, len, out, err);
        break;
    case WXP_KEY_PUBKEY:
        rc = wxp_key_pubkey_pem(pem, len, id, out, err);
        break;
    }
    OPENSSL_cleanse(pem, len);
    wxp_free(pem);
    if (rc != WXP_OK && err != NULL && err->field[0] == '\0') {
        /* A long path keeps its end: the file name is what the reader needs. */
        wxp_str_tail(err->field, sizeof err->field, wxp_keyfile_shown(path));
    }
    return rc;
}

enum wxp_code wxp_key_private_file(const char *path, struct wxp_key **out, struct wxp_err *err)
{
    return from_file(path, NULL, WXP_KEY_PRIVATE, out, err);
}

enum wxp_code wxp_key_cert_file(const char *path, struct wxp_key **out, struct wxp_err *err)
{
    return from_file(path, NULL, WXP_KEY_CERT, out, err);
}

enum wxp_code wxp_key_pubkey_file(const char *path, const char *id, struct wxp_key **out,
                                  struct wxp_err *err)
{
    return from_file(path, id, WXP_KEY_PUBKEY, out, err);
}
