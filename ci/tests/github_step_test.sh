#!/bin/sh
# SPDX-License-Identifier: MIT
# ctest ci.github_start_step: run the "Start wxpay-mock" step of ci/github/action.yml the way a
# runner would (bash -e, with GITHUB_ACTION_PATH, RUNNER_TEMP, GITHUB_ENV, GITHUB_OUTPUT and the
# step's env), against this build tree's wxpay-mock, then check what it wrote and stop the mock.
# Usage: github_step_test.sh PYTHON3 REPO_ROOT; environment WXPAY_MOCK, WXPAY_CLI (from ctest).
set -eu
py=$1 root=$2
: "${WXPAY_MOCK:?}" "${WXPAY_CLI:?}"
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }
command -v bash >/dev/null || fail "bash not found"

work=$(mktemp -d "${TMPDIR:-/tmp}/wxpay-ci-gh.XXXXXX")
work=$(cd "$work" && pwd)
trap 'WXPAY_MOCK_DIR=$(sed -n "s/^WXPAY_MOCK_DIR=//p" "$work/github.env" 2>/dev/null) "$root/ci/wxpay-mock-stop" || true; rm -rf "$work"' EXIT
mkdir "$work/tmp" "$work/runner"

"$py" - "$root/ci/github/action.yml" "$work/step.sh" <<'PY' || fail "could not extract the step (python3-yaml missing?)"
import sys, yaml
doc = yaml.safe_load(open(sys.argv[1], encoding="utf-8"))
step = next(s for s in doc["runs"]["steps"] if s.get("id") == "start")
assert step["shell"] == "bash", step["shell"]
open(sys.argv[2], "w", encoding="utf-8").write(step["run"])
PY

# A scenario file passed through the `scenario` input (one per line), plus `args`.
printf '{"rules": []}\n' >"$work/empty-scenario.json"
: >"$work/github.env"; : >"$work/github.output"
env -i PATH="$PATH" HOME="$work" TMPDIR="$work/tmp" \
    GITHUB_ACTION_PATH="$root/ci/github" RUNNER_TEMP="$work/runner" \
    GITHUB_ENV="$work/github.env" GITHUB_OUTPUT="$work/github.output" \
    WXPAY_MOCK="$WXPAY_MOCK" WXPAY_INSTALLED='' \
    WXPAY_SCENARIOS="$work/empty-scenario.json
" WXPAY_EXTRA_ARGS='--log-format  json' \
    bash -e "$work/step.sh" || fail "the step exited $?"

url=$(sed -n 's/^base-url=//p' "$work/github.output")
case $url in http://127.0.0.1:*) ;; *) fail "step output base-url: '$url'" ;; esac
grep -qx "WXPAY_BASE_URL=$url" "$work/github.env" || fail "GITHUB_ENV has no WXPAY_BASE_URL=$url"
grep -qx "WXPAY_MOCK_STOP=$root/ci/wxpay-mock-stop" "$work/github.env" || fail "GITHUB_ENV has no WXPAY_MOCK_STOP"
# The log input was empty: the log goes to $RUNNER_TEMP/wxpay-mock.log, named by the log output.
log=$(sed -n 's/^log=//p' "$work/github.output")
[ "$log" = "$work/runner/wxpay-mock.log" ] || fail "step output log: '$log', want $work/runner/wxpay-mock.log"
grep -qx "WXPAY_MOCK_LOG=$log" "$work/github.env" || fail "GITHUB_ENV has no WXPAY_MOCK_LOG=$log"
pid=$(sed -n 's/^WXPAY_MOCK_PID=//p' "$work/github.env")
tr '\000' '\n' <"/proc/$pid/cmdline" | grep -qx -- "$work/empty-scenario.json" || fail "the mock did not get --scenario"
tr '\000' '\n' <"/proc/$pid/cmdline" | grep -qx -- "--log-format" || fail "the mock did not get the args input"

# A later step: the variables come from GITHUB_ENV.
set -a
# shellcheck disable=SC1091
. "$work/github.env"
set +a
out=$("$WXPAY_CLI" payscore permissions terminate --openid "oGhStep$$" --service-id "$WXPAY_SERVICE_ID" \
      --appid "$WXPAY_APPID" --reason "用户主动解除授权" 2>&1) || fail "wxpay terminate: $out"
echo "ok: later step: $out"
"$WXPAY_MOCK_STOP" || fail "WXPAY_MOCK_STOP exited $?"
[ ! -e "$WXPAY_MOCK_DIR" ] || fail "mock dir left"
# What the mock saw outlives the stop (--log-format json from the args input).
grep -q "oGhStep$$" "$log" || fail "the log output's file lacks the request: $(cat "$log")"
echo "ok: log kept after the stop: $log"

# A mock that cannot start: the step fails, yet its log output names the file with the reason.
: >"$work/github.output"
st=0
# shellcheck disable=SC2016 # $1 and $2 are the inner sh's arguments
env -i PATH="$PATH" HOME="$work" TMPDIR="$work/tmp" \
    GITHUB_ACTION_PATH="$root/ci/github" RUNNER_TEMP="$work/runner" \
    GITHUB_ENV="$work/github2.env" GITHUB_OUTPUT="$work/github.output" \
    WXPAY_MOCK="$WXPAY_MOCK" WXPAY_INSTALLED='' WXPAY_SCENARIOS='' \
    WXPAY_EXTRA_ARGS='--no-such-flag' WXPAY_LOG='bad.log' \
    sh -c 'cd "$1" && exec bash -e "$2"' sh "$work" "$work/step.sh" >/dev/null 2>&1 || st=$?
[ "$st" -ne 0 ] || fail "the step with a bad mock argument succeeded"
log=$(sed -n 's/^log=//p' "$work/github.output")
[ "$log" = "$work/bad.log" ] || fail "failed step: log output '$log', want $work/bad.log (relative to the workspace)"
grep -q 'no-such-flag' "$log" || fail "failed step: the log lacks the reason: $(cat "$log")"
echo "ok: a failed start: log output $log holds the reason"
echo "ALL OK"
