/* SPDX-License-Identifier: MIT */
/* keyfile.h: the care a private key *file* needs beyond parsing it: a warning when others may
 * read it, and a file name that is safe to put in a message (PEM text given where a file name
 * belongs must not be echoed). The core never prints: the programs print what these return. */
#ifndef WXP_KEYFILE_H
#define WXP_KEYFILE_H

#include <stdbool.h>
#include <stddef.h>

/* Room for any text wxp_keyfile_warning writes (a long path is cut to fit). */
#define WXP_KEYFILE_WARNING_MAX 640
/* File names longer than this are not echoed in messages (see wxp_keyfile_shown). */
#define WXP_KEYFILE_NAME_SHOWN_MAX 512

/* Looks at the permissions of the private key file `path` (call it after the key loaded, so a
 * missing or unreadable file has already been reported). Returns true and writes one line, with
 * no program prefix and no newline, into warn[0..cap) when all of these hold:
 *   - `path` is a regular file (a pipe such as <(...) or /dev/stdin is never warned about);
 *   - its mode grants anything to its group or to others (mode & 077: OpenSSH's test for
 *     private keys), e.g. "private key k.pem is readable by others (mode 0644); run chmod 600
 *     k.pem";
 *   - it is not one of the repository's published TEST ONLY keys (fixtures/keys, fixtures/tls):
 *     those are public, so their permissions protect nothing, and git checks them out 0644.
 * Otherwise returns false with warn = "". The file's bytes, read only to recognise a TEST key,
 * are wiped before returning. Never fails loudly: a file that cannot be opened gives false.
 * `warn` may be NULL when cap is 0. */
bool wxp_keyfile_warning(const char *path, char *warn, size_t cap);

/* `path` as it may appear in an error message: `path` itself, or a fixed placeholder when the
 * value does not look like a file name but like key material given in its place: it holds a
 * control byte (a newline of PEM text), "-----" (a PEM boundary) or is longer than
 * WXP_KEYFILE_NAME_SHOWN_MAX bytes (a base64 key body). Never NULL; borrows from `path` or
 * returns a static string. */
const char *wxp_keyfile_shown(const char *path);
/* Whether a name or word that is about to be echoed in a message (a config member name, an
 * unknown option) looks like key material: it holds a control byte (PEM newlines), "-----" (a PEM
 * marker), or a run of WXP_KEYLIKE_RUN or more base64 characters (a line of a key's body). Such a
 * name is never echoed; the callers say "(not shown: looks like key material)" instead. */
#define WXP_KEYLIKE_RUN 24
bool wxp_looks_like_key(const char *s);
/* `s`, or that placeholder when wxp_looks_like_key(s). Never NULL; borrows from `s`. */
const char *wxp_name_shown(const char *s);

#endif
