/* SPDX-License-Identifier: MIT */
/* report.c: what the runner tells people: a progress line per case, the summary (and the exit
 * status), and the JUnit XML, JSON and HTML report files. Files are written atomically. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cJSON.h>

#include "conf.h"
#include "wxp/mem.h"

/* A report holds every exchange (each capped by the outcome buffers); this bounds the file. */
#define REPORT_MAX (256u * 1024u * 1024u)
#define JSON_SCHEMA "wxpay-conformance/1"
#define NSEV 3

struct tally {
    size_t passed, failed, skipped, errors;
    size_t unobserved; /* client mode: no result file to grade */
};

static bool use_colour(void)
{
    const char *nc = getenv("NO_COLOR");
    return isatty(STDERR_FILENO) && (nc == NULL || nc[0] == '\0');
}

static const char *verdict_upper(enum conf_verdict v)
{
    switch (v) {
    case CONF_PASS:
        return "PASS";
    case CONF_FAIL:
        return "FAIL";
    case CONF_SKIP:
        return "SKIP";
    case CONF_ERROR:
        return "ERROR";
    case CONF_UNOBSERVED:
        return "N/OBS";
    }
    return "?";
}

static const char *verdict_colour(enum conf_verdict v)
{
    switch (v) {
    case CONF_PASS:
        return "\033[32m";
    case CONF_FAIL:
        return "\033[31m";
    case CONF_SKIP:
        return "\033[33m";
    case CONF_ERROR:
        return "\033[35m";
    case CONF_UNOBSERVED:
        return "\033[36m";
    }
    return "";
}

static int digits(size_t n)
{
    int d = 1;
    while (n >= 10) {
        n /= 10;
        d++;
    }
    return d;
}

/* The last dot-separated part of an operation's name ("terminate-by-openid"): the progress line
 * is read by people, and the reports carry the full name. */
static const char *op_short(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot != NULL ? dot + 1 : name;
}

void conf_report_progress(const struct conf_result *r, size_t index, size_t total)
{
    const struct conf_outcome *o = &r->o;
    bool colour = use_colour();
    int w = digits(total) < 3 ? 3 : digits(total);
    const char *word = verdict_upper(o->verdict);

    fprintf(stderr, "[%*zu/%zu] %s%-5s%s %-7s %-9s %s: %s (%.2f s)\n", w, index + 1, total,
            colour ? verdict_colour(o->verdict) : "", word, colour ? "\033[0m" : "",
            conf_severity_name(r->c->severity), r->c->id, op_short(r->c->operation), r->c->title,
            o->seconds);
    if (o->verdict != CONF_PASS && o->reason[0] != '\0') {
        /* The reason may quote what a server sent: keep control bytes off the terminal. */
        fputs("        ", stderr);
        for (size_t i = 0; i < sizeof o->reason && o->reason[i] != '\0'; i++) {
            unsigned char ch = (unsigned char)o->reason[i];
            fputc(ch < 0x20 || ch == 0x7F ? '?' : ch, stderr);
        }
        fputc('\n', stderr);
    }
    fflush(stderr);
}

/* ---- verbose detail ------------------------------------------------------------------------ */

/* What one line of an excerpt shows (an Authorization header fits); the rest of a longer line is
 * replaced by its length. */
#define EXCERPT_WIDTH 640
#define DETAIL_LINES 40
#define OUTPUT_LINES 20
#define INDENT "        "

static bool has(const char *p, size_t len, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; n <= len && i <= len - n; i++) {
        if (memcmp(p + i, needle, n) == 0) {
            return true;
        }
    }
    return false;
}

static void show_line(FILE *f, const char *p, size_t len, size_t width)
{
    size_t shown = len > width ? width : len;
    while (shown < len && shown > 0 && ((unsigned char)p[shown] & 0xC0) == 0x80) {
        shown--; /* do not cut a UTF-8 sequence */
    }
    fputs(INDENT, f);
    for (size_t i = 0; i < shown; i++) {
        unsigned char ch = (unsigned char)p[i];
        fputc(ch < 0x20 || ch == 0x7F ? '?' : ch, f);
    }
    if (shown < len) {
        fprintf(f, " [cut: the line has %zu bytes]", len);
    }
    fputc('\n', f);
}

/* rule: no private key material in what the runner prints, even when a command or a server
 * echoes a key: a PEM private key block becomes one note. src: style B4 (private keys). */
static void excerpt_to(FILE *f, const char *text, size_t len, size_t max_lines, size_t width)
{
    size_t at = 0, lines = 0, hidden = 0;
    bool in_key = false;
    while (at < len) {
        const char *p = text + at;
        const char *nl = memchr(p, '\n', len - at);
        size_t l = nl != NULL ? (size_t)(nl - p) : len - at;
        at += l + (nl != NULL ? 1 : 0);
        if (l > 0 && p[l - 1] == '\r') {
            l--;
        }
        if (in_key) {
            in_key = !has(p, l, "-----END");
            continue;
        }
        if (lines == max_lines) {
            hidden++;
            continue;
        }
        lines++;
        if (has(p, l, "-----BEGIN") && has(p, l, "PRIVATE KEY")) {
            in_key = !has(p, l, "-----END");
            fputs(INDENT "[private key material not shown]\n", f);
            continue;
        }
        show_line(f, p, l, width);
    }
    if (hidden > 0) {
        fprintf(f, INDENT "[%zu more line%s not shown; %zu bytes in all]\n", hidden,
                hidden == 1 ? "" : "s", len);
    }
}

void conf_report_excerpt(const char *text, size_t len, size_t max_lines)
{
    excerpt_to(stderr, text, len, max_lines, EXCERPT_WIDTH);
}

