#!/bin/sh
# SPDX-License-Identifier: MIT
# ctest e2e test of the container image's HEALTHCHECK (mock-server/tests/CMakeLists.txt), outside a
# container: mock-server/wxpay-mock-healthcheck against this build's wxpay-mock on 127.0.0.1:0
# (healthy; 401 without the admin token, healthy with it; a port nobody listens on), and the
# Dockerfile's lines that tie the check to the image (COPY sources exist; HEALTHCHECK runs the
# script on the port the ENTRYPOINT listens on and EXPOSE names).
#
#   healthcheck_test.sh WXPAY_MOCK REPO_ROOT        prints "ALL OK" at the end
set -eu

mock=${1:?usage: healthcheck_test.sh WXPAY_MOCK REPO_ROOT}
root=${2:?usage: healthcheck_test.sh WXPAY_MOCK REPO_ROOT}
check=$root/mock-server/wxpay-mock-healthcheck
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }
ok() { printf 'ok: %s\n' "$*"; }

work=$(mktemp -d "${TMPDIR:-/tmp}/wxpay-healthcheck.XXXXXX")
pid=
cleanup() {
    if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

# Starts the mock with extra arguments; sets pid and hp (HOST:PORT) once the ready file is there.
start() {
    rm -f "$work/url"
    "$mock" --listen 127.0.0.1:0 --ready-file "$work/url" --quiet "$@" >/dev/null &
    pid=$!
    i=0
    until [ -s "$work/url" ]; do
        kill -0 "$pid" 2>/dev/null || fail "wxpay-mock exited before it was ready"
        i=$((i + 1))
        [ "$i" -lt 1000 ] || fail "wxpay-mock not ready in 10 s"
        sleep 0.01
    done
    url=$(cat "$work/url")
    hp=${url#http://}
}
stop() {
    kill "$pid"
    wait "$pid" || fail "wxpay-mock exit status $?"
    pid=
}

[ -x "$check" ] || fail "$check is not executable"

start
env -u WXPAY_MOCK_ADMIN_TOKEN "$check" "$hp" 2>"$work/err" || fail "healthy mock: $(cat "$work/err")"
[ ! -s "$work/err" ] || fail "healthy mock, yet stderr: $(cat "$work/err")"
ok "a running mock is healthy"
stop
if "$check" "$hp" 2>"$work/err"; then fail "a stopped mock is healthy"; fi
grep -q "cannot connect to $hp" "$work/err" || fail "stopped mock: $(cat "$work/err")"
ok "a port nobody listens on is unhealthy: $(cat "$work/err")"

start --admin-token s3cret
if env -u WXPAY_MOCK_ADMIN_TOKEN "$check" "$hp" 2>"$work/err"; then
    fail "no token, yet healthy"
fi
grep -q "401.*WXPAY_MOCK_ADMIN_TOKEN" "$work/err" || fail "no token: $(cat "$work/err")"
ok "without the admin token: unhealthy, and says why"
if WXPAY_MOCK_ADMIN_TOKEN=wrong "$check" "$hp" 2>/dev/null; then fail "a wrong token is healthy"; fi
WXPAY_MOCK_ADMIN_TOKEN=s3cret "$check" "$hp" 2>"$work/err" || fail "token: $(cat "$work/err")"
ok "with WXPAY_MOCK_ADMIN_TOKEN: healthy"
stop

# The Dockerfile: what the check needs is in the image, on the port the mock listens on.
df=$root/Dockerfile
grep -q '^COPY --from=build /src/mock-server/wxpay-mock-healthcheck /usr/local/bin/$' "$df" ||
    fail "the Dockerfile does not copy the check into /usr/local/bin"
grep -q '^  CMD \["wxpay-mock-healthcheck", "127.0.0.1:8080"\]$' "$df" ||
    fail "no HEALTHCHECK CMD running wxpay-mock-healthcheck 127.0.0.1:8080"
grep -q '^HEALTHCHECK .*\\$' "$df" || fail "no HEALTHCHECK line before its CMD"
grep -q '^ENTRYPOINT \["wxpay-mock", "--listen", "0.0.0.0:8080"' "$df" ||
    fail "the ENTRYPOINT does not listen on 8080"
grep -q '^EXPOSE 8080$' "$df" || fail "EXPOSE is not 8080"
grep '^COPY ' "$df" | grep -v -- '--from=' | while read -r _ src _; do
    [ "$src" = . ] || [ -e "$root/$src" ] || fail "COPY source $src does not exist"
done
ok "Dockerfile: COPY sources, HEALTHCHECK, ENTRYPOINT and EXPOSE agree"
echo "ALL OK"
