#!/bin/sh
# The checks of consumer_example.cpp, the documented server built as a consumer builds it.
#   consumer_example.sh run BINARY        initialize and tools/list over stdio, then EOF: the
#                                         answer lists the tool "add" and the server exits 0
#   consumer_example.sh docs MCP_SDK_MD CONSUMER_EXAMPLE_CPP
#                                         the example of docs/mcp-sdk.md (its first cpp block)
#                                         and the copy between the clang-format markers are the
#                                         same text
set -eu
case "$1" in
run)
  out=$(printf '%s\n' \
    '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}' \
    '{"jsonrpc":"2.0","method":"notifications/initialized"}' \
    '{"jsonrpc":"2.0","id":2,"method":"tools/list"}' | "$2" --stdio)
  echo "$out"
  echo "$out" | grep -q '"name":"add"' || { echo "consumer_example: tools/list lacks add" >&2; exit 1; }
  ;;
docs)
  docs=$(awk '/^```cpp$/ { if (!seen) { on = 1; seen = 1; next } } /^```$/ { on = 0 } on' "$2")
  copy=$(awk '/^\/\/ clang-format off$/ { on = 1; next } /^\/\/ clang-format on$/ { on = 0 } on' "$3")
  if [ "$docs" != "$copy" ]; then
    echo "consumer_example: the example of $2 and the copy in $3 differ:" >&2
    printf '%s\n' "$docs" >"${TMPDIR:-/tmp}/consumer_example.docs.$$"
    printf '%s\n' "$copy" | diff "${TMPDIR:-/tmp}/consumer_example.docs.$$" - >&2 || true
    rm -f "${TMPDIR:-/tmp}/consumer_example.docs.$$"
    exit 1
  fi
  ;;
*)
  echo "usage: $0 run BINARY | docs MCP_SDK_MD CONSUMER_EXAMPLE_CPP" >&2
  exit 2
  ;;
esac