void conf_redact_keys(struct wxp_buf *b)
{
    struct wxp_buf out;
    size_t at = 0;
    bool in_key = false, found = false;
    enum wxp_code rc = WXP_OK;

    wxp_buf_init(&out, b->max);
    while (rc == WXP_OK && b->ptr != NULL && at < b->len) {
        const char *p = b->ptr + at;
        const char *nl = memchr(p, '\n', b->len - at);
        size_t l = nl != NULL ? (size_t)(nl - p) + 1 : b->len - at;
        at += l;
        if (in_key) {
            in_key = !has(p, l, "-----END");
            continue;
        }
        if (has(p, l, "-----BEGIN") && has(p, l, "PRIVATE KEY")) {
            in_key = !has(p, l, "-----END");
            found = true;
            rc = wxp_buf_addstr(&out, "[private key material not shown]\n");
            continue;
        }
        rc = wxp_buf_add(&out, p, l);
    }
    if (!found) {
        wxp_buf_free(&out);
        return;
    }
    /* Out of memory: keep nothing rather than the key. */
    if (rc != WXP_OK) {
        wxp_buf_reset(&out);
    }
    wxp_buf_free(b);
    *b = out;
}

void conf_report_detail(const struct conf_result *r)
{
    const struct conf_outcome *o = &r->o;
    if (o->request.len > 0) {
        fprintf(stderr, INDENT "--- sent (%zu bytes) ---\n", o->request.len);
        conf_report_excerpt(wxp_buf_cstr(&o->request), o->request.len, DETAIL_LINES);
    }
    if (o->response.len > 0) {
        fprintf(stderr, INDENT "--- received (%zu bytes) ---\n", o->response.len);
        conf_report_excerpt(wxp_buf_cstr(&o->response), o->response.len, DETAIL_LINES);
    }
    if (r->c->mode == CONF_CLIENT) {
        fprintf(stderr, INDENT "--- exit status %d; stdout and stderr (%zu bytes) ---\n",
                o->exit_status, o->output.len);
        conf_report_excerpt(wxp_buf_cstr(&o->output), o->output.len, OUTPUT_LINES);
    }
    fflush(stderr);
}

static void count(const struct conf_result *rs, size_t n, struct tally t[NSEV])
{
    memset(t, 0, NSEV * sizeof *t);
    for (size_t i = 0; i < n; i++) {
        struct tally *s = &t[rs[i].c->severity];
        switch (rs[i].o.verdict) {
        case CONF_PASS:
            s->passed++;
            break;
        case CONF_FAIL:
            s->failed++;
            break;
        case CONF_SKIP:
            s->skipped++;
            break;
        case CONF_ERROR:
            s->errors++;
            break;
        case CONF_UNOBSERVED:
            s->unobserved++;
            break;
        }
    }
}

/* Set once by main before any report (--strict): SHOULD cases then count as MUST ones. */
static bool strict;

void conf_report_set_strict(bool on)
{
    strict = on;
}

/* rule: the run succeeds only when no MUST case failed or errored; SHOULD failures are
 * warnings (with --strict they fail the run too) and INFO cases never fail a run.
 * src: docs/conformance.md#exit-status */
static bool run_ok(const struct tally t[NSEV])
{
    bool must_ok = t[CONF_MUST].failed == 0 && t[CONF_MUST].errors == 0;
    bool should_ok = t[CONF_SHOULD].failed == 0 && t[CONF_SHOULD].errors == 0;
    return must_ok && (!strict || should_ok);
}

static bool not_met(const struct conf_result *r)
{
    return r->o.verdict == CONF_FAIL || r->o.verdict == CONF_ERROR;
}

/* Whether a case that did not pass fails the run (the case that stopped the run does, whatever
 * its severity): what decides between <failure>/<error> and <skipped> in JUnit, so that the
 * JUnit verdicts agree with the exit status. */
static bool counts(const struct conf_result *r)
{
    return r->c->severity == CONF_MUST || (strict && r->c->severity == CONF_SHOULD) ||
           r->o.stop_run;
}

static void list_ids(const struct conf_result *rs, size_t n, enum conf_severity sev,
                     const char *label)
{
    size_t shown = 0;
    for (size_t i = 0; i < n; i++) {
        if (rs[i].c->severity != sev || !not_met(&rs[i])) {
            continue;
        }
        if (shown == 0) {
            printf("%s:", label);
        }
        printf("%s%s", shown % 8 == 7 ? "\n   " : " ", rs[i].c->id);
        shown++;
    }
    if (shown > 0) {
        printf("\n");
    }
}

/* The summary's classes of result, one row each: a new verdict is one more row (and one more
 * count in summary_classes). */
enum row { ROW_MUST, ROW_SHOULD, ROW_INFO, ROW_UNOBSERVED, ROW_SKIPPED, ROW_PASSED, ROW_COUNT };
static const char *const ROW_LABEL[ROW_COUNT] = {
    "MUST failures",  "SHOULD failures",           "INFO differences",
    "not observable", "not applicable or skipped", "passed"};
static const char *const ROW_KEY[ROW_COUNT] = {
    "must_failures", "should_failures", "info_differences", "not_observable", "skipped", "passed"};

/* Counts per class from the counts per severity and verdict: a case that could not be run
 * counts with the failures of its severity. */
static void summary_classes(const struct tally t[NSEV], size_t rows[ROW_COUNT])
{
    rows[ROW_MUST] = t[CONF_MUST].failed + t[CONF_MUST].errors;
    rows[ROW_SHOULD] = t[CONF_SHOULD].failed + t[CONF_SHOULD].errors;
    rows[ROW_INFO] = t[CONF_INFO].failed + t[CONF_INFO].errors;
    rows[ROW_UNOBSERVED] =
        t[CONF_MUST].unobserved + t[CONF_SHOULD].unobserved + t[CONF_INFO].unobserved;
    rows[ROW_SKIPPED] = t[CONF_MUST].skipped + t[CONF_SHOULD].skipped + t[CONF_INFO].skipped;
    rows[ROW_PASSED] = t[CONF_MUST].passed + t[CONF_SHOULD].passed + t[CONF_INFO].passed;
}

