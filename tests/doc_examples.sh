#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs the examples of the documentation, so the docs cannot drift from the code.
#
# - Every fenced block tagged ```sh in README.md and docs/*.md is run, in order, file by file:
#   the blocks of one file run in ONE bash (set -e -o pipefail; variables and files carry over
#   from block to block), in a sandbox: a fresh temporary directory as HOME and cwd, PATH with
#   the build's wxpay-mock, wxpay and wxpay-conformance first, WXPAY_FIXTURES pointing at the
#   TEST fixtures, and a fresh wxpay-mock already running whose base URL is in WXPAY_BASE_URL.
#   Whatever a file's blocks start in the background is killed when the file is done.
# - A block whose first line is "# not run: <reason>" is skipped and counted; a skipped block
#   without a reason fails the test.
# - Every ```c block of docs/client.md is compiled with -Wall -Wextra -Werror and linked against
#   the build's libwxpay.
#
# Not covered (written by others, with their own tests): docs/performance.md (its examples run
# benchmarks for minutes), docs/reliability.md (fuzzing and sanitizer builds), docs/ci.md (CI
# templates that need GitHub, GitLab or Docker). Remove a name from EXCLUDED once its ```sh
# blocks follow the convention above.
#
# Usage: doc_examples.sh --source DIR --path DIRS --cc CC --include DIR... --lib LIBFILE
# (--include may be repeated: libwxpay's headers live in the source and the build tree).
set -uo pipefail

EXCLUDED=()

src='' bins='' cc=cc lib=''
incs=()
while [ $# -gt 0 ]; do
    case $1 in
    --source) src=$2 ;;
    --path) bins=$2 ;;
    --cc) cc=$2 ;;
    --include) incs+=("-I$2") ;;
    --lib) lib=$2 ;;
    *)
        echo "doc_examples: unknown argument $1" >&2
        exit 2
        ;;
    esac
    shift 2
done
if [ -z "$src" ] || [ -z "$bins" ]; then
    echo "usage: doc_examples.sh --source DIR --path DIRS [--cc CC --include DIR... --lib FILE]" >&2
    exit 2
fi

tmp=$(mktemp -d)
mock_pid=''
cleanup() {
    if [ -n "$mock_pid" ]; then
        kill "$mock_pid" 2>/dev/null
        wait "$mock_pid" 2>/dev/null
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# The sandbox's environment: no WXPAY_* from the caller, the build's binaries first.
while IFS='=' read -r name _; do
    case $name in WXPAY_*) unset "$name" ;; esac
done < <(env)
export PATH="$bins:$PATH"
export WXPAY_FIXTURES="$src/fixtures"
export WXPAY_MOCK="$(command -v wxpay-mock)" # for ci/wxpay-mock-start in docs/ci.md
export LC_ALL=C.UTF-8
unset NO_COLOR

ran=0 skipped=0 failed=0 compiled=0
skips=()

