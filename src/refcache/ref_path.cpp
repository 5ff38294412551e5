#include "refcache/ref_path.hpp"

#include <boost/json.hpp>
#include <initializer_list>
#include <limits>

#include "refcache/ref_id.hpp"

namespace refcache {
namespace json = boost::json;

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The pointer prefix naming the container a failed token was looked up in, for messages.
std::string prefix_of(std::string_view pointer, std::size_t end) {
  std::string p(pointer.substr(0, end));
  return p.empty() ? std::string("the whole value") : "'" + p + "'";
}

// The array index `token` names (RFC 6901 §4: "0", or digits without a leading zero), or
// nullopt.
std::optional<std::size_t> array_index(std::string_view token) {
  if (token.empty() || (token.size() > 1 && token[0] == '0')) return std::nullopt;
  std::size_t n = 0;
  for (char c : token) {
    if (c < '0' || c > '9') return std::nullopt;
    const auto digit = static_cast<std::size_t>(c - '0');
    if (n > (std::numeric_limits<std::size_t>::max() - digit) / 10) return std::nullopt;
    n = n * 10 + digit;
  }
  return n;
}

// Null, for a pointer that names nothing; *why (when asked for) becomes `parts` joined.
const json::value* missing(std::string* why, std::initializer_list<std::string_view> parts) {
  if (why != nullptr) {
    why->clear();
    for (std::string_view p : parts) why->append(p);
  }
  return nullptr;
}

}  // namespace

bool is_json_pointer(std::string_view p) {
  if (p.empty()) return true;
  if (p[0] != '/') return false;
  for (std::size_t i = 0; i < p.size(); ++i)
    if (p[i] == '~' && (i + 1 >= p.size() || (p[i + 1] != '0' && p[i + 1] != '1'))) return false;
  return true;
}

std::vector<std::string> pointer_tokens(std::string_view p) {
  std::vector<std::string> out;
  if (p.empty()) return out;
  std::string token;
  for (std::size_t i = 1; i <= p.size(); ++i) {
    if (i == p.size() || p[i] == '/') {
      out.push_back(std::move(token));
      token.clear();
    } else if (p[i] == '~') {
      token.push_back(p[i + 1] == '1' ? '/' : '~');
      ++i;
    } else {
      token.push_back(p[i]);
    }
  }
  return out;
}

std::optional<RefPath> parse_ref_path(std::string_view s) {
  const auto hash = s.find('#');
  RefPath rp;
  rp.ref_id = s.substr(0, hash);
  if (!is_ref_id(rp.ref_id)) return std::nullopt;
  if (hash == std::string_view::npos) return rp;
  rp.pointer = s.substr(hash + 1);
  rp.has_pointer = true;
  if (!is_json_pointer(rp.pointer)) return std::nullopt;
  return rp;
}

bool is_ref_path(std::string_view s) {
  const auto rp = parse_ref_path(s);
  return rp && rp->has_pointer;
}

std::optional<std::string> percent_decode(std::string_view fragment) {
  std::string out;
  out.reserve(fragment.size());
  for (std::size_t i = 0; i < fragment.size(); ++i) {
    if (fragment[i] != '%') {
      out.push_back(fragment[i]);
      continue;
    }
    if (i + 2 >= fragment.size()) return std::nullopt;
    const int hi = hex_value(fragment[i + 1]);
    const int lo = hex_value(fragment[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>((hi * 16) + lo));
    i += 2;
  }
  return out;
}

const json::value* select_part(const json::value& value, std::string_view pointer,
                               std::string* why) {
  const json::value* at = &value;
  std::size_t start = 0;  // where the current token begins in `pointer` (its '/')
  for (const std::string& token : pointer_tokens(pointer)) {
    const std::size_t end = pointer.find('/', start + 1);
    const std::size_t token_start = start;
    start = end == std::string_view::npos ? pointer.size() : end;
    // Only a failure describes where it happened.
    auto where = [&] { return prefix_of(pointer, token_start); };
    if (const auto* obj = at->if_object()) {
      at = obj->if_contains(token);
      if (at == nullptr)
        return missing(why, {"no member '", token, "' in the object at ", where()});
    } else if (const auto* arr = at->if_array()) {
      if (token == "-")
        return missing(why, {"'-' names the element after the last of the array at ", where(),
                             ", which does not exist"});
      const auto index = array_index(token);
      if (!index)
        return missing(why, {"'", token,
                             "' is not an array index (\"0\" or digits without a leading zero) "
                             "for the array at ",
                             where()});
      if (*index >= arr->size())
        return missing(why, {"index ", token, " is past the end of the array at ", where(), " (",
                             std::to_string(arr->size()), " elements)"});
      at = &(*arr)[*index];
    } else {
      return missing(why, {"token '", token, "' goes into a scalar at ", where()});
    }
  }
  return at;
}

std::string missing_part_message(std::string_view written, std::string_view why) {
  return "The JSON Pointer of '" + std::string(written) + "' names nothing: " + std::string(why) +
         ".";
}

}  // namespace refcache
