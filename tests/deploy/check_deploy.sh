#!/usr/bin/env bash
# deploy_files_consistent: Docker cannot run here, so check what can be checked of
# deploy/Dockerfile and deploy/compose.yaml against the repository and the built servers.
#
#   check_deploy.sh REPO_ROOT NODE REFCACHE_CALCULATOR REFCACHE_DATA_ANALYSIS
#
# 1. compose.yaml parses as YAML and has the expected shape (read_deploy.mjs): Valkey with a
#    password, AOF and a named volume, health checks, depends_on service_healthy, ports on
#    127.0.0.1 only, both servers built from deploy/Dockerfile with the repo root as context.
# 2. Every --flag in compose commands and the Dockerfile's CMD is in that server's --help.
# 3. Each command line actually starts the server (bind address and port swapped for
#    127.0.0.1:0, backend memory:), its health check request (headers, body) succeeds against
#    it, and every --allowed-host name is accepted as a Host header.
# 4. The Dockerfile names only what exists: COPY sources (and the .dockerignore allow-list lets
#    them in), the preset, the -D cache variables, the --target programs and the paths the
#    runtime stage copies; build-stage Debian packages are a subset of scripts/setup; the
#    runtime packages provide every shared library the servers link.
set -uo pipefail

if [ $# -ne 4 ]; then
  echo "usage: $0 REPO_ROOT NODE REFCACHE_CALCULATOR REFCACHE_DATA_ANALYSIS" >&2
  exit 2
fi
ROOT=$(cd "$1" && pwd)
NODE=$2
declare -A BIN=([refcache-calculator]=$3 [refcache-data-analysis]=$4)
DOCKERFILE=$ROOT/deploy/Dockerfile
IGNOREFILE=$ROOT/deploy/Dockerfile.dockerignore

failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
ok() { echo "ok:   $*"; }

TMP=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  rm -rf "$TMP"
}
trap cleanup EXIT

# --- 1. parse and structure ------------------------------------------------------------------
if ! "$NODE" "$ROOT/tests/deploy/read_deploy.mjs" "$ROOT" "$TMP" > "$TMP/read.out"; then
  echo "FAIL: read_deploy.mjs could not read the deploy files"
  exit 1
fi
while IFS= read -r line; do
  case $line in FAIL:*) fail "${line#FAIL: }" ;; esac
done < "$TMP/read.out"
ok "compose.yaml parses; structure checked"

