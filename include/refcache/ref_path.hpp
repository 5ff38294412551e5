// Ref paths: "<ref_id>#<JSON Pointer>" names the part of a ref's value that the pointer
// (RFC 6901) selects, wherever a ref id is accepted. "calc:0123abcd#/rows/0/id" is member
// "id" of element 0 of member "rows"; "calc:0123abcd#" (the empty pointer) is the whole
// value, and "calc:0123abcd#/" the member named "" (RFC 6901 §5). In a pointer "~1" stands
// for '/' and "~0" for '~'; any other '~' makes the string no ref path. An array is indexed
// by "0" or a decimal number without leading zeros; "-" (the element after the last) names
// nothing. In a URI (refcache://<ref_id>#<fragment>) the pointer is percent-encoded (RFC 6901
// §6) and decoded before it is split into tokens.
//
// A string is a ref path only as a whole: a valid ref id (ref_id.hpp), '#', then a valid
// pointer. Anything else holding a '#' is an ordinary string. A part carries the permissions
// of its whole ref: whoever may read or use the ref may read or use its parts, and nobody
// else learns anything about them. Which token of a pointer names nothing is said only to a
// caller allowed to read the value (missing_part_message()).
//
// Thread-safety: every function is pure and may be called from any thread.
#pragma once

#include <boost/json/value.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace refcache {

// The shape of a ref id, optionally followed by '#' and a JSON Pointer, as an ECMA-262
// regular expression for JSON Schema "pattern". It agrees with parse_ref_path().
inline constexpr std::string_view kRefPathPattern =
    "^[a-zA-Z][a-zA-Z0-9_-]*:[a-f0-9]{8,}(#(/([^~/]|~[01])*)*)?$";

// A ref id with an optional pointer, viewing the string parsed.
struct RefPath {
  std::string_view ref_id{};   // is_ref_id(ref_id)
  std::string_view pointer{};  // after the '#', still escaped; "" = the whole value
  bool has_pointer = false;    // true when the string had a '#'
};

// True when `p` is a JSON Pointer (RFC 6901 §3): empty, or tokens each introduced by '/'
// in which every '~' is followed by '0' or '1'.
bool is_json_pointer(std::string_view p);

// The reference tokens of `p`, unescaped ("~1" to '/', then "~0" to '~').
// REQUIRES: is_json_pointer(p).
std::vector<std::string> pointer_tokens(std::string_view p);

// `s` split into ref id and pointer when it is a ref id, or a ref id, '#' and a JSON
// Pointer; else nullopt.
std::optional<RefPath> parse_ref_path(std::string_view s);

// True when `s` is a ref id followed by '#' and a JSON Pointer (not a bare ref id).
bool is_ref_path(std::string_view s);

// True when `s` names a ref or a part of one: is_ref_id(s) || is_ref_path(s).
inline bool names_ref(std::string_view s) {
  return parse_ref_path(s).has_value();
}

// A URI component percent-decoded (RFC 3986 §2.1): a fragment gives the JSON Pointer it
// encodes (RFC 6901 §6). nullopt when a '%' is not followed by two hex digits.
std::optional<std::string> percent_decode(std::string_view fragment);

// The part of `value` that `pointer` names, or null when it names nothing. Then, when `why`
// is not null, *why says which token failed and where (it describes the value's structure:
// only for a caller allowed to read the value). REQUIRES: is_json_pointer(pointer).
const boost::json::value* select_part(const boost::json::value& value, std::string_view pointer,
                                      std::string* why = nullptr);

// The message for a ref path `written` whose pointer names nothing, `why` from select_part().
std::string missing_part_message(std::string_view written, std::string_view why);

}  // namespace refcache
