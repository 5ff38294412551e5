#!/bin/sh
# The checks of client_example.cpp, the documented client built as a consumer builds it.
#   client_example.sh run BINARY SERVER   runs the client against `SERVER --stdio`: it connects
#                                         in the 2026-07-28 era, calls typed and raw tools,
#                                         sees progress, a timeout, an input round, a resource
#                                         and a prompt, and exits 0
#   client_example.sh docs MCP_SDK_MD CLIENT_EXAMPLE_CPP
#                                         the client example of docs/mcp-sdk.md (the first cpp
#                                         block after "## Writing a client") and the copy
#                                         between the clang-format markers are the same text
set -eu
case "$1" in
run)
  out=$(timeout 60 "$2" "$3" --stdio)
  echo "$out"
  for want in "connected to mcp-conformance-server, protocol 2026-07-28" "tool add: Adds two numbers" \
      "2 + 3 = 5" "echo: hello" "progress 100/100" "slow: timeout" "the server asks: What is your name?" \
      "Hello, Ada!" "resource: This is the content of the static text resource." \
      "prompt: Prompt with arguments: arg1='x', arg2='y'"; do
    echo "$out" | grep -qF "$want" || { echo "client_example: the output lacks: $want" >&2; exit 1; }
  done
  ;;
docs)
  docs=$(awk '/^## Writing a client/ { section = 1 } section && /^```cpp$/ { if (!seen) { on = 1; seen = 1; next } } /^```$/ { on = 0 } on' "$2")
  copy=$(awk '/^\/\/ clang-format off$/ { on = 1; next } /^\/\/ clang-format on$/ { on = 0 } on' "$3")
  if [ -z "$docs" ] || [ "$docs" != "$copy" ]; then
    echo "client_example: the example of $2 and the copy in $3 differ:" >&2
    printf '%s\n' "$docs" >"${TMPDIR:-/tmp}/client_example.docs.$$"
    printf '%s\n' "$copy" | diff "${TMPDIR:-/tmp}/client_example.docs.$$" - >&2 || true
    rm -f "${TMPDIR:-/tmp}/client_example.docs.$$"
    exit 1
  fi
  ;;
*)
  echo "usage: $0 run BINARY SERVER | docs MCP_SDK_MD CLIENT_EXAMPLE_CPP" >&2
  exit 2
  ;;
esac