# --- 2 + 3. flags, start-up, health check, allowed hosts --------------------------------------
# check_command NAME: uses $TMP/NAME.{bin,args,health}
check_command() {
  local name=$1 program bin help
  program=$(head -n1 "$TMP/$name.bin")
  bin=${BIN[$program]:-}
  if [ -z "$bin" ]; then
    fail "$name: unknown program '$program'"
    return
  fi
  help=$("$bin" --help 2>&1) || { fail "$name: $program --help failed"; return; }
  local -a args health run
  mapfile -t args < "$TMP/$name.args"
  mapfile -t health < "$TMP/$name.health"
  local a flag port="" hosts=()
  for ((i = 0; i < ${#args[@]}; i++)); do
    a=${args[i]}
    [ -z "$a" ] && continue
    case $a in
      --*)
        flag=${a%%=*}
        if grep -qE -- "(^|[ ,])${flag}([ =,]|$)" <<< "$help"; then :; else
          fail "$name: $program has no flag $flag (not in --help)"
        fi
        case $flag in
          --port) port=${args[i + 1]:-} ;;
          --allowed-host) hosts+=("${args[i + 1]:-}") ;;
        esac
        ;;
    esac
  done
  [ -n "$port" ] || fail "$name: command sets no --port"
  # A compose service is reached by its service name on the compose network.
  if [ "$name" != dockerfile ] && ! printf '%s\n' "${hosts[@]}" | grep -qxF "$name"; then
    fail "$name: command has no --allowed-host $name (other containers could not reach it by name)"
  fi

  # Start it as configured, but on 127.0.0.1 and a free port, on the memory backend.
  run=()
  for ((i = 0; i < ${#args[@]}; i++)); do
    case ${args[i]} in
      --host) run+=(--host 127.0.0.1); i=$((i + 1)) ;;
      --port) run+=(--port 0); i=$((i + 1)) ;;
      --backend) run+=(--backend memory:); i=$((i + 1)) ;;
      "") ;;
      *) run+=("${args[i]}") ;;
    esac
  done
  local log=$TMP/$name.log
  env -u REDIS_URL -u REDIS_HOST -u MCP_BEARER_TOKENS -u MCP_PORT \
    "$bin" "${run[@]}" --backend memory: > "$log" 2>&1 &
  local pid=$!
  PIDS+=("$pid")
  local live=""
  for _ in $(seq 300); do  # up to 15 s (sanitizer builds start slowly)
    live=$(grep -oE 'listening on http://[^ ]+:[0-9]+/mcp' "$log" | grep -oE ':[0-9]+/mcp' | tr -dc 0-9)
    [ -n "$live" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  if [ -z "$live" ]; then
    fail "$name: $program ${run[*]} did not start: $(tr '\n' ' ' < "$log")"
    return
  fi
  ok "$name: $program starts with its command line (${args[*]})"

  # The health check, with its URL pointed at the live port.
  if [ ${#health[@]} -eq 0 ]; then
    fail "$name: no health check command"
  else
    local -a probe=()
    local url_port=""
    for h in "${health[@]}"; do
      if [[ $h =~ ^http://127\.0\.0\.1:([0-9]+)(/.*)$ ]]; then
        url_port=${BASH_REMATCH[1]}
        probe+=("http://127.0.0.1:$live${BASH_REMATCH[2]}")
      else
        probe+=("$h")
      fi
    done
    if [ "$url_port" != "$port" ]; then
      fail "$name: health check probes port '${url_port}', the server listens on --port '$port'"
    fi
    if [ "${probe[0]}" != curl ]; then
      fail "$name: health check should run curl, runs '${probe[0]}'"
    elif out=$("${probe[@]}" 2>&1); then
      ok "$name: health check succeeds against the running server"
    else
      fail "$name: health check failed: $out"
    fi
  fi

  # Names other containers use must pass Host validation.
  for h in "${hosts[@]}"; do
    local code
    code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Host: $h:$port" \
      -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \
      -H 'MCP-Protocol-Version: 2026-07-28' -H 'Mcp-Method: server/discover' \
      --data '{"jsonrpc":"2.0","id":1,"method":"server/discover","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}' \
      "http://127.0.0.1:$live/mcp")
    if [ "$code" = 200 ]; then ok "$name: Host $h:$port accepted"; else fail "$name: Host $h:$port got HTTP $code"; fi
  done
  kill "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
}

check_command dockerfile
while IFS= read -r svc; do
  [ -n "$svc" ] && check_command "$svc"
done < "$TMP/services"

# --- 4. the Dockerfile names only what exists ------------------------------------------------
# Instructions with continuation lines joined, comments dropped.
joined=$(awk '
  /^[[:space:]]*#/ && cur == "" { next }
  { line = $0; sub(/[[:space:]]+$/, "", line) }
  line ~ /\\$/ { cur = cur substr(line, 1, length(line) - 1) " "; next }
  { cur = cur line; if (cur != "") print cur; cur = "" }' "$DOCKERFILE")

# COPY sources from the build context exist and pass the .dockerignore allow-list.
allowed=$(grep -E '^!' "$IGNOREFILE" 2>/dev/null | sed -e 's/^!//' -e 's:/$::')
while read -r -a words; do
  [ "${words[0]}" = COPY ] || continue
  [[ ${words[1]} == --from=* ]] && continue
  n=${#words[@]}
  for ((i = 1; i < n - 1; i++)); do
    src=${words[i]%/}
    [[ $src == --* ]] && continue
    if [ ! -e "$ROOT/$src" ]; then fail "Dockerfile COPY $src: no such path in the repository"; fi
    if [ -f "$IGNOREFILE" ] && ! grep -qxF "$src" <<< "$allowed"; then
      fail "Dockerfile COPY $src: excluded by deploy/Dockerfile.dockerignore"
    fi
  done
done <<< "$joined"
ok "COPY sources checked"

# The configure preset, -D variables and build targets exist.
presets=$(grep -oE '"name"[[:space:]]*:[[:space:]]*"[^"]+"' "$ROOT/CMakePresets.json" | sed -E 's/.*"([^"]+)"$/\1/')
for p in $(grep -oE -- '--preset[[:space:]]+[A-Za-z0-9_-]+' <<< "$joined" | awk '{print $2}' | sort -u); do
  grep -qxF "$p" <<< "$presets" || fail "Dockerfile uses preset '$p', not in CMakePresets.json"
done
for v in $(grep -oE -- '-D[A-Z_][A-Z0-9_]*=' <<< "$joined" | sed -e 's/^-D//' -e 's/=$//' | sort -u); do
  grep -qE "option\(${v}[[:space:]]|set\(${v}[[:space:]].*CACHE" "$ROOT/CMakeLists.txt" ||
    fail "Dockerfile sets -D$v, which CMakeLists.txt does not define"
done
targets=$(grep -oE -- '--target[[:space:]]+[^&;]+' <<< "$joined" | sed -E 's/^--target[[:space:]]+//' | tr ' ' '\n' | grep -v '^$' | sort -u)
[ -n "$targets" ] || fail "Dockerfile builds no --target"
for t in $targets; do
  grep -qE "add_executable\(${t}[[:space:]]" "$ROOT/apps/$t/CMakeLists.txt" 2>/dev/null ||
    fail "Dockerfile builds target '$t': no add_executable($t ...) in apps/$t/CMakeLists.txt"
done
# What the runtime stage copies out of the build stage: build/<preset>/apps/<t>/<t>.
binary_dir=$(grep -oE '"binaryDir"[[:space:]]*:[[:space:]]*"[^"]+"' "$ROOT/CMakePresets.json" | grep -oE 'build/[a-z]+' | sort -u)
while read -r -a words; do
  [ "${words[0]}" = COPY ] && [[ ${words[1]} == --from=* ]] || continue
  src=${words[2]}
  if [[ $src =~ /(build/[a-z]+)/apps/([^/]+)/([^/]+)$ ]]; then
    grep -qxF "${BASH_REMATCH[1]}" <<< "$binary_dir" || fail "Dockerfile copies from ${BASH_REMATCH[1]}, not a preset binaryDir"
    [ "${BASH_REMATCH[2]}" = "${BASH_REMATCH[3]}" ] && grep -qxF "${BASH_REMATCH[3]}" <<< "$targets" ||
      fail "Dockerfile copies $src, which the build stage does not build"
  else
    fail "Dockerfile copies $src from the build stage: not a built program"
  fi
done <<< "$joined"
ok "preset, cache variables, targets and copied programs checked"

# Debian packages per stage: the words after "apt-get install" up to the next && or end.
stage_packages() {  # $1 = stage index (0 = build, 1 = runtime)
  awk -v want="$1" '
    /^FROM / { stage++ }
    stage - 1 == want && /apt-get install/ {
      s = $0; sub(/.*apt-get install/, "", s); sub(/&&.*/, "", s)
      n = split(s, w, /[[:space:]]+/)
      for (i = 1; i <= n; i++) if (w[i] != "" && w[i] !~ /^-/) print w[i]
    }' <<< "$joined"
}
setup_packages=$(awk '/^(NODE_)?APT_PACKAGES=\(/ { on = 1; next } on && /^\)/ { on = 0 } on' "$ROOT/scripts/setup" | tr -s ' \t' '\n\n' | grep -v '^$')
build_pkgs=$(stage_packages 0)
[ -n "$build_pkgs" ] || fail "Dockerfile build stage installs no Debian packages"
for p in $build_pkgs; do
  grep -qxF "$p" <<< "$setup_packages" || fail "Dockerfile build stage installs '$p', which scripts/setup does not"
done
ok "build-stage packages are a subset of scripts/setup"

runtime_pkgs=$(stage_packages 1)
if command -v dpkg-query > /dev/null && command -v ldd > /dev/null; then
  # One dpkg-query for every library the two servers link: "package:arch: /path/libX.so.N".
  libs=$(for b in "${BIN[@]}"; do ldd "$b"; done | awk '/=>/ { print $1 }' | sort -u)
  owners=$(dpkg-query -S $(sed 's:^:*/:' <<< "$libs") 2>/dev/null | grep -v -- '-dev' | grep -vE '^lib(32|x32|64)|i386')
  for lib in $libs; do
    pkg=$(grep -E "/${lib//./\\.}\$" <<< "$owners" | head -n1 | cut -d: -f1)
    case $pkg in
      # In every Debian base image, pulled in by another package, or a sanitizer build's runtime.
      "" | libc6 | libgcc-s1 | libstdc++6 | libgomp1 | libasan* | libubsan* | libtsan* | liblsan*) continue ;;
    esac
    grep -qxF "$pkg" <<< "$runtime_pkgs" || fail "the servers link $lib (package $pkg), which the runtime stage does not install"
  done
  ok "runtime packages cover the servers' shared libraries"
else
  echo "skip: dpkg-query/ldd not available; runtime libraries not checked"
fi

if [ "$failures" -ne 0 ]; then
  echo "deploy_files_consistent: $failures failure(s)"
  exit 1
fi
echo "deploy_files_consistent: all checks passed"
