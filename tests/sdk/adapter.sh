#!/bin/sh
# SPDX-License-Identifier: MIT
# ctest sdk.axios_adapter: conformance/examples/axios-adapter.js (wechatpay-axios-plugin as a
# client command, writing WXPAY_RESULT_FILE) graded by wxpay-conformance; the verdicts of
# docs/conformance.md#the-result-file, read back from the JSON report.
#   adapter.sh CONFORMANCE_BIN ADAPTER_JS WORK_DIR
set -eu
fail() { printf 'FAIL: %s\n' "$*"; exit 1; }
conf=${1:?usage}
adapter=${2:?usage}
work=${3:?usage}
[ -d "$work/node_modules" ] || fail "$work/node_modules is missing: the sdk.npm_ci test installs it"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/wxpay-adapter.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# Exit 1: CLI-RESP-035 (MUST) fails, as the plugin accepts a NaN timestamp.
rc=0
NODE_PATH="$work/node_modules" "$conf" client \
    --operations payscore.permissions.terminate-by-openid \
    --only CLI-RESP-001,CLI-RESP-002,CLI-RESP-032,CLI-RESP-034,CLI-RESP-035 \
    --cmd "node '$adapter'" --json "$tmp/report.json" >"$tmp/out" 2>&1 || rc=$?
[ "$rc" -eq 1 ] || { cat "$tmp/out"; fail "exit status $rc, expected 1"; }
# shellcheck disable=SC2016 # JavaScript template strings, not shell
node -e '
const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
const want = {"CLI-RESP-001": "pass", "CLI-RESP-002": "pass", "CLI-RESP-032": "pass",
              "CLI-RESP-034": "fail", "CLI-RESP-035": "fail"};
for (const c of r.cases) {
  if (want[c.id] !== c.verdict) {
    console.log(`FAIL: ${c.id} is ${c.verdict}, expected ${want[c.id]}: ${c.reason}`);
    process.exit(1);
  }
  console.log(`ok: ${c.id} ${c.verdict}${c.reason ? ": " + c.reason : ""}`);
}
if (r.cases.length !== 5) { console.log("FAIL: not 5 cases"); process.exit(1); }
' "$tmp/report.json"
echo "ALL OK"
