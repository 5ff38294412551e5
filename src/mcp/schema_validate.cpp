// A JSON Schema validator for the keywords tool input schemas use (see schema.hpp for why).
// Unknown keywords are ignored, as the spec allows annotations/vocabularies we do not know.
#include <boost/json.hpp>
#include <cmath>
#include <map>
#include <memory>
#include <regex>
#include <string>

#include "jsonio/json_text.hpp"
#include "mcp/schema.hpp"

namespace mcp {

namespace bj = boost::json;

namespace {

// "pattern" (ECMA-262 regular expression, unanchored as JSON Schema says). Compiled patterns
// are kept per thread. libstdc++'s matcher recurses per character, so strings longer than
// kMaxPatternSubject are refused rather than risking the stack.
constexpr std::size_t kMaxPatternSubject = std::size_t{16} * 1024;

const std::regex* compiled(const std::string& pattern) {
  thread_local std::map<std::string, std::unique_ptr<std::regex>> cache;
  auto it = cache.find(pattern);
  if (it == cache.end()) {
    std::unique_ptr<std::regex> re;
    try {
      re = std::make_unique<std::regex>(pattern, std::regex::ECMAScript);
    } catch (const std::regex_error&) {
      // An invalid pattern in a server's own schema constrains nothing.
    }
    if (cache.size() > 256) cache.clear();
    it = cache.emplace(pattern, std::move(re)).first;
  }
  return it->second.get();
}

std::size_t utf8_length(bj::string_view s) {
  std::size_t n = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++n;
  return n;
}

bool type_matches(std::string_view t, const bj::value& v) {
  if (t == "object") return v.is_object();
  if (t == "array") return v.is_array();
  if (t == "string") return v.is_string();
  if (t == "boolean") return v.is_bool();
  if (t == "null") return v.is_null();
  if (t == "number") return v.is_number();
  if (t == "integer") {
    if (v.is_int64() || v.is_uint64()) return true;
    if (v.is_double())
      return std::trunc(v.get_double()) == v.get_double() && std::isfinite(v.get_double());
    return false;
  }
  return true;
}

bool json_equal(const bj::value& a, const bj::value& b) {
  if (a.is_number() && b.is_number()) return a.to_number<double>() == b.to_number<double>();
  return a == b;
}

struct Validator {
  const bj::value& root;
  int depth = 0;

  const bj::value* resolve_ref(std::string_view ref) const {
    // Local references only ("#", "#/$defs/x", "#/definitions/x"); never network (2026 spec).
    if (ref.empty() || ref[0] != '#') return nullptr;
    if (ref == "#") return &root;
    if (ref.size() < 2 || ref[1] != '/') {
      // "#anchor": search $defs for a matching $anchor.
      std::string_view anchor = ref.substr(1);
      if (auto* o = root.if_object()) {
        for (const char* k : {"$defs", "definitions"}) {
          if (auto it = o->find(k); it != o->end() && it->value().is_object())
            for (const auto& kv : it->value().get_object())
              if (auto* d = kv.value().if_object())
                if (auto a = d->find("$anchor");
                    a != d->end() && a->value().is_string() && a->value().get_string() == anchor)
                  return &kv.value();
        }
      }
      return nullptr;
    }
    std::error_code ec;
    const bj::value* p = root.find_pointer(ref.substr(1), ec);
    return ec ? nullptr : p;
  }

  std::string check(const bj::value& schema, const bj::value& v, const std::string& path) {
    if (schema.is_bool()) return schema.get_bool() ? "" : path + ": not allowed";
    const bj::object* s = schema.if_object();
    if (!s) return "";
    if (++depth > 64) {
      --depth;
      return path + ": schema too deep";
    }
    std::string err = check_object(*s, v, path);
    --depth;
    return err;
  }

