#!/usr/bin/env bash
# The Debian package, as scripts/package makes it from a release build (without rebuilding):
#   deb.sh BUILD SRC VERSION
# builds refcache_VERSION_amd64.deb into a scratch folder; checks its control fields (name,
# version, architecture, maintainer, the shared libraries of the programs in Depends) and that
# it lists the programs, libraries, headers, CMake package and pkg-config file under /usr;
# extracts it into a scratch root with dpkg-deb -x; runs the extracted calculator (--help and
# one tools/call over stdio); builds examples/hello-server against <root>/usr with
# find_package and runs it. Prints what it checks and exits non-zero at the first failure.
set -euo pipefail
build=$(cd "$1" && pwd) src=$(cd "$2" && pwd) version=$3
work=$(mktemp -d "${TMPDIR:-/tmp}/refcache-deb.XXXXXX")
trap 'rm -rf "$work"' EXIT
ok() { echo "ok: $*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }

# An initialize, initialized and tools/call over stdio; prints the tools/call answer.
call_stdio() {  # BIN TOOL ARGS_JSON
  printf '%s\n' \
    '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"packaging","version":"1"}}}' \
    '{"jsonrpc":"2.0","method":"notifications/initialized"}' \
    "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":\"$2\",\"arguments\":$3}}" |
    timeout 30 "$1" --backend memory: 2>/dev/null | grep '"id":2'
}

"$src/scripts/package" --no-build --build-dir "$build" --out "$work/out" deb >"$work/package.log" 2>&1 ||
  { cat "$work/package.log" >&2; fail "scripts/package deb failed"; }
deb=$work/out/refcache_${version}_amd64.deb
[ -f "$deb" ] || fail "scripts/package made no $(basename "$deb")"
ok "scripts/package made $(basename "$deb")"

field() { dpkg-deb --field "$deb" "$1"; }
[ "$(field Package)" = refcache ] || fail "Package is $(field Package)"
[ "$(field Version)" = "$version" ] || fail "Version is $(field Version), refcache's $version"
[ "$(field Architecture)" = amd64 ] || fail "Architecture is $(field Architecture)"
[ -n "$(field Maintainer)" ] || fail "no Maintainer"
[ -n "$(field Description)" ] || fail "no Description"
depends=$(field Depends)
for dep in libc6 libstdc++6 libboost-json1.81.0 libboost-url1.81.0 libssl3 libhiredis0.14 \
           libzstd1 libfmt9 libmuparser2v5; do
  tr ',' '\n' <<<"$depends" | awk '{ print $1 }' | grep -qxF "$dep" || fail "Depends lacks $dep: $depends"
done
ok "control: refcache $version amd64, Depends computed from the programs ($depends)"

dpkg-deb --contents "$deb" | awk '{ print $6 }' >"$work/contents"
for f in usr/bin/refcache-calculator usr/bin/refcache-data-analysis usr/bin/refcache-gateway \
         usr/lib/librefcache.a usr/lib/librefcache_mcp.a usr/lib/librefcache_mcp_client.a usr/lib/librefcache_mcp_cache.a \
         usr/lib/librefcache_jsonio.a usr/lib/librefcache_metrics.a \
         usr/include/refcache/ref_cache.hpp usr/include/refcache/version.hpp \
         usr/include/mcp/server.hpp usr/include/mcp/client.hpp \
         usr/include/refcache_mcp/cached_tools.hpp usr/lib/cmake/refcache/refcacheConfig.cmake \
         usr/lib/cmake/refcache/refcacheConfigVersion.cmake usr/lib/pkgconfig/refcache.pc; do
  grep -qx "\./$f" "$work/contents" || fail "the package holds no /$f"
done
grep -v '^\./usr/' "$work/contents" | grep -qvx '\./' && fail "the package installs outside /usr"
ok "contents: programs, libraries, headers, CMake package and pkg-config file, all under /usr"

root=$work/root
dpkg-deb -x "$deb" "$root"
help=$("$root/usr/bin/refcache-calculator" --help) ||
  fail "the extracted refcache-calculator --help does not run"
grep -q "^Usage: refcache-calculator" <<<"$help" || fail "refcache-calculator --help printed: ${help:0:300}"
out=$(call_stdio "$root/usr/bin/refcache-calculator" generate_primes '{"count":5}') ||
  fail "the extracted calculator did not answer"
grep -q '"value":\[2,3,5,7,11\]' <<<"$out" || fail "generate_primes(5) answered $out"
ok "the extracted refcache-calculator runs: --help, generate_primes over stdio"

cmake -S "$src/examples/hello-server" -B "$work/hello" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$root/usr" -DCMAKE_FIND_PACKAGE_NO_PACKAGE_REGISTRY=ON \
  -DCMAKE_CXX_FLAGS="-Werror" >"$work/configure.log" 2>&1 ||
  { cat "$work/configure.log" >&2; fail "examples/hello-server does not configure against the package"; }
grep -q "refcache_DIR:PATH=$root/usr/lib/cmake/refcache" "$work/hello/CMakeCache.txt" ||
  fail "find_package(refcache) found another refcache than the package's: $(grep refcache_DIR "$work/hello/CMakeCache.txt")"
cmake --build "$work/hello" -j "${JOBS:-2}" >"$work/build.log" 2>&1 ||
  { tail -30 "$work/build.log" >&2; fail "examples/hello-server does not build against the package"; }
out=$(call_stdio "$work/hello/hello-server" make_table '{"rows":3}') || fail "hello-server did not answer"
grep -q '"user-2"' <<<"$out" || fail "make_table(3) answered $out"
ok "examples/hello-server builds with find_package(refcache) against <root>/usr and answers"
