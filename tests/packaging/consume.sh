#!/usr/bin/env bash
# Consumes refcache the ways a C++ user would, from a scratch folder:
#   install BUILD SRC       cmake --install BUILD into a prefix; check what it holds; build
#                           examples/hello-server with find_package (-Wall -Wextra -Werror)
#                           and run it over stdio; build a program with pkg-config; generate
#                           a server with scripts/new-server, build it and run its test
#   subproject BUILD SRC    a project that add_subdirectory()s the source tree: configured
#                           and generated, and one library of it built
#   fetchcontent BUILD SRC  a project that FetchContent-s the repository (git): configured,
#                           its server built (with the libraries it links) and run
# FetchContent adds the fetched tree with add_subdirectory too, so the two differ only in
# where the sources come from (the committed state, or the working tree); building the same
# sources with the same flags twice would prove nothing more, and cost minutes.
# Each prints what it checks and exits non-zero at the first failure.
set -euo pipefail
mode=$1 build=$(cd "$2" && pwd) src=$(cd "$3" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/refcache-packaging.XXXXXX")
trap 'rm -rf "$work"' EXIT
ok() { echo "ok: $*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
jobs=${JOBS:-2}

# An initialize, initialized and tools/call over stdio; prints the tools/call answer.
call_stdio() {  # BIN TOOL ARGS_JSON
  printf '%s\n' \
    '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"packaging","version":"1"}}}' \
    '{"jsonrpc":"2.0","method":"notifications/initialized"}' \
    "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":\"$2\",\"arguments\":$3}}" |
    timeout 30 "$1" --backend memory: 2>/dev/null | grep '"id":2'
}

# A consumer project with a server like examples/hello-server, built with the consumer's own
# warnings as errors (refcache's headers must be clean under them, and refcache's own flags
# must not reach it).
consumer_main() {
  cp "$src/examples/hello-server/main.cpp" "$1/main.cpp"
}

case $mode in
install)
  prefix=$work/prefix
  cmake --install "$build" --prefix "$prefix" >/dev/null
  for f in lib/librefcache.a lib/librefcache_mcp.a lib/librefcache_mcp_client.a lib/librefcache_mcp_cache.a \
           lib/librefcache_jsonio.a lib/librefcache_metrics.a \
           include/refcache/ref_cache.hpp include/refcache/version.hpp include/mcp/server.hpp \
           include/mcp/client.hpp include/mcp/client_oauth.hpp include/refcache/tokenizer.hpp \
           include/refcache_mcp/cached_tools.hpp lib/cmake/refcache/refcacheConfig.cmake \
           lib/cmake/refcache/refcacheConfigVersion.cmake lib/pkgconfig/refcache.pc \
           bin/refcache-calculator bin/refcache-data-analysis bin/refcache-gateway bin/refcache; do
    [ -e "$prefix/$f" ] || fail "the install holds no $f"
  done
  ok "cmake --install: libraries, headers (with version.hpp), programs, CMake package, pkg-config file"
  "$prefix/bin/refcache-calculator" --help >/dev/null || fail "the installed calculator does not run"
  ok "the installed refcache-calculator runs"
  "$prefix/bin/refcache" help >/dev/null || fail "the installed refcache admin CLI does not run"
  ok "the installed refcache admin CLI runs"

  cmake -S "$src/examples/hello-server" -B "$work/hello" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_CXX_FLAGS="-Werror" >/dev/null
  cmake --build "$work/hello" -j "$jobs" >/dev/null || fail "examples/hello-server does not build against the install"
  ok "examples/hello-server builds with find_package(refcache 0.2) under -Wall -Wextra -Werror"
  out=$(call_stdio "$work/hello/hello-server" make_table '{"rows":3}') || fail "hello-server did not answer"
  grep -q '"user-2"' <<<"$out" || fail "make_table(3) answered $out"
  out=$(call_stdio "$work/hello/hello-server" make_table '{"rows":2000}')
  grep -q '"is_complete":false' <<<"$out" && grep -q '"ref_id":"hello:' <<<"$out" ||
    fail "make_table(2000) is not answered by reference: ${out:0:300}"
  ok "hello-server answers a small table whole and a large one by reference"

  mkdir -p "$work/vcheck"
  cat >"$work/vcheck/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.25)
project(vcheck LANGUAGES CXX)
find_package(refcache 0.3 QUIET)
if(refcache_FOUND)
  message(FATAL_ERROR "find_package(refcache 0.3) matched a 0.2 install")
endif()
find_package(refcache 0.2 REQUIRED)
CMAKE
  cmake -S "$work/vcheck" -B "$work/vcheck/build" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null ||
    fail "the version file accepts 0.3 or refuses 0.2"
  ok "the package version file takes 0.2 and refuses 0.3"

  cat >"$work/pc.cpp" <<'CPP'
#include <cstdio>
#include "refcache/ref_cache.hpp"
#include "refcache/version.hpp"
int main() {
  refcache::RefCache cache({.name = "pc"});
  auto ref = cache.set("k", boost::json::value{1, 2, 3});
  std::printf("%s %s\n", std::string(refcache::kVersion).c_str(), ref.ref_id.c_str());
}
CPP
  flags=$(PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --cflags --libs --static refcache) ||
    fail "pkg-config does not know refcache"
  # shellcheck disable=SC2086
  g++ -Wall -Wextra -Werror "$work/pc.cpp" -o "$work/pc" $flags || fail "a pkg-config build fails"
  "$work/pc" | grep -q "^0\.2\.[0-9]* pc:[0-9a-f]\{16\}$" || fail "the pkg-config build does not run"
  ok "a program built with pkg-config --cflags --libs refcache runs"

  "$src/scripts/new-server" demo-server "$work" >/dev/null
  cmake -S "$work/demo-server" -B "$work/demo-server/build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_CXX_FLAGS="-Werror" >/dev/null
  cmake --build "$work/demo-server/build" -j "$jobs" >/dev/null || fail "a generated server does not build"
  ctest --test-dir "$work/demo-server/build" --output-on-failure >/dev/null || fail "a generated server's test fails"
  "$work/demo-server/build/demo-server" --help >/dev/null
  ok "scripts/new-server demo-server: builds, its test passes, its program runs"
  ;;

subproject | fetchcontent)
  mkdir -p "$work/app"
  consumer_main "$work/app"
  if [ "$mode" = subproject ]; then
    get="add_subdirectory(\"$src\" refcache)"
  else
    # A clone of the repository's committed state, as FetchContent would fetch it anywhere.
    git clone -q "$src" "$work/repo"
    get="include(FetchContent)