  std::string check_object(const bj::object& s, const bj::value& v, const std::string& path) {
    if (auto it = s.find("$ref"); it != s.end() && it->value().is_string()) {
      if (const bj::value* target = resolve_ref(it->value().get_string())) {
        if (auto e = check(*target, v, path); !e.empty()) return e;
      }
    }
    if (auto it = s.find("type"); it != s.end()) {
      const bj::value& t = it->value();
      bool ok = true;
      std::string expected;
      if (t.is_string()) {
        ok = type_matches(t.get_string(), v);
        expected = std::string(t.get_string());
      } else if (t.is_array()) {
        ok = false;
        for (const auto& x : t.get_array()) {
          if (x.is_string()) {
            if (!expected.empty()) expected += " or ";
            expected += std::string(x.get_string());
            if (type_matches(x.get_string(), v)) ok = true;
          }
        }
      }
      if (!ok) return path + ": expected " + expected + ", got " + schema_detail::type_name(v);
    }
    if (auto it = s.find("enum"); it != s.end() && it->value().is_array()) {
      bool found = false;
      for (const auto& e : it->value().get_array())
        if (json_equal(e, v)) found = true;
      if (!found) return path + ": must be one of " + jsonio::to_string(it->value());
    }
    if (auto it = s.find("const"); it != s.end() && !json_equal(it->value(), v))
      return path + ": must equal " + jsonio::to_string(it->value());
    if (v.is_number()) {
      double x = v.to_number<double>();
      auto num = [&](const char* k) -> const bj::value* {
        auto i = s.find(k);
        return (i != s.end() && i->value().is_number()) ? &i->value() : nullptr;
      };
      if (auto* m = num("minimum"); m && x < m->to_number<double>())
        return path + ": must be >= " + jsonio::to_string(*m);
      if (auto* m = num("maximum"); m && x > m->to_number<double>())
        return path + ": must be <= " + jsonio::to_string(*m);
      if (auto* m = num("exclusiveMinimum"); m && x <= m->to_number<double>())
        return path + ": must be > " + jsonio::to_string(*m);
      if (auto* m = num("exclusiveMaximum"); m && x >= m->to_number<double>())
        return path + ": must be < " + jsonio::to_string(*m);
      if (auto* m = num("multipleOf"); m && m->to_number<double>() > 0) {
        double q = x / m->to_number<double>();
        if (std::fabs(q - std::round(q)) > 1e-9)
          return path + ": must be a multiple of " + jsonio::to_string(*m);
      }
    }
    if (v.is_string()) {
      std::size_t n = utf8_length(v.get_string());
      if (auto i = s.find("minLength"); i != s.end() && i->value().is_number() &&
                                        static_cast<double>(n) < i->value().to_number<double>())
        return path + ": shorter than " + jsonio::to_string(i->value()) + " characters";
      if (auto i = s.find("maxLength"); i != s.end() && i->value().is_number() &&
                                        static_cast<double>(n) > i->value().to_number<double>())
        return path + ": longer than " + jsonio::to_string(i->value()) + " characters";
      if (auto i = s.find("pattern"); i != s.end() && i->value().is_string()) {
        if (const std::regex* re = compiled(std::string(i->value().get_string()))) {
          const bj::string_view str = v.get_string();
          if (str.size() > kMaxPatternSubject)
            return path + ": too long to check against pattern " + jsonio::to_string(i->value());
          if (!std::regex_search(str.begin(), str.end(), *re))
            return path + ": does not match pattern " + jsonio::to_string(i->value());
        }
      }
    }
    if (const bj::array* a = v.if_array()) {
      if (auto i = s.find("minItems");
          i != s.end() && i->value().is_number() &&
          static_cast<double>(a->size()) < i->value().to_number<double>())
        return path + ": fewer than " + jsonio::to_string(i->value()) + " items";
      if (auto i = s.find("maxItems");
          i != s.end() && i->value().is_number() &&
          static_cast<double>(a->size()) > i->value().to_number<double>())
        return path + ": more than " + jsonio::to_string(i->value()) + " items";
      std::size_t prefix = 0;
      if (auto i = s.find("prefixItems"); i != s.end() && i->value().is_array()) {
        const auto& p = i->value().get_array();
        for (; prefix < p.size() && prefix < a->size(); ++prefix)
          if (auto e = check(p[prefix], (*a)[prefix], path + "[" + std::to_string(prefix) + "]");
              !e.empty())
            return e;
      }
      if (auto i = s.find("items"); i != s.end())
        for (std::size_t k = prefix; k < a->size(); ++k)
          if (auto e = check(i->value(), (*a)[k], path + "[" + std::to_string(k) + "]"); !e.empty())
            return e;
      if (auto i = s.find("uniqueItems");
          i != s.end() && i->value().is_bool() && i->value().get_bool())
        for (std::size_t x = 0; x < a->size(); ++x)
          for (std::size_t y = x + 1; y < a->size(); ++y)
            if (json_equal((*a)[x], (*a)[y])) return path + ": items must be unique";
    }
    if (const bj::object* o = v.if_object()) {
      if (auto i = s.find("required"); i != s.end() && i->value().is_array())
        for (const auto& r : i->value().get_array())
          if (r.is_string() && !o->contains(r.get_string()))
            return path + ": missing required property \"" +
                   schema_detail::name_for_message(r.get_string()) + "\"";
      const bj::object* props = nullptr;
      if (auto i = s.find("properties"); i != s.end()) props = i->value().if_object();
      auto addl = s.find("additionalProperties");
      for (const auto& kv : *o) {
        std::string sub = path + "." + schema_detail::name_for_message(kv.key());
        if (props) {
          if (auto p = props->find(kv.key()); p != props->end()) {
            if (auto e = check(p->value(), kv.value(), sub); !e.empty()) return e;
            continue;
          }
        }
        if (addl != s.end()) {
          if (addl->value().is_bool() && !addl->value().get_bool())
            return path + ": unexpected property \"" + schema_detail::name_for_message(kv.key()) +
                   "\"";
          if (auto e = check(addl->value(), kv.value(), sub); !e.empty()) return e;
        }
      }
    }
    if (auto i = s.find("allOf"); i != s.end() && i->value().is_array())
      for (const auto& sub : i->value().get_array())
        if (auto e = check(sub, v, path); !e.empty()) return e;
    if (auto i = s.find("anyOf"); i != s.end() && i->value().is_array()) {
      std::string first;
      bool ok = false;
      for (const auto& sub : i->value().get_array()) {
        auto e = check(sub, v, path);
        if (e.empty()) {
          ok = true;
          break;
        }
        if (first.empty()) first = e;
      }
      if (!ok) return path + ": does not match any allowed schema (" + first + ")";
    }
    if (auto i = s.find("oneOf"); i != s.end() && i->value().is_array()) {
      int matches = 0;
      for (const auto& sub : i->value().get_array())
        if (check(sub, v, path).empty()) ++matches;
      if (matches != 1)
        return path + ": must match exactly one schema (matched " + std::to_string(matches) + ")";
    }
    if (auto i = s.find("not"); i != s.end() && check(i->value(), v, path).empty())
      return path + ": matches a forbidden schema";
    if (auto i = s.find("if"); i != s.end()) {
      if (check(i->value(), v, path).empty()) {
        if (auto t = s.find("then"); t != s.end())
          if (auto e = check(t->value(), v, path); !e.empty()) return e;
      } else if (auto el = s.find("else"); el != s.end()) {
        if (auto e = check(el->value(), v, path); !e.empty()) return e;
      }
    }
    return "";
  }
};

}  // namespace

std::string validate(const bj::value& schema, const bj::value& instance, const std::string& path) {
  Validator v{schema};
  return v.check(schema, instance, path);
}

}  // namespace mcp