static void summary_rows(const size_t rows[ROW_COUNT])
{
    for (int i = 0; i < ROW_COUNT; i++) {
        printf("  %-27s %4zu\n", ROW_LABEL[i], rows[i]);
    }
}

/* Lines of each exchange the summary shows for a failure, and their width (-v shows more). */
#define SUMMARY_LINES 12
#define SUMMARY_WIDTH 200

/* rule: a failure names its rule (the docs section and where each source key points) and shows
 * what was sent and received, cut. src: docs/conformance.md#reports */
static void summary_failure(const struct conf_result *r)
{
    const struct conf_outcome *o = &r->o;
    struct conf_links links;

    conf_links_of(r->c->source, &links);
    printf("\n%s %s %s: %s\n", conf_severity_name(r->c->severity), r->c->id,
           o->verdict == CONF_ERROR ? "could not be run" : "failed", r->c->title);
    printf(INDENT "why: ");
    for (size_t i = 0; i < sizeof o->reason && o->reason[i] != '\0'; i++) {
        unsigned char ch = (unsigned char)o->reason[i];
        putchar(ch < 0x20 || ch == 0x7F ? '?' : ch);
    }
    printf("\n" INDENT "rule: %s\n", r->c->rule);
    for (size_t i = 0; i < links.nsections; i++) {
        printf(INDENT "see: %s\n", links.sections[i]);
    }
    for (size_t i = 0; i < links.nkeys; i++) {
        printf(INDENT "source [%s]: %s\n", links.keys[i].key,
               links.keys[i].where[0] != '\0' ? links.keys[i].where : "(not in docs/sources.md)");
    }
    if (o->request.len > 0) {
        printf(INDENT "--- sent (%zu bytes) ---\n", o->request.len);
        fflush(stdout);
        excerpt_to(stdout, wxp_buf_cstr(&o->request), o->request.len, SUMMARY_LINES, SUMMARY_WIDTH);
    }
    if (o->response.len > 0) {
        printf(INDENT "--- received (%zu bytes) ---\n", o->response.len);
        excerpt_to(stdout, wxp_buf_cstr(&o->response), o->response.len, SUMMARY_LINES,
                   SUMMARY_WIDTH);
    }
    if (r->c->mode == CONF_CLIENT) {
        printf(INDENT "--- exit status %d ---\n", o->exit_status);
    }
}

/* rule: a case that grades what the client concluded is "not observable" without a result file:
 * its own row, never counted as a pass or a failure. src: docs/conformance.md#the-result-file */
static void list_unobserved(const struct conf_result *rs, size_t n, const struct tally t[NSEV])
{
    size_t total = t[CONF_MUST].unobserved + t[CONF_SHOULD].unobserved + t[CONF_INFO].unobserved;
    size_t shown = 0;
    if (total == 0) {
        return;
    }
    printf("  not observable without a result file: %zu (MUST %zu, SHOULD %zu, INFO %zu):", total,
           t[CONF_MUST].unobserved, t[CONF_SHOULD].unobserved, t[CONF_INFO].unobserved);
    for (size_t i = 0; i < n; i++) {
        if (rs[i].o.verdict == CONF_UNOBSERVED) {
            printf("%s%s", shown % 8 == 7 ? "\n   " : " ", rs[i].c->id);
            shown++;
        }
    }
    printf("\n");
}

int conf_report_summary(const struct conf_result *rs, size_t n, const char *target,
                        const char *stopped)
{
    struct tally t[NSEV];
    size_t rows[ROW_COUNT];
    count(rs, n, t);
    summary_classes(t, rows);
    /* The MUST failures first, then the SHOULD ones: each with its rule and exchange. */
    for (int s = CONF_MUST; s <= CONF_SHOULD; s++) {
        for (size_t i = 0; i < n; i++) {
            if (rs[i].c->severity == (enum conf_severity)s && not_met(&rs[i])) {
                summary_failure(&rs[i]);
            }
        }
    }
    printf("\nwxpay-conformance: %zu case%s against %s\n", n, n == 1 ? "" : "s",
           target ? target : "?");
    summary_rows(rows);
    for (int s = CONF_MUST; s <= CONF_INFO; s++) {
        printf("  %-7s passed %3zu   failed %3zu   skipped %3zu   errors %3zu\n",
               conf_severity_name((enum conf_severity)s), t[s].passed, t[s].failed, t[s].skipped,
               t[s].errors);
    }
    list_ids(rs, n, CONF_MUST, "MUST cases failed or not run");
    list_ids(rs, n, CONF_SHOULD,
             strict ? "SHOULD cases failed or not run (--strict)"
                    : "Warning: SHOULD cases not met");
    list_ids(rs, n, CONF_INFO, "Note: INFO cases that differ (reported only)");
    list_unobserved(rs, n, t);
    if (stopped != NULL) {
        printf("Result: STOPPED: %s\n", stopped);
    } else if (run_ok(t)) {
        printf("Result: PASS: every MUST%s case passed\n", strict ? " and SHOULD" : "");
    } else if (strict) {
        printf("Result: FAIL: %zu MUST and %zu SHOULD cases failed, %zu could not be run\n",
               t[CONF_MUST].failed, t[CONF_SHOULD].failed,
               t[CONF_MUST].errors + t[CONF_SHOULD].errors);
    } else {
        printf("Result: FAIL: %zu MUST case%s failed, %zu could not be run\n", t[CONF_MUST].failed,
               t[CONF_MUST].failed == 1 ? "" : "s", t[CONF_MUST].errors);
    }
    fflush(stdout);
    return run_ok(t) ? 0 : 1;
}

/* ---- text sanitising ------------------------------------------------------------------------ */

