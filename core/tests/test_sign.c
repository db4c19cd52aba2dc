/* SPDX-License-Identifier: MIT */
/* test_sign.c: SHA256withRSA against the openssl-CLI vectors (fixtures/vectors/rsa-sha256.json). */
#include <stdbool.h>
#include <string.h>

#include <cJSON.h>

#include "testutil.h"
#include "wxp/base64.h"
#include "wxp/mem.h"
#include "wxp/sign.h"

#define VECTORS "vectors/rsa-sha256.json"
#define MIN_CASES 10
/* 2048-bit keys: 256-byte signatures, 344 base64 characters ending "==". */
#define SIG_B64_LEN 344

/* Which certificate (and public key) verifies which private key. */
struct identity {
    const char *key;
    const char *cert;
    const char *pubkey; /* NULL when there is none */
};

static const struct identity IDS[] = {
    {"keys/test-merchant-a.key.pem", "certs/test-merchant-a.cert.pem", NULL},
    {"keys/test-merchant-b.key.pem", "certs/test-merchant-b.cert.pem", NULL},
    {"keys/test-platform.key.pem", "certs/test-platform.cert.pem", "keys/test-platform.pub.pem"},
    {"keys/test-wrong.key.pem", "certs/test-wrong.cert.pem", NULL},
};
#define NIDS (sizeof IDS / sizeof IDS[0])

struct vcase {
    char name[96];
    size_t id; /* index into IDS */
    unsigned char *msg;
    size_t msglen;
    char sig[WXP_SIG_B64_MAX];
    size_t siglen;
};

struct fixture {
    struct vcase *cases;
    size_t n;
    struct wxp_key *priv[NIDS];
    struct wxp_key *cert[NIDS];
    struct wxp_key *pub[NIDS];
};

static size_t identity_of(const char *key)
{
    for (size_t i = 0; i < NIDS; i++) {
        if (strcmp(IDS[i].key, key) == 0) {
            return i;
        }
    }
    fail_msg("vector key %s has no known certificate", key);
    return NIDS;
}

static const char *string_member(const cJSON *obj, const char *name, size_t idx)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (!cJSON_IsString(it) || it->valuestring == NULL) {
        fail_msg("vector %zu: \"%s\" is missing or not a string", idx, name);
    }
    return it->valuestring;
}

static void load_case(struct vcase *c, const cJSON *item, size_t idx)
{
    const char *name = string_member(item, "name", idx);
    const char *b64 = string_member(item, "message_b64", idx);
    const char *sig = string_member(item, "signature", idx);
    size_t b64len = strlen(b64);
    size_t cap = b64len / 4 * 3 + 1;

    assert_true(strlen(name) < sizeof c->name);
    memcpy(c->name, name, strlen(name) + 1);
    c->id = identity_of(string_member(item, "key", idx));
    c->msg = wxp_malloc(cap);
    assert_non_null(c->msg);
    if (wxp_base64_decode(b64, b64len, c->msg, cap, &c->msglen) != WXP_OK) {
        fail_msg("vector %s: message_b64 does not decode", c->name);
    }
    c->siglen = strlen(sig);
    assert_int_equal(c->siglen, SIG_B64_LEN);
    memcpy(c->sig, sig, c->siglen + 1);
}