FetchContent_Declare(refcache GIT_REPOSITORY \"file://$work/repo\" GIT_TAG HEAD)
FetchContent_MakeAvailable(refcache)"
  fi
  cat >"$work/app/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.25)
project(consumer LANGUAGES CXX)
set(CMAKE_CXX_STANDARD 20)
$get
foreach(t refcache_calculator refcache-calculator core_bench refcache_unit_tests)
  if(TARGET \${t})
    message(FATAL_ERROR "a subproject built \${t}: tests, benches and programs must be off")
  endif()
endforeach()
add_executable(hello-server main.cpp)
target_link_libraries(hello-server PRIVATE refcache::mcp_cache)
target_compile_options(hello-server PRIVATE -Wall -Wextra -Werror)
CMAKE
  # A clone has no tokenizer data (.cache is not committed): the source tree's, as
  # docs/write-a-server.md tells FetchContent users.
  cmake -S "$work/app" -B "$work/app/build" -G Ninja -DCMAKE_BUILD_TYPE=Debug \
    -DCMAKE_CXX_FLAGS_DEBUG="-O0 -g0" -DREFCACHE_TIKTOKEN_DIR="$src/.cache/tiktoken-1.0.21" \
    >"$work/configure.log" 2>&1 ||
    { cat "$work/configure.log" >&2; fail "a project using refcache by $mode does not configure"; }
  ok "a project using refcache by $mode configures; refcache builds no tests, benches or programs there"
  grep -q "refcache: .*SQLite" "$work/configure.log" || fail "the configure log does not say which SQLite"
  grep "refcache: .*SQLite" "$work/configure.log" | sed 's/^-- /   /'
  if [ "$mode" = subproject ]; then
    cmake --build "$work/app/build" -j "$jobs" --target refcache_jsonio >"$work/build.log" 2>&1 ||
      { tail -30 "$work/build.log" >&2; fail "refcache_jsonio does not build as a subproject"; }
    ok "refcache_jsonio builds there (the whole build is packaging_fetchcontent's)"
    exit 0
  fi
  # Its own target, and so the refcache libraries it links (not the client library it does not).
  cmake --build "$work/app/build" -j "$jobs" --target hello-server >"$work/build.log" 2>&1 ||
    { tail -30 "$work/build.log" >&2; fail "the project using refcache by $mode does not build"; }
  ok "it builds, its own target with -Wall -Wextra -Werror"
  out=$(call_stdio "$work/app/build/hello-server" make_table '{"rows":3}') || fail "its server did not answer"
  grep -q '"user-2"' <<<"$out" || fail "its server answered $out"
  ok "its server answers"
  ;;
*)
  fail "usage: consume.sh install|subproject|fetchcontent BUILD_DIR SOURCE_DIR"
  ;;
esac