/* Length of the valid UTF-8 sequence at p (1..4), or 0 when it is not one (overlong, surrogate,
 * above U+10FFFF, truncated). Sets *cp to the code point. */
static size_t utf8_seq(const unsigned char *p, size_t left, unsigned long *cp)
{
    size_t n;
    unsigned long v, min;
    if (p[0] < 0x80) {
        *cp = p[0];
        return 1;
    }
    if ((p[0] & 0xE0) == 0xC0) {
        n = 2, v = p[0] & 0x1Fu, min = 0x80;
    } else if ((p[0] & 0xF0) == 0xE0) {
        n = 3, v = p[0] & 0x0Fu, min = 0x800;
    } else if ((p[0] & 0xF8) == 0xF0) {
        n = 4, v = p[0] & 0x07u, min = 0x10000;
    } else {
        return 0;
    }
    if (left < n) {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80) {
            return 0;
        }
        v = (v << 6) | (p[i] & 0x3Fu);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) {
        return 0;
    }
    *cp = v;
    return n;
}

enum escape { ESC_XML, ESC_XML_ATTR, ESC_HTML, ESC_PLAIN };

#define REPLACEMENT "\xEF\xBF\xBD"

/* Appends s[0..len) to b as valid UTF-8 (invalid bytes become U+FFFD), escaped for `how`. XML
 * and HTML output also replace control characters other than TAB, LF and CR (and U+FFFE/U+FFFF),
 * which XML 1.0 cannot carry at all. */
static enum wxp_code add_text(struct wxp_buf *b, const char *s, size_t len, enum escape how)
{
    const unsigned char *p = (const unsigned char *)s;
    enum wxp_code rc = WXP_OK;
    size_t i = 0;
    while (rc == WXP_OK && i < len) {
        unsigned long cp = 0;
        size_t n = utf8_seq(p + i, len - i, &cp);
        const char *rep = NULL;
        if (n == 0) {
            rc = wxp_buf_addstr(b, REPLACEMENT);
            i++;
            continue;
        }
        if (how != ESC_PLAIN) {
            bool ctl = (cp < 0x20 && cp != '\t' && cp != '\n' && cp != '\r') || cp == 0x7F ||
                       cp == 0xFFFE || cp == 0xFFFF;
            if (ctl) {
                rep = REPLACEMENT;
            } else if (cp == '&') {
                rep = "&amp;";
            } else if (cp == '<') {
                rep = "&lt;";
            } else if (cp == '>') {
                rep = "&gt;";
            } else if (cp == '"') {
                rep = "&quot;";
            } else if (cp == '\'') {
                rep = "&#39;";
            } else if (how == ESC_XML_ATTR && cp == '\n') {
                rep = "&#10;";
            } else if (how == ESC_XML_ATTR && cp == '\r') {
                rep = "&#13;";
            } else if (how == ESC_XML_ATTR && cp == '\t') {
                rep = "&#9;";
            }
        }
        rc = rep ? wxp_buf_addstr(b, rep) : wxp_buf_add(b, p + i, n);
        i += n;
    }
    return rc;
}

static enum wxp_code add_cstr(struct wxp_buf *b, const char *s, enum escape how)
{
    return add_text(b, s ? s : "", s ? strlen(s) : 0, how);
}

/* A new string holding valid UTF-8 (for cJSON, which copies invalid bytes through). */
static char *utf8_clean(const char *s, size_t len)
{
    struct wxp_buf b;
    char *out;
    wxp_buf_init(&b, REPORT_MAX);
    if (add_text(&b, s, len, ESC_PLAIN) != WXP_OK) {
        wxp_buf_free(&b);
        return NULL;
    }
    out = wxp_strndup(wxp_buf_cstr(&b), b.len);
    wxp_buf_free(&b);
    return out;
}

/* ---- files ---------------------------------------------------------------------------------- */

/* Writes `len` bytes to `path` through a temporary file in the same directory and rename(2), so
 * readers never see half a report. */
static int write_atomic(const char *path, const char *data, size_t len)
{
    struct wxp_buf tmp;
    FILE *f = NULL;
    int rc = -1;
    wxp_buf_init(&tmp, 4096);
    if (wxp_buf_addf(&tmp, "%s.tmp.%ld", path, (long)getpid()) != WXP_OK) {
        fprintf(stderr, "wxpay-conformance: report path too long: %s\n", path);
        goto out;
    }
    f = fopen(wxp_buf_cstr(&tmp), "wb");
    if (f == NULL) {
        fprintf(stderr, "wxpay-conformance: cannot write %s: %s\n", wxp_buf_cstr(&tmp),
                strerror(errno));
        goto out;
    }
    if (fwrite(data, 1, len, f) != len || fflush(f) != 0) {
        fprintf(stderr, "wxpay-conformance: cannot write %s: %s\n", wxp_buf_cstr(&tmp),
                strerror(errno));
        fclose(f);
        unlink(wxp_buf_cstr(&tmp));
        goto out;
    }
    if (fclose(f) != 0) {
        fprintf(stderr, "wxpay-conformance: cannot write %s: %s\n", wxp_buf_cstr(&tmp),
                strerror(errno));
        unlink(wxp_buf_cstr(&tmp));
        goto out;
    }
    if (rename(wxp_buf_cstr(&tmp), path) != 0) {
        fprintf(stderr, "wxpay-conformance: cannot rename %s to %s: %s\n", wxp_buf_cstr(&tmp), path,
                strerror(errno));
        unlink(wxp_buf_cstr(&tmp));
        goto out;
    }
    rc = 0;
out:
    wxp_buf_free(&tmp);
    return rc;
}

static int finish(const char *path, struct wxp_buf *b, enum wxp_code rc)
{
    int ret;
    if (rc != WXP_OK) {
        fprintf(stderr, "wxpay-conformance: cannot build %s: %s\n", path, wxp_code_desc(rc));
        wxp_buf_free(b);
        return -1;
    }
    ret = write_atomic(path, wxp_buf_cstr(b), b->len);
    wxp_buf_free(b);
    return ret;
}

