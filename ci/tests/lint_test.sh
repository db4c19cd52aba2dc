#!/bin/sh
# SPDX-License-Identifier: MIT
# ctest ci.lint: ci/lint on a scratch git tree holding a copy of ci/lint, ci/cppcheck-cmocka.cfg
# and .clang-format. A clean tree passes; a C leak fails it through cppcheck, an unquoted
# variable in a ci/ script fails it through shellcheck. Usage: lint_test.sh REPO_ROOT. Prints "ALL OK" at the end.
set -eu
src=$(cd "${1:?usage: lint_test.sh REPO_ROOT}" && pwd)
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }
ok() { printf 'ok: %s\n' "$*"; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/wxpay-ci-lint.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
t=$tmp/tree
mkdir -p "$t/ci" "$t/core/src"
cp "$src/ci/lint" "$src/ci/cppcheck-cmocka.cfg" "$t/ci/"
cp "$src/.clang-format" "$t/"
cat >"$t/core/src/good.c" <<'C'
/* SPDX-License-Identifier: MIT */
#include <stdlib.h>

int good_sum(const int *v, size_t n);

int good_sum(const int *v, size_t n)
{
    int s = 0;
    for (size_t i = 0; i < n; i++) {
        s += v[i];
    }
    return s;
}
C
cat >"$t/ci/tool" <<'SH'
#!/bin/sh
# SPDX-License-Identifier: MIT
set -eu
dir=${1:-.}
cd "$dir"
SH
chmod +x "$t/ci/tool"
(cd "$t" && git init -q . && git add -A) || fail "git init"

run() { # the lint's output in $tmp/out, its status printed
    st=0
    bash "$t/ci/lint" >"$tmp/out" 2>&1 || st=$?
    echo "$st"
}

st=$(run)
[ "$st" -eq 0 ] || fail "clean tree: status $st: $(cat "$tmp/out")"
grep -q 'ci/lint: ok' "$tmp/out" || fail "clean tree: no ok line: $(cat "$tmp/out")"
ok "clean tree passes: $(tail -1 "$tmp/out")"

cat >"$t/core/src/leak.c" <<'C'
/* SPDX-License-Identifier: MIT */
#include <stdlib.h>

int leak_mark(void);

int leak_mark(void)
{
    char *p = malloc(16);
    if (p == NULL) {
        return -1;
    }
    p[0] = 'x';
    return 0;
}
C
(cd "$t" && git add -A)
st=$(run)
[ "$st" -eq 1 ] || fail "a leak: status $st, want 1: $(cat "$tmp/out")"
grep -q 'leak.c:.*\[memleak\]' "$tmp/out" || fail "a leak: cppcheck did not name it: $(cat "$tmp/out")"
ok "cppcheck fails a leak: $(grep -m1 memleak "$tmp/out")"
rm "$t/core/src/leak.c"

cat >>"$t/ci/tool" <<'SH'
ls $dir
SH
(cd "$t" && git add -A)
st=$(run)
[ "$st" -eq 1 ] || fail "an unquoted variable: status $st, want 1: $(cat "$tmp/out")"
grep -q 'SC2086' "$tmp/out" || fail "shellcheck did not report SC2086: $(cat "$tmp/out")"
ok "shellcheck fails an unquoted variable in ci/tool"
echo "ALL OK"
