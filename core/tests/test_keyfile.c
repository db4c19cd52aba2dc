/* SPDX-License-Identifier: MIT */
/* test_keyfile.c: private key files open to others draw one warning line, the published TEST
 * keys do not, and key material given where a file name belongs is never echoed. */
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"
#include "wxp/keyfile.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static char tmpdir[256];
/* A new key: not a fixture, so never exempt. P-256, because RSA key generation is slow under
 * valgrind; the check reads any private key type. */
static char fresh_key[320];

static const char *tmp_path(const char *name)
{
    static char buf[400];
    snprintf(buf, sizeof buf, "%s/%s", tmpdir, name);
    return buf;
}

static void copy_file(const char *from, const char *to)
{
    char buf[4096];
    size_t n;
    FILE *in = fopen(from, "rb");
    FILE *out = fopen(to, "wb");

    assert_non_null(in);
    assert_non_null(out);
    while ((n = fread(buf, 1, sizeof buf, in)) > 0) {
        assert_int_equal(fwrite(buf, 1, n, out), n);
    }
    fclose(in);
    assert_int_equal(fclose(out), 0);
}

static int setup(void **state)
{
    const char *base = getenv("TMPDIR");
    EVP_PKEY *pkey;
    FILE *f;

    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "%s/wxp-keyfile-XXXXXX", base && base[0] ? base : "/tmp");
    if (mkdtemp(tmpdir) == NULL) {
        return -1;
    }
    snprintf(fresh_key, sizeof fresh_key, "%s/fresh.key.pem", tmpdir);
    pkey = EVP_EC_gen("P-256");
    f = fopen(fresh_key, "wb");
    if (pkey == NULL || f == NULL ||
        PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL) != 1) {
        return -1;
    }
    EVP_PKEY_free(pkey);
    return fclose(f) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    static const char *const names[] = {"fresh.key.pem", "fixture.pem", "pipe"};
    (void)state;
    for (size_t i = 0; i < NELEM(names); i++) {
        unlink(tmp_path(names[i]));
    }
    return rmdir(tmpdir);
}

static void test_keyfile_warns_when_open_to_others(void **state)
{
    (void)state;
    static const struct {
        int line;
        mode_t mode;
        const char *want; /* NULL: no warning */
    } rows[] = {
        {__LINE__, 0600, NULL},
        {__LINE__, 0400, NULL},
        {__LINE__, 0700, NULL},
        {__LINE__, 0644, "is readable by others (mode 0644); run chmod 600 "},
        {__LINE__, 0640, "is readable by others (mode 0640); run chmod 600 "},
        {__LINE__, 0604, "is readable by others (mode 0604); run chmod 600 "},
        {__LINE__, 0666, "is readable by others (mode 0666); run chmod 600 "},
        {__LINE__, 0620, "is open to group or others (mode 0620); run chmod 600 "},
        {__LINE__, 0601, "is open to group or others (mode 0601); run chmod 600 "},
    };

    for (size_t i = 0; i < NELEM(rows); i++) {
        char warn[WXP_KEYFILE_WARNING_MAX];
        char want[1024];
        bool got;

        assert_int_equal(chmod(fresh_key, rows[i].mode), 0);
        got = wxp_keyfile_warning(fresh_key, warn, sizeof warn);
        if (rows[i].want == NULL) {
            if (got || warn[0] != '\0') {
                fail_msg("row at line %d: unexpected warning '%s'", rows[i].line, warn);
            }
            continue;
        }
        /* The whole line: it names the file, the mode and the fix. */
        snprintf(want, sizeof want, "private key %s %s%s", fresh_key, rows[i].want, fresh_key);
        if (!got || strcmp(warn, want) != 0) {
            fail_msg("row at line %d: got %d '%s', want '%s'", rows[i].line, got, warn, want);
        }
    }
    /* A buffer too small is cut, never overrun; cap 0 with NULL only answers. */
    {
        char small[16];
        assert_int_equal(chmod(fresh_key, 0644), 0);
        assert_true(wxp_keyfile_warning(fresh_key, small, sizeof small));
        assert_int_equal(strlen(small), sizeof small - 1);
        assert_true(wxp_keyfile_warning(fresh_key, NULL, 0));
        assert_int_equal(chmod(fresh_key, 0600), 0);
    }
}