static void utc_now(char *out, size_t cap)
{
    time_t now = time(NULL);
    struct tm tm;
    if (gmtime_r(&now, &tm) == NULL || strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
        snprintf(out, cap, "1970-01-01T00:00:00Z");
    }
}

static double total_seconds(const struct conf_result *rs, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) {
        s += rs[i].o.seconds;
    }
    return s;
}

/* ---- JUnit XML ------------------------------------------------------------------------------ */

/* The case's links (links.c), one per line after `sep`: "see: " and a docs section, and
 * "[KEY]: where". */
static enum wxp_code add_links(struct wxp_buf *b, const struct conf_case *c, const char *sep,
                               enum escape how)
{
    struct conf_links links;
    enum wxp_code rc = WXP_OK;

    conf_links_of(c->source, &links);
    for (size_t i = 0; rc == WXP_OK && i < links.nsections; i++) {
        rc = wxp_buf_addf(b, "%ssee: ", sep);
        if (rc == WXP_OK) {
            rc = add_cstr(b, links.sections[i], how);
        }
    }
    for (size_t i = 0; rc == WXP_OK && i < links.nkeys; i++) {
        rc = wxp_buf_addf(b, "%s[", sep);
        if (rc == WXP_OK) {
            rc = add_cstr(b, links.keys[i].key, how);
        }
        if (rc == WXP_OK) {
            rc = wxp_buf_addstr(b, "]: ");
        }
        if (rc == WXP_OK) {
            rc = add_cstr(b,
                          links.keys[i].where[0] != '\0' ? links.keys[i].where
                                                         : "(not in docs/sources.md)",
                          how);
        }
    }
    return rc;
}

/* The failure body: the rule, then what was exchanged. */
static enum wxp_code add_details(struct wxp_buf *b, const struct conf_result *r, enum escape how)
{
    const struct conf_outcome *o = &r->o;
    enum wxp_code rc = wxp_buf_addstr(b, "rule: ");
    if (rc == WXP_OK) {
        rc = add_cstr(b, r->c->rule, how);
    }
    if (rc == WXP_OK) {
        rc = wxp_buf_addstr(b, "\nsource: ");
    }
    if (rc == WXP_OK) {
        rc = add_cstr(b, r->c->source, how);
    }
    if (rc == WXP_OK) {
        rc = add_links(b, r->c, "\n", how);
    }
    if (rc == WXP_OK && o->request.len > 0) {
        rc = wxp_buf_addstr(b, "\n\n--- request ---\n");
        if (rc == WXP_OK) {
            rc = add_text(b, wxp_buf_cstr(&o->request), o->request.len, how);
        }
    }
    if (rc == WXP_OK && o->response.len > 0) {
        rc = wxp_buf_addstr(b, "\n\n--- response ---\n");
        if (rc == WXP_OK) {
            rc = add_text(b, wxp_buf_cstr(&o->response), o->response.len, how);
        }
    }
    if (rc == WXP_OK && r->c->mode == CONF_CLIENT) {
        rc = wxp_buf_addf(b, "\n\n--- exit status: %d ---\n", o->exit_status);
    }
    if (rc == WXP_OK && o->output.len > 0) {
        rc = wxp_buf_addstr(b, "\n--- output ---\n");
        if (rc == WXP_OK) {
            rc = add_text(b, wxp_buf_cstr(&o->output), o->output.len, how);
        }
    }
    return rc;
}

/* rule: a case that did not pass is <failure> (or <error>) only when it fails the run; a
 * SHOULD (without --strict) or INFO difference is <skipped> with its severity in the message, so
 * a green run never shows red tests in CI. src: docs/conformance.md#exit-status */
static enum wxp_code junit_case(struct wxp_buf *b, const struct conf_result *r)
{
    const struct conf_outcome *o = &r->o;
    bool noted = not_met(r) && !counts(r);
    const char *elem = NULL;
    /* The class is the mode and the operation: CI tools group the cases by API. */
    enum wxp_code rc =
        wxp_buf_addf(b, "    <testcase classname=\"wxpay-conformance.%s.%s\" name=\"",
                     conf_mode_name(r->c->mode), r->c->operation);
    if (rc == WXP_OK) {
        rc = add_cstr(b, r->c->id, ESC_XML_ATTR);
    }
    if (rc == WXP_OK) {
        rc = wxp_buf_addstr(b, " ");
    }
    if (rc == WXP_OK) {
        rc = add_cstr(b, r->c->title, ESC_XML_ATTR);
    }
    if (rc == WXP_OK) {
        rc = wxp_buf_addf(b, "\" time=\"%.3f\">\n", o->seconds);
    }
    if (o->verdict == CONF_SKIP || o->verdict == CONF_UNOBSERVED || noted) {
        if (rc == WXP_OK) {
            rc = wxp_buf_addf(b, "      <skipped message=\"%s%s%s",
                              noted ? conf_severity_name(r->c->severity) : "",
                              noted ? " not met (does not fail the run): " : "",
                              o->verdict == CONF_ERROR ? "could not be run: " : "");
        }
        if (rc == WXP_OK) {
            rc = add_cstr(b, o->reason, ESC_XML_ATTR);
        }
        if (rc == WXP_OK) {
            rc = wxp_buf_addstr(b, "\"/>\n");
        }
    } else if (not_met(r)) {
        elem = o->verdict == CONF_FAIL ? "failure" : "error";
        if (rc == WXP_OK) {
            rc = wxp_buf_addf(b, "      <%s message=\"", elem);
        }
        if (rc == WXP_OK) {
            rc = add_cstr(b, o->reason, ESC_XML_ATTR);
        }
        if (rc == WXP_OK) {
            rc = wxp_buf_addf(b, "\" type=\"%s\">", conf_severity_name(r->c->severity));
        }
        if (rc == WXP_OK) {
            rc = add_details(b, r, ESC_XML);
        }
        if (rc == WXP_OK) {
            rc = wxp_buf_addf(b, "</%s>\n", elem);
        }
    }
    if (rc == WXP_OK) {
        rc = wxp_buf_addstr(b, "    </testcase>\n");
    }
    return rc;
}