# Splits FILE into numbered blocks of the given tag: $dir/NNN.block, with $dir/NNN.line holding
# the line number of the opening fence. Prints the number of blocks.
extract() {
    local file=$1 tag=$2 dir=$3
    mkdir -p "$dir"
    awk -v tag="$tag" -v dir="$dir" '
        !inb && $0 == "```" tag { inb = 1; n++; out = sprintf("%s/%03d.block", dir, n);
                                  printf "" > out; print NR > sprintf("%s/%03d.line", dir, n);
                                  next }
        inb && /^```[[:space:]]*$/ { inb = 0; close(out); next }
        inb { print > out }
        END { print n + 0; if (inb) exit 3 }' "$file"
}

start_mock() {
    rm -f "$tmp/mock.url"
    wxpay-mock --listen 127.0.0.1:0 --ready-file "$tmp/mock.url" --quiet >/dev/null \
        2>"$tmp/mock.err" &
    mock_pid=$!
    for _ in $(seq 100); do
        [ -s "$tmp/mock.url" ] && break
        sleep 0.05
    done
    [ -s "$tmp/mock.url" ] || {
        echo "doc_examples: wxpay-mock did not start: $(cat "$tmp/mock.err")" >&2
        exit 1
    }
    WXPAY_BASE_URL=$(cat "$tmp/mock.url")
    export WXPAY_BASE_URL
}

stop_mock() {
    kill "$mock_pid" 2>/dev/null
    wait "$mock_pid" 2>/dev/null
    mock_pid=''
}

run_file() {
    local rel=$1 dir=$tmp/blocks/${1//\//_} n i first reason driver work
    n=$(extract "$src/$rel" sh "$dir") || {
        echo "FAIL $rel: a \`\`\`sh block is not closed" >&2
        failed=$((failed + 1))
        return
    }
    [ "$n" -gt 0 ] || return 0
    work=$tmp/sandbox/${rel//\//_}
    mkdir -p "$work"
    # The sandbox looks like the top of a checkout: docs say `ci/...` and `fixtures/...`.
    ln -s "$src/ci" "$work/ci"
    ln -s "$src/fixtures" "$work/fixtures"
    driver=$dir/driver.sh
    {
        echo "echo \$\$ > '$dir/pgid'"
        echo "set -e -o pipefail"
        echo "trap 'echo \"doc_examples: \$__where failed (status \$?) at block line \$LINENO\" >&2' ERR"
    } >"$driver"
    local nrun=0
    for i in $(seq -f %03g "$n"); do
        first=$(head -n 1 "$dir/$i.block")
        case $first in
        '# not run'*)
            reason=${first#'# not run'}
            reason=${reason#:}
            reason=${reason# }
            if [ -z "${reason// /}" ] || [ "${first#'# not run:'}" = "$first" ]; then
                echo "FAIL $rel:$(cat "$dir/$i.line"): '# not run' needs ': <reason>'" >&2
                failed=$((failed + 1))
            else
                skipped=$((skipped + 1))
                skips+=("$rel:$(cat "$dir/$i.line"): $reason")
            fi
            continue
            ;;
        esac
        echo "__where='$rel:$(cat "$dir/$i.line")'" >>"$driver"
        echo ". '$dir/$i.block'" >>"$driver"
        nrun=$((nrun + 1))
    done
    [ "$nrun" -gt 0 ] || return 0
    start_mock
    # Its own session, so that whatever the blocks leave running can be killed as a group.
    (cd "$work" && HOME=$work setsid -w bash "$driver") >"$dir/out" 2>&1 </dev/null &
    local pid=$! status
    wait "$pid"
    status=$?
    [ -s "$dir/pgid" ] && kill -- -"$(cat "$dir/pgid")" 2>/dev/null
    stop_mock
    if [ $status -eq 0 ]; then
        ran=$((ran + nrun))
        echo "ok   $rel: $nrun block(s)"
    else
        failed=$((failed + 1))
        echo "FAIL $rel (exit status $status); output:" >&2
        sed 's/^/    /' "$dir/out" >&2
    fi
}

compile_c() {
    local rel=$1 dir=$tmp/cblocks/${1//\//_} n i
    n=$(extract "$src/$rel" c "$dir") || return 1
    for i in $(seq -f %03g "$n"); do
        cp "$dir/$i.block" "$dir/$i.c"
        if "$cc" -std=c11 -Wall -Wextra -Werror "${incs[@]}" -o "$dir/$i.out" "$dir/$i.c" "$lib" \
            2>"$dir/$i.err"; then
            compiled=$((compiled + 1))
            echo "ok   $rel:$(cat "$dir/$i.line"): C example compiles and links"
        else
            failed=$((failed + 1))
            echo "FAIL $rel:$(cat "$dir/$i.line"): C example does not compile:" >&2
            sed 's/^/    /' "$dir/$i.err" >&2
        fi
    done
}

files=(README.md)
for f in "$src"/docs/*.md; do
    rel=docs/${f##*/}
    skip=0
    for x in "${EXCLUDED[@]}"; do
        [ "$rel" = "$x" ] && skip=1
    done
    [ $skip -eq 1 ] || files+=("$rel")
done
for rel in "${files[@]}"; do
    run_file "$rel"
done
if [ -n "$lib" ]; then
    compile_c docs/client.md
fi

echo "doc_examples: $ran sh block(s) ran, $compiled C block(s) compiled, $skipped skipped, $failed failure(s)"
for s in "${skips[@]}"; do
    echo "  skipped $s"
done
echo "  not covered: ${EXCLUDED[*]}"
[ $failed -eq 0 ]