/* git checks the fixture keys out 0644: they are public, so they are exempt wherever they are. */
static void test_keyfile_exempts_published_test_keys(void **state)
{
    (void)state;
    static const char *const keys[] = {
        "keys/test-merchant-a.key.pem",
        "keys/test-merchant-a.rsa.pem",
        "keys/test-merchant-b.key.pem",
        "keys/test-platform.key.pem",
        "keys/test-wrong.key.pem",
        "keys/test-ec.key.pem",
        "tls/test-ca.key.pem",
        "tls/test-server.key.pem",
        "keys/test-platform-next.key.pem",
        "keys/test-platform-expired.key.pem",
    };
    char dst[400];
    char warn[WXP_KEYFILE_WARNING_MAX];

    snprintf(dst, sizeof dst, "%s", tmp_path("fixture.pem"));
    for (size_t i = 0; i < NELEM(keys); i++) {
        copy_file(t_fixture(keys[i]), dst);
        assert_int_equal(chmod(dst, 0644), 0);
        if (wxp_keyfile_warning(dst, warn, sizeof warn)) {
            fail_msg("%s: warned '%s'", keys[i], warn);
        }
        assert_string_equal(warn, "");
    }
    /* A fixture certificate is not a private key: no exemption applies, only the mode counts. */
    copy_file(t_fixture("certs/test-platform.cert.pem"), dst);
    assert_int_equal(chmod(dst, 0644), 0);
    assert_true(wxp_keyfile_warning(dst, warn, sizeof warn));
}

static void test_keyfile_ignores_what_is_not_a_regular_file(void **state)
{
    (void)state;
    char warn[WXP_KEYFILE_WARNING_MAX];
    char fifo[400];

    snprintf(fifo, sizeof fifo, "%s", tmp_path("pipe"));
    assert_false(wxp_keyfile_warning("/nonexistent/dir/key.pem", warn, sizeof warn));
    assert_string_equal(warn, "");
    assert_false(wxp_keyfile_warning("/dev/null", warn, sizeof warn)); /* mode 0666 */
    assert_false(wxp_keyfile_warning(tmpdir, warn, sizeof warn));
    /* A named pipe open to all: answered from stat alone (opening it would block). */
    assert_int_equal(mkfifo(fifo, 0600), 0);
    assert_int_equal(chmod(fifo, 0666), 0);
    assert_false(wxp_keyfile_warning(fifo, warn, sizeof warn));
    assert_string_equal(warn, "");
}

static void test_keyfile_shown_hides_key_material(void **state)
{
    (void)state;
    static char long_name[WXP_KEYFILE_NAME_SHOWN_MAX + 2];
    static char max_name[WXP_KEYFILE_NAME_SHOWN_MAX + 1];
    static const struct {
        int line;
        const char *path;
        bool shown;
    } rows[] = {
        {__LINE__, "keys/apiclient_key.pem", true},
        {__LINE__, "/etc/wxpay/apiclient key.pem", true},
        {__LINE__, "", true},
        {__LINE__, "-----BEGIN PRIVATE KEY-----", false},
        {__LINE__, "./-----BEGIN PRIVATE KEY-----", false},
        {__LINE__, "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nBKcwggSjAgEAAoIBAQ", false},
        {__LINE__, "key\r.pem", false},
        {__LINE__, "key\t.pem", false},
        {__LINE__, "key\x7f.pem", false},
        {__LINE__, max_name, true},
        {__LINE__, long_name, false},
    };

    memset(long_name, 'A', sizeof long_name - 1);
    memset(max_name, 'B', sizeof max_name - 1);
    for (size_t i = 0; i < NELEM(rows); i++) {
        const char *s = wxp_keyfile_shown(rows[i].path);
        if (rows[i].shown ? s != rows[i].path : strstr(s, "not shown") == NULL) {
            fail_msg("row at line %d: got '%.80s'", rows[i].line, s);
        }
    }
    assert_string_equal(wxp_keyfile_shown(NULL), "(none)");
    /* The placeholder fits struct wxp_err's field whole. */
    assert_true(strlen(wxp_keyfile_shown("-----")) < sizeof(((struct wxp_err *)0)->field));
}