int conf_report_junit(const char *path, const struct conf_result *rs, size_t n, const char *suite)
{
    struct wxp_buf b;
    size_t failures = 0, errors = 0, skipped = 0;
    char stamp[32];
    enum wxp_code rc;

    for (size_t i = 0; i < n; i++) {
        if (rs[i].o.verdict == CONF_SKIP || rs[i].o.verdict == CONF_UNOBSERVED ||
            (not_met(&rs[i]) && !counts(&rs[i]))) {
            skipped++;
        } else if (rs[i].o.verdict == CONF_FAIL) {
            failures++;
        } else if (rs[i].o.verdict == CONF_ERROR) {
            errors++;
        }
    }
    utc_now(stamp, sizeof stamp);
    wxp_buf_init(&b, REPORT_MAX);
    rc = wxp_buf_addf(&b,
                      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                      "<testsuites name=\"wxpay-conformance\" tests=\"%zu\" failures=\"%zu\" "
                      "errors=\"%zu\" skipped=\"%zu\" time=\"%.3f\">\n  <testsuite name=\"",
                      n, failures, errors, skipped, total_seconds(rs, n));
    if (rc == WXP_OK) {
        rc = add_cstr(&b, suite, ESC_XML_ATTR);
    }
    if (rc == WXP_OK) {
        rc = wxp_buf_addf(&b,
                          "\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" skipped=\"%zu\" "
                          "time=\"%.3f\" timestamp=\"%s\">\n",
                          n, failures, errors, skipped, total_seconds(rs, n), stamp);
    }
    for (size_t i = 0; rc == WXP_OK && i < n; i++) {
        rc = junit_case(&b, &rs[i]);
    }
    if (rc == WXP_OK) {
        rc = wxp_buf_addstr(&b, "  </testsuite>\n</testsuites>\n");
    }
    return finish(path, &b, rc);
}

/* ---- JSON (schema wxpay-conformance/1, documented in docs/conformance.md) -------------------- */

/* Whether the run stopped early (its last case says so): "ok" is then false whatever the
 * severity of that case. */
static bool stopped_in(const struct conf_result *rs, size_t n)
{
    return n > 0 && rs[n - 1].o.stop_run;
}

static bool add_json_text(cJSON *obj, const char *name, const char *s, size_t len)
{
    char *clean = utf8_clean(s ? s : "", s ? len : 0);
    bool ok = clean != NULL && cJSON_AddStringToObject(obj, name, clean) != NULL;
    wxp_free(clean);
    return ok;
}

/* "sections": the docs sections of the source; "sources": [{"key", "where"}] (links.c). */
static bool add_json_links(cJSON *obj, const struct conf_case *c)
{
    struct conf_links links;
    cJSON *secs = cJSON_AddArrayToObject(obj, "sections");
    cJSON *srcs = cJSON_AddArrayToObject(obj, "sources");
    bool ok = secs != NULL && srcs != NULL;

    conf_links_of(c->source, &links);
    for (size_t i = 0; ok && i < links.nsections; i++) {
        cJSON *s = cJSON_CreateString(links.sections[i]);
        ok = s != NULL && cJSON_AddItemToArray(secs, s);
    }
    for (size_t i = 0; ok && i < links.nkeys; i++) {
        cJSON *k = cJSON_CreateObject();
        ok = k != NULL && cJSON_AddItemToArray(srcs, k) &&
             add_json_text(k, "key", links.keys[i].key, strlen(links.keys[i].key)) &&
             add_json_text(k, "where", links.keys[i].where, strlen(links.keys[i].where));
    }
    return ok;
}

static bool add_json_case(cJSON *arr, const struct conf_result *r)
{
    const struct conf_case *c = r->c;
    const struct conf_outcome *o = &r->o;
    cJSON *obj = cJSON_CreateObject();
    bool ok = obj != NULL && cJSON_AddItemToArray(arr, obj);
    if (!ok) {
        cJSON_Delete(obj);
        return false;
    }
    ok = add_json_text(obj, "id", c->id, strlen(c->id)) &&
         add_json_text(obj, "operation", c->operation, strlen(c->operation)) &&
         add_json_text(obj, "title", c->title, strlen(c->title)) &&
         add_json_text(obj, "rule", c->rule, strlen(c->rule)) &&
         add_json_text(obj, "source", c->source, strlen(c->source)) &&
         cJSON_AddStringToObject(obj, "severity", conf_severity_name(c->severity)) != NULL &&
         cJSON_AddStringToObject(obj, "verdict", conf_verdict_name(o->verdict)) != NULL &&
         add_json_text(obj, "reason", o->reason, strnlen(o->reason, sizeof o->reason)) &&
         cJSON_AddNumberToObject(obj, "seconds",
                                 (double)(long)(o->seconds * 1000.0 + 0.5) / 1000.0) != NULL &&
         add_json_text(obj, "request", wxp_buf_cstr(&o->request), o->request.len) &&
         add_json_text(obj, "response", wxp_buf_cstr(&o->response), o->response.len) &&
         add_json_text(obj, "output", wxp_buf_cstr(&o->output), o->output.len);
    if (ok && c->mode == CONF_CLIENT) {
        ok = cJSON_AddNumberToObject(obj, "exit_status", o->exit_status) != NULL;
    }
    return ok && add_json_links(obj, c);
}

