# Turns a text file into a C++ function returning its bytes (cmake -DIN=... -DOUT=...
# -DNAMESPACE=... -DFUNCTION=... -P embed_text.cmake). Each byte becomes a \xNN escape, so any
# content survives unchanged.
file(READ "${IN}" _hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "\\\\x\\1" _escaped "${_hex}")
get_filename_component(_name "${IN}" NAME)
file(WRITE "${OUT}.tmp"
  "// Generated from ${_name} by cmake/embed_text.cmake; edit the source file instead.\n"
  "#include <string_view>\n\n"
  "namespace ${NAMESPACE} {\n\n"
  "std::string_view ${FUNCTION}() {\n"
  "  static constexpr char kText[] = \"${_escaped}\";\n"
  "  return {kText, sizeof kText - 1};\n"
  "}\n\n"
  "}  // namespace ${NAMESPACE}\n")
file(COPY_FILE "${OUT}.tmp" "${OUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUT}.tmp")