/* What a user does when a variable wants a file but they hold the key's text: the loaders'
 * messages must not carry any line of it back out. */
static void assert_no_key_line(const char *pem, const char *what, const struct wxp_err *err)
{
    const char *line = strchr(pem, '\n') + 1;

    /* Each 16-byte window of each base64 line, at offsets 0, 16, 32 and 48. */
    while (strncmp(line, "-----END", 8) != 0) {
        const char *eol = strchr(line, '\n');
        for (size_t off = 0; off + 16 <= (size_t)(eol - line); off += 16) {
            char needle[17];
            memcpy(needle, line + off, 16);
            needle[16] = '\0';
            if (strstr(err->msg, needle) != NULL || strstr(err->field, needle) != NULL) {
                fail_msg("%s: '%s' leaked: msg '%s' field '%s'", what, needle, err->msg,
                         err->field);
            }
        }
        line = eol + 1;
    }
}

static void test_keyfile_loaders_never_echo_pem_given_as_path(void **state)
{
    (void)state;
    size_t len = 0;
    char *pem = t_read("keys/test-merchant-a.key.pem", &len);
    struct wxp_err err;
    struct wxp_key *k = NULL;
    char *text = NULL;
    size_t tlen = 0;

    /* The whole PEM text as the file name. */
    assert_int_equal(wxp_key_private_file(pem, &k, &err), WXP_E_IO);
    assert_null(k);
    assert_non_null(strstr(err.msg, "not shown"));
    assert_no_key_line(pem, "wxp_key_private_file(PEM)", &err);
    /* Only the base64 body (what some SDKs take), through the generic reader. */
    assert_int_equal(wxp_file_read(strchr(pem, '\n') + 1, WXP_PEM_MAX, &text, &tlen, &err),
                     WXP_E_IO);
    assert_null(text);
    assert_non_null(strstr(err.msg, "not shown"));
    assert_no_key_line(pem, "wxp_file_read(body)", &err);
    wxp_free(pem);
}

/* Names that look like key material are not echoed; ordinary member names and options are. */
static void test_keyfile_name_shown_hides_key_material(void **state)
{
    (void)state;
    static const struct {
        int line;
        const char *name;
        bool hidden;
    } ROWS[] = {
        {__LINE__, "journal_size", false},
        {__LINE__, "allow_spaces_in_authorization", false},
        {__LINE__, "--mch-key", false},
        {__LINE__, "platform_public_keys", false},
        {__LINE__, "abcdefghijklmnopqrstuvw", false}, /* 23 base64 characters */
        {__LINE__, "abcdefghijklmnopqrstuvwx", true}, /* 24 */
        {__LINE__, "-----BEGIN PRIVATE KEY-----", true},
        {__LINE__, "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEI", true},
        /* A whole Ed25519 PKCS#8 body line, and a P-256 line. */
        {__LINE__, "MC4CAQAwBQYDK2VwBCIEIHbR6xQ4hW3/3aX1Nf4z1sA7Jm0mK2JpYp5X9Zt2kq3S", true},
        {__LINE__, "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg", true},
        {__LINE__, "a\x01b", true},
    };
    for (size_t i = 0; i < sizeof ROWS / sizeof ROWS[0]; i++) {
        const char *shown = wxp_name_shown(ROWS[i].name);
        if (wxp_looks_like_key(ROWS[i].name) != ROWS[i].hidden ||
            (strcmp(shown, ROWS[i].name) != 0) != ROWS[i].hidden) {
            fail_msg("row at line %d: shown as '%s'", ROWS[i].line, shown);
        }
    }
    assert_false(wxp_looks_like_key(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keyfile_warns_when_open_to_others),
        cmocka_unit_test(test_keyfile_exempts_published_test_keys),
        cmocka_unit_test(test_keyfile_ignores_what_is_not_a_regular_file),
        cmocka_unit_test(test_keyfile_shown_hides_key_material),
        cmocka_unit_test(test_keyfile_loaders_never_echo_pem_given_as_path),
        cmocka_unit_test(test_keyfile_name_shown_hides_key_material),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