int conf_report_json(const char *path, const struct conf_result *rs, size_t n, const char *mode,
                     const char *target)
{
    struct tally t[NSEV];
    struct wxp_buf b;
    char stamp[32];
    char *text = NULL;
    cJSON *root = cJSON_CreateObject(), *summary = NULL, *cases = NULL;
    bool ok = root != NULL;
    enum wxp_code rc = WXP_OK;

    count(rs, n, t);
    utc_now(stamp, sizeof stamp);
    ok = ok && cJSON_AddStringToObject(root, "schema", JSON_SCHEMA) != NULL &&
         add_json_text(root, "mode", mode, strlen(mode)) &&
         add_json_text(root, "target", target ? target : "", target ? strlen(target) : 0) &&
         cJSON_AddStringToObject(root, "generated_at", stamp) != NULL &&
         (summary = cJSON_AddObjectToObject(root, "summary")) != NULL;
    for (int s = CONF_MUST; ok && s <= CONF_INFO; s++) {
        cJSON *sev = cJSON_AddObjectToObject(summary, conf_severity_name((enum conf_severity)s));
        ok = sev != NULL && cJSON_AddNumberToObject(sev, "passed", (double)t[s].passed) &&
             cJSON_AddNumberToObject(sev, "failed", (double)t[s].failed) &&
             cJSON_AddNumberToObject(sev, "skipped", (double)t[s].skipped) &&
             cJSON_AddNumberToObject(sev, "errors", (double)t[s].errors) &&
             cJSON_AddNumberToObject(sev, "unobservable", (double)t[s].unobserved);
    }
    {
        size_t rows[ROW_COUNT];
        cJSON *cls = ok ? cJSON_AddObjectToObject(summary, "classes") : NULL;
        summary_classes(t, rows);
        ok = cls != NULL;
        for (int i = 0; ok && i < ROW_COUNT; i++) {
            ok = cJSON_AddNumberToObject(cls, ROW_KEY[i], (double)rows[i]) != NULL;
        }
    }
    ok = ok && cJSON_AddBoolToObject(root, "ok", run_ok(t) && !stopped_in(rs, n)) != NULL;
    /* notify mode: what the answers cannot show (docs/conformance.md#notify-mode) */
    if (ok && strcmp(mode, "notify") == 0) {
        ok = cJSON_AddStringToObject(root, "note", CONF_NOTIFY_UNSEEN) != NULL;
    }
    ok = ok && (cases = cJSON_AddArrayToObject(root, "cases")) != NULL;
    for (size_t i = 0; ok && i < n; i++) {
        ok = add_json_case(cases, &rs[i]);
    }
    if (ok) {
        text = cJSON_Print(root);
    }
    wxp_buf_init(&b, REPORT_MAX);
    if (text == NULL) {
        rc = WXP_E_NOMEM;
    } else {
        rc = wxp_buf_addstr(&b, text);
        if (rc == WXP_OK) {
            rc = wxp_buf_addstr(&b, "\n");
        }
    }
    cJSON_free(text);
    cJSON_Delete(root);
    return finish(path, &b, rc);
}

/* ---- HTML ----------------------------------------------------------------------------------- */

static const char HTML_STYLE[] =
    "body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}"
    "h1{font-size:1.4em}table{border-collapse:collapse;width:100%}"
    "th,td{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}"
    "th{background:#eee}tr.pass td.v{background:#d9f2d9}tr.fail td.v{background:#f8d0d0}"
    "tr.skip td.v{background:#f4ecc4}tr.error td.v{background:#e6d0f0}"
    "tr.fail.MUST{background:#fdeeee}tr.fail.SHOULD{background:#fdf6e3}"
    "table.sum{width:auto;margin-bottom:1em}.ok{color:#1a7f1a;font-weight:bold}"
    ".bad{color:#b00;font-weight:bold}"
    "pre{white-space:pre-wrap;word-break:break-all;background:#f7f7f7;padding:6px;margin:4px 0}"
    "details summary{cursor:pointer}code{font-size:0.95em}";

static enum wxp_code html_pre(struct wxp_buf *b, const char *label, const struct wxp_buf *data)
{
    enum wxp_code rc;
    if (data->len == 0) {
        return WXP_OK;
    }
    rc = wxp_buf_addf(b, "<div><b>%s</b><pre>", label);
    if (rc == WXP_OK) {
        rc = add_text(b, wxp_buf_cstr(data), data->len, ESC_HTML);
    }
    if (rc == WXP_OK) {
        rc = wxp_buf_addstr(b, "</pre></div>");
    }
    return rc;
}