static int setup(void **state)
{
    struct fixture *f = wxp_malloc(sizeof *f);
    size_t len = 0;
    char *text = t_read(VECTORS, &len);
    cJSON *root = cJSON_ParseWithLength(text, len);
    const cJSON *cases = cJSON_GetObjectItemCaseSensitive(root, "cases");
    size_t i = 0;
    const cJSON *item;

    assert_non_null(f);
    memset(f, 0, sizeof *f);
    if (!cJSON_IsArray(cases)) {
        fail_msg("%s has no \"cases\" array", VECTORS);
    }
    f->n = (size_t)cJSON_GetArraySize(cases);
    f->cases = wxp_malloc(f->n * sizeof *f->cases + 1);
    assert_non_null(f->cases);
    cJSON_ArrayForEach(item, cases)
    {
        load_case(&f->cases[i], item, i);
        i++;
    }
    cJSON_Delete(root);
    wxp_free(text);
    for (size_t k = 0; k < NIDS; k++) {
        f->priv[k] = t_private(IDS[k].key);
        f->cert[k] = t_cert(IDS[k].cert);
        f->pub[k] = IDS[k].pubkey ? t_pubkey(IDS[k].pubkey, T_PUBKEY_ID) : NULL;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    for (size_t i = 0; i < f->n; i++) {
        wxp_free(f->cases[i].msg);
    }
    wxp_free(f->cases);
    for (size_t k = 0; k < NIDS; k++) {
        wxp_key_free(f->priv[k]);
        wxp_key_free(f->cert[k]);
        wxp_key_free(f->pub[k]);
    }
    wxp_free(f);
    return 0;
}

static const struct vcase *find_case(const struct fixture *f, const char *name)
{
    for (size_t i = 0; i < f->n; i++) {
        if (strcmp(f->cases[i].name, name) == 0) {
            return &f->cases[i];
        }
    }
    fail_msg("vector %s is missing from %s", name, VECTORS);
    return NULL;
}

static void test_sign_vectors_file_has_enough_cases(void **state)
{
    const struct fixture *f = *state;
    bool seen[NIDS] = {false};

    assert_true(f->n >= MIN_CASES);
    for (size_t i = 0; i < f->n; i++) {
        seen[f->cases[i].id] = true;
    }
    /* Every identity signs at least one vector, so every cert below is really exercised. */
    for (size_t k = 0; k < NIDS; k++) {
        if (!seen[k]) {
            fail_msg("no vector is signed with %s", IDS[k].key);
        }
    }
    assert_int_equal(find_case(f, "empty-message")->msglen, 0);
    assert_int_equal(find_case(f, "long-10240-bytes")->msglen, 10240);
}

static void test_sign_matches_openssl_vectors(void **state)
{
    const struct fixture *f = *state;
    for (size_t i = 0; i < f->n; i++) {
        const struct vcase *c = &f->cases[i];
        char out[WXP_SIG_B64_MAX];
        size_t outlen = 0;
        struct wxp_err err;

        if (wxp_sign(f->priv[c->id], c->msg, c->msglen, out, sizeof out, &outlen, &err) != WXP_OK) {
            fail_msg("vector %s: wxp_sign failed: %s", c->name, err.msg);
        }
        /* PKCS#1 v1.5 is deterministic: the openssl CLI's bytes exactly. */
        if (outlen != c->siglen || strcmp(out, c->sig) != 0) {
            fail_msg("vector %s: signature differs from the openssl CLI's", c->name);
        }
    }
}

static void test_sign_pkcs1_key_form_signs_identically(void **state)
{
    const struct fixture *f = *state;
    const struct vcase *c = find_case(f, "terminate-merchant-a");
    struct wxp_key *k = t_private("keys/test-merchant-a.rsa.pem");
    char out[WXP_SIG_B64_MAX];
    size_t outlen = 0;

    assert_int_equal(c->id, 0);
    assert_int_equal(wxp_sign(k, c->msg, c->msglen, out, sizeof out, &outlen, NULL), WXP_OK);
    assert_int_equal(outlen, c->siglen);
    assert_string_equal(out, c->sig);
    wxp_key_free(k);
}

static void test_sign_vectors_verify_with_matching_key(void **state)
{
    const struct fixture *f = *state;
    for (size_t i = 0; i < f->n; i++) {
        const struct vcase *c = &f->cases[i];
        struct wxp_err err;

        if (wxp_verify(f->cert[c->id], c->msg, c->msglen, c->sig, c->siglen, &err) != WXP_OK) {
            fail_msg("vector %s: does not verify with %s: %s", c->name, IDS[c->id].cert, err.msg);
        }
        /* The header allows a private key too: its public half verifies. */
        if (wxp_verify(f->priv[c->id], c->msg, c->msglen, c->sig, c->siglen, &err) != WXP_OK) {
            fail_msg("vector %s: does not verify with %s: %s", c->name, IDS[c->id].key, err.msg);
        }
        if (f->pub[c->id] != NULL &&
            wxp_verify(f->pub[c->id], c->msg, c->msglen, c->sig, c->siglen, &err) != WXP_OK) {
            fail_msg("vector %s: does not verify with %s: %s", c->name, IDS[c->id].pubkey, err.msg);
        }
    }
}

static void test_sign_vectors_fail_with_every_other_key(void **state)
{
    const struct fixture *f = *state;
    for (size_t i = 0; i < f->n; i++) {
        const struct vcase *c = &f->cases[i];
        for (size_t k = 0; k < NIDS; k++) {
            struct wxp_err err;
            enum wxp_code got;

            if (k == c->id) {
                continue;
            }
            wxp_err_clear(&err);
            got = wxp_verify(f->cert[k], c->msg, c->msglen, c->sig, c->siglen, &err);
            if (got != WXP_E_SIG_MISMATCH || strcmp(err.field, "signature") != 0) {
                fail_msg("vector %s with %s: got %s field \"%s\", want WXP_E_SIG_MISMATCH", c->name,
                         IDS[k].cert, wxp_code_name(got), err.field);
            }
            if (f->pub[k] != NULL && wxp_verify(f->pub[k], c->msg, c->msglen, c->sig, c->siglen,
                                                NULL) != WXP_E_SIG_MISMATCH) {
                fail_msg("vector %s verifies with %s", c->name, IDS[k].pubkey);
            }
        }
    }
}

static void test_sign_wrong_key_vector_is_not_merchant_a(void **state)
{
    const struct fixture *f = *state;
    const struct vcase *a = find_case(f, "terminate-merchant-a");
    const struct vcase *w = find_case(f, "terminate-merchant-a-message-signed-with-wrong-key");

    assert_int_equal(w->msglen, a->msglen);
    assert_memory_equal(w->msg, a->msg, a->msglen);
    assert_string_not_equal(w->sig, a->sig);
    assert_int_equal(wxp_verify(f->cert[0], w->msg, w->msglen, w->sig, w->siglen, NULL),
                     WXP_E_SIG_MISMATCH);
    assert_int_equal(wxp_verify(f->cert[2], w->msg, w->msglen, w->sig, w->siglen, NULL),
                     WXP_E_SIG_MISMATCH);
    assert_int_equal(wxp_verify(f->cert[3], w->msg, w->msglen, w->sig, w->siglen, NULL), WXP_OK);
}

static void test_sign_vectors_fail_with_flipped_message_byte(void **state)
{
    const struct fixture *f = *state;
    for (size_t i = 0; i < f->n; i++) {
        const struct vcase *c = &f->cases[i];
        size_t pos[3] = {0, c->msglen / 2, c->msglen ? c->msglen - 1 : 0};
        unsigned char *m = wxp_malloc(c->msglen + 1);

        assert_non_null(m);
        if (c->msglen == 0) {
            /* Nothing to flip: one added byte must break it instead. */
            m[0] = 0;
            if (wxp_verify(f->cert[c->id], m, 1, c->sig, c->siglen, NULL) != WXP_E_SIG_MISMATCH) {
                fail_msg("vector %s: verifies over one extra byte", c->name);
            }
        }
        for (size_t p = 0; p < 3 && c->msglen > 0; p++) {
            memcpy(m, c->msg, c->msglen);
            m[pos[p]] ^= 0x01;
            if (wxp_verify(f->cert[c->id], m, c->msglen, c->sig, c->siglen, NULL) !=
                WXP_E_SIG_MISMATCH) {
                fail_msg("vector %s: verifies with byte %zu flipped", c->name, pos[p]);
            }
        }
        if (c->msglen > 0 && wxp_verify(f->cert[c->id], c->msg, c->msglen - 1, c->sig, c->siglen,
                                        NULL) != WXP_E_SIG_MISMATCH) {
            fail_msg("vector %s: verifies without its last byte", c->name);
        }
        wxp_free(m);
    }
}

static void test_sign_rejects_key_that_is_not_private(void **state)
{
    const struct fixture *f = *state;
    const struct vcase *c = find_case(f, "terminate-merchant-a");
    char out[WXP_SIG_B64_MAX];
    struct wxp_err err;

    memset(out, 'X', sizeof out);
    wxp_err_clear(&err);
    assert_int_equal(wxp_sign(f->cert[0], c->msg, c->msglen, out, sizeof out, NULL, &err),
                     WXP_E_INVALID_ARG);
    assert_int_equal(err.code, WXP_E_INVALID_ARG);
    assert_string_equal(err.field, "key");
    assert_int_equal(out[0], 'X');
    wxp_err_clear(&err);
    assert_int_equal(wxp_sign(f->pub[2], c->msg, c->msglen, out, sizeof out, NULL, &err),
                     WXP_E_INVALID_ARG);
    assert_string_equal(err.field, "key");
    assert_int_equal(out[0], 'X');
}

static void test_sign_rejects_small_output_buffer(void **state)
{
    const struct fixture *f = *state;
    const struct vcase *c = find_case(f, "one-byte-message");
    char out[WXP_SIG_B64_MAX];
    size_t outlen = 0;
    struct wxp_err err;

    /* 344 characters need 345 bytes with the NUL. */
    wxp_err_clear(&err);
    assert_int_equal(wxp_sign(f->priv[0], c->msg, c->msglen, out, SIG_B64_LEN, &outlen, &err),
                     WXP_E_TOO_LARGE);
    assert_int_equal(err.code, WXP_E_TOO_LARGE);
    assert_string_equal(err.field, "signature");
    assert_int_equal(wxp_sign(f->priv[0], c->msg, c->msglen, out, 0, &outlen, NULL),
                     WXP_E_TOO_LARGE);
    assert_int_equal(wxp_sign(f->priv[0], c->msg, c->msglen, out, SIG_B64_LEN + 1, &outlen, &err),
                     WXP_OK);
    assert_int_equal(outlen, SIG_B64_LEN);
    assert_int_equal(strlen(out), SIG_B64_LEN);
    assert_string_equal(out, c->sig);
}

/* Signature texts derived from a good one, and what wxp_verify must answer for each. */
enum sig_edit {
    EDIT_TRUNCATE_1,   /* drop the last character: length not a multiple of 4 */
    EDIT_TRUNCATE_4,   /* drop the last quantum: valid base64 of 255 bytes */
    EDIT_APPEND_4,     /* add "AAAA": valid base64 of 259 bytes */
    EDIT_NO_PADDING,   /* drop the "==" */
    EDIT_TRAILING_LF,  /* add "\n" */
    EDIT_CRLF_INSIDE,  /* "\r\n" in place of characters 64 and 65, as a PEM-style wrap */
    EDIT_SPACE_INSIDE, /* a space in place of a character */
    EDIT_URLSAFE,      /* a '+' or '/' replaced by '-' or '_' */
    EDIT_ONE_CHAR,     /* one alphabet character changed: base64 fine, signature wrong */
    EDIT_EMPTY,        /* zero characters */
    EDIT_ALL_A,        /* right length, all zero bytes */
};

struct sig_row {
    int line;
    enum sig_edit edit;
    enum wxp_code want;
};

/* sign.h: WXP_E_SIG_BASE64 for "not strict base64, or not the key's size", else mismatch. */
static const struct sig_row SIG_ROWS[] = {
    {__LINE__, EDIT_TRUNCATE_1, WXP_E_SIG_BASE64},   {__LINE__, EDIT_TRUNCATE_4, WXP_E_SIG_BASE64},
    {__LINE__, EDIT_APPEND_4, WXP_E_SIG_BASE64},     {__LINE__, EDIT_NO_PADDING, WXP_E_SIG_BASE64},
    {__LINE__, EDIT_TRAILING_LF, WXP_E_SIG_BASE64},  {__LINE__, EDIT_CRLF_INSIDE, WXP_E_SIG_BASE64},
    {__LINE__, EDIT_SPACE_INSIDE, WXP_E_SIG_BASE64}, {__LINE__, EDIT_URLSAFE, WXP_E_SIG_BASE64},
    {__LINE__, EDIT_ONE_CHAR, WXP_E_SIG_MISMATCH},   {__LINE__, EDIT_EMPTY, WXP_E_SIG_BASE64},
    {__LINE__, EDIT_ALL_A, WXP_E_SIG_MISMATCH},
};

/* Writes the edited signature into out (cap WXP_SIG_B64_MAX) and returns its length. */
static size_t edit_sig(const char *sig, size_t len, enum sig_edit e, char *out)
{
    char *p;

    memcpy(out, sig, len + 1);
    switch (e) {
    case EDIT_TRUNCATE_1:
        return len - 1;
    case EDIT_TRUNCATE_4:
        return len - 4;
    case EDIT_APPEND_4:
        memcpy(out + len, "AAAA", 5);
        return len + 4;
    case EDIT_NO_PADDING:
        assert_memory_equal(out + len - 2, "==", 2);
        return len - 2;
    case EDIT_TRAILING_LF:
        memcpy(out + len, "\n", 2);
        return len + 1;
    case EDIT_CRLF_INSIDE:
        memcpy(out + 64, "\r\n", 2);
        return len;
    case EDIT_SPACE_INSIDE:
        out[100] = ' ';
        return len;
    case EDIT_URLSAFE:
        p = strpbrk(out, "+/");
        if (p == NULL) {
            out[10] = '-';
            return len;
        }
        *p = *p == '+' ? '-' : '_';
        return len;
    case EDIT_ONE_CHAR:
        /* A middle character: every bit of it is data, so the decoded bytes change. */
        out[len / 2] = out[len / 2] == 'A' ? 'B' : 'A';
        return len;
    case EDIT_EMPTY:
        out[0] = '\0';
        return 0;
    case EDIT_ALL_A:
        memset(out, 'A', len - 2);
        return len;
    }
    fail_msg("unknown edit %d", (int)e);
    return 0;
}

static void test_sign_verify_rejects_edited_signatures(void **state)
{
    const struct fixture *f = *state;
    const struct vcase *c = find_case(f, "terminate-merchant-a");

    for (size_t i = 0; i < sizeof SIG_ROWS / sizeof SIG_ROWS[0]; i++) {
        const struct sig_row *r = &SIG_ROWS[i];
        char sig[WXP_SIG_B64_MAX + 8];
        size_t n = edit_sig(c->sig, c->siglen, r->edit, sig);
        struct wxp_err err;
        enum wxp_code got;

        wxp_err_clear(&err);
        got = wxp_verify(f->cert[0], c->msg, c->msglen, sig, n, &err);
        if (got != r->want || err.code != r->want || strcmp(err.field, "signature") != 0) {
            fail_msg("row at line %d: got %s field \"%s\", want %s", r->line, wxp_code_name(got),
                     err.field, wxp_code_name(r->want));
        }
    }
    /* The untouched signature still verifies, so the rows above fail for their edit alone. */
    assert_int_equal(wxp_verify(f->cert[0], c->msg, c->msglen, c->sig, c->siglen, NULL), WXP_OK);
}

static void test_sign_verify_reads_only_siglen_bytes(void **state)
{
    const struct fixture *f = *state;
    const struct vcase *c = find_case(f, "terminate-merchant-a");
    char *sig = wxp_malloc(c->siglen);

    /* Exactly siglen bytes and no NUL: ASan catches any read past the end. */
    assert_non_null(sig);
    memcpy(sig, c->sig, c->siglen);
    assert_int_equal(wxp_verify(f->cert[0], c->msg, c->msglen, sig, c->siglen, NULL), WXP_OK);
    wxp_free(sig);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sign_vectors_file_has_enough_cases),
        cmocka_unit_test(test_sign_matches_openssl_vectors),
        cmocka_unit_test(test_sign_pkcs1_key_form_signs_identically),
        cmocka_unit_test(test_sign_vectors_verify_with_matching_key),
        cmocka_unit_test(test_sign_vectors_fail_with_every_other_key),
        cmocka_unit_test(test_sign_wrong_key_vector_is_not_merchant_a),
        cmocka_unit_test(test_sign_vectors_fail_with_flipped_message_byte),
        cmocka_unit_test(test_sign_rejects_key_that_is_not_private),
        cmocka_unit_test(test_sign_rejects_small_output_buffer),
        cmocka_unit_test(test_sign_verify_rejects_edited_signatures),
        cmocka_unit_test(test_sign_verify_reads_only_siglen_bytes),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