static enum wxp_code html_row(struct wxp_buf *b, size_t i, const struct conf_result *r)
{
    const struct conf_case *c = r->c;
    const struct conf_outcome *o = &r->o;
    const char *sev = conf_severity_name(c->severity);
    enum wxp_code rc =
        wxp_buf_addf(b, "<tr class=\"%s %s\" id=\"", conf_verdict_name(o->verdict), sev);
    if (rc == WXP_OK) {
        rc = add_cstr(b, c->id, ESC_HTML);
    }
    if (rc == WXP_OK) {
        rc = wxp_buf_addf(b, "\"><td>%zu</td><td><code>", i + 1);
    }
    if (rc == WXP_OK) {
        rc = add_cstr(b, c->id, ESC_HTML);
    }
    if (rc == WXP_OK) {
        rc = wxp_buf_addstr(b, "</code></td><td><code>");
    }
    if (rc == WXP_OK) {
        rc = add_cstr(b, c->operation, ESC_HTML);
    }
    if (rc == WXP_OK) {
        rc = wxp_buf_addf(b, "</code></td><td>%s</td><td class=\"v\">%s</td><td>", sev,
                          verdict_upper(o->verdict));
    }
    if (rc == WXP_OK) {
        rc = add_cstr(b, c->title, ESC_HTML);
    }
    if (rc == WXP_OK && o->reason[0] != '\0') {
        rc = wxp_buf_addstr(b, "<br><i>");
        if (rc == WXP_OK) {
            rc = add_text(b, o->reason, strnlen(o->reason, sizeof o->reason), ESC_HTML);
        }
        if (rc == WXP_OK) {
            rc = wxp_buf_addstr(b, "</i>");
        }
    }
    if (rc == WXP_OK && o->verdict != CONF_PASS) {
        rc = wxp_buf_addstr(b, "<details><summary>rule, request and response</summary><p>");
        if (rc == WXP_OK) {
            rc = add_cstr(b, c->rule, ESC_HTML);
        }
        if (rc == WXP_OK && c->mode == CONF_CLIENT) {
            rc = wxp_buf_addf(b, "<br>exit status: %d", o->exit_status);
        }
        if (rc == WXP_OK) {
            rc = wxp_buf_addstr(b, "</p>");
        }
        if (rc == WXP_OK) {
            rc = html_pre(b, "request", &o->request);
        }
        if (rc == WXP_OK) {
            rc = html_pre(b, "response", &o->response);
        }
        if (rc == WXP_OK) {
            rc = html_pre(b, "output", &o->output);
        }
        if (rc == WXP_OK) {
            rc = wxp_buf_addstr(b, "</details>");
        }
    }
    if (rc == WXP_OK) {
        rc = wxp_buf_addf(b, "</td><td>%.2f s</td><td>", o->seconds);
    }
    if (rc == WXP_OK) {
        rc = add_cstr(b, c->source, ESC_HTML);
    }
    if (rc == WXP_OK) {
        rc = add_links(b, c, "<br>", ESC_HTML);
    }
    if (rc == WXP_OK) {
        rc = wxp_buf_addstr(b, "</td></tr>\n");
    }
    return rc;
}

int conf_report_html(const char *path, const struct conf_result *rs, size_t n, const char *mode,
                     const char *target, const char *stopped)
{
    struct tally t[NSEV];
    struct wxp_buf b;
    char stamp[32];
    enum wxp_code rc;

    count(rs, n, t);
    utc_now(stamp, sizeof stamp);
    wxp_buf_init(&b, REPORT_MAX);
    rc = wxp_buf_addf(&b,
                      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                      "<title>wxpay-conformance %s report</title><style>%s</style></head>\n"
                      "<body><h1>wxpay-conformance: %s mode</h1>\n<p>Target: <code>",
                      mode, HTML_STYLE, mode);
    if (rc == WXP_OK) {
        rc = add_cstr(&b, target, ESC_HTML);
    }
    if (rc == WXP_OK) {
        rc = wxp_buf_addf(&b,
                          "</code><br>Generated at %s<br>Result: <span class=\"%s\">%s</span></p>\n"
                          "<table class=\"sum\"><tr><th>Severity</th><th>Passed</th>"
                          "<th>Failed</th><th>Skipped</th><th>Errors</th></tr>\n",
                          stamp, run_ok(t) && stopped == NULL ? "ok" : "bad",
                          stopped != NULL ? "STOPPED"
                          : run_ok(t)     ? "PASS: every case that counts passed"
                                          : "FAIL: a case that counts failed");
    }
    if (rc == WXP_OK && strcmp(mode, "notify") == 0) {
        rc = wxp_buf_addstr(&b, "<p>Note: " CONF_NOTIFY_UNSEEN "</p>\n");
    }
    if (rc == WXP_OK && stopped != NULL) {
        rc = wxp_buf_addstr(&b, "<p class=\"bad\">The run stopped: ");
        if (rc == WXP_OK) {
            rc = add_cstr(&b, stopped, ESC_HTML);
        }
        if (rc == WXP_OK) {
            rc = wxp_buf_addstr(&b, "</p>\n");
        }
    }
    for (int s = CONF_MUST; rc == WXP_OK && s <= CONF_INFO; s++) {
        rc = wxp_buf_addf(&b,
                          "<tr><td>%s</td><td>%zu</td><td>%zu</td><td>%zu</td><td>%zu</td></tr>\n",
                          conf_severity_name((enum conf_severity)s), t[s].passed, t[s].failed,
                          t[s].skipped, t[s].errors);
    }
    for (int s = CONF_MUST; rc == WXP_OK && s <= CONF_INFO; s++) {
        if (t[s].unobserved > 0) {
            rc = wxp_buf_addf(&b,
                              "<tr><td>%s</td><td colspan=\"4\">%zu not observable without a "
                              "result file</td></tr>\n",
                              conf_severity_name((enum conf_severity)s), t[s].unobserved);
        }
    }
    if (rc == WXP_OK) {
        size_t rows[ROW_COUNT];
        summary_classes(t, rows);
        rc = wxp_buf_addstr(&b, "</table>\n<table class=\"sum\">");
        for (int i = 0; rc == WXP_OK && i < ROW_COUNT; i++) {
            rc = wxp_buf_addf(&b, "<tr><th>%s</th><td>%zu</td></tr>", ROW_LABEL[i], rows[i]);
        }
    }
    if (rc == WXP_OK) {
        rc = wxp_buf_addstr(
            &b, "</table>\n<table><tr><th>#</th><th>Id</th><th>Operation</th><th>Severity</th>"
                "<th>Result</th><th>Case</th><th>Time</th><th>Source</th></tr>\n");
    }
    for (size_t i = 0; rc == WXP_OK && i < n; i++) {
        rc = html_row(&b, i, &rs[i]);
    }
    if (rc == WXP_OK) {
        rc = wxp_buf_addf(&b,
                          "</table>\n<p>MUST failures fail the run; %s; INFO results are "
                          "reported only.</p>\n</body></html>\n",
                          strict ? "SHOULD failures fail it too (--strict)"
                                 : "SHOULD failures are warnings");
    }
    return finish(path, &b, rc);
}
