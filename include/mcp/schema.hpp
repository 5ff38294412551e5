// Typed tool arguments: JSON Schema 2020-12 generated from a C++ type, conversion JSON <-> type,
// and a small validator for raw schemas.
//
// Supported types: bool, integers, floating point, std::string, std::optional<T>,
// std::vector<T>, std::map<std::string, T>, boost::json::value/object/array, enums described
// with BOOST_DESCRIBE_ENUM (as string enums) and structs described with BOOST_DESCRIBE_STRUCT
// (as objects). A struct member is *required* unless it is a std::optional or its default
// member initializer gives it a value different from value-initialization (that value becomes
// the schema's "default"): `int count = 20;` is optional with default 20, `std::string text;`
// is required. Descriptions come from an optional `static std::map<std::string, std::string>
// mcp_field_docs()` member of the struct.
//
// Why a validator of our own: valijson (Debian) drags in Qt/Poco; tool schemas use a small set
// of keywords (type, properties, required, additionalProperties, items, enum, const, bounds,
// lengths, allOf/anyOf/oneOf/not, if/then/else, local $ref), which `validate` implements.
//
// Thread-safety: all functions are pure.
#pragma once

#include <boost/describe.hpp>
#include <boost/json.hpp>
#include <boost/mp11.hpp>
#include <cmath>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace mcp {

// Validates `instance` against `schema`. Returns an empty string when valid, else a message
// naming the first failing location and the rule it breaks (e.g. "arguments.count: expected
// integer, got string", "arguments.mode: must be one of [\"fast\",\"slow\"]"). Messages never
// repeat the argument's value (a caller's secrets would land in logs and transcripts); property
// names in paths are cut to 64 bytes.
std::string validate(const boost::json::value& schema, const boost::json::value& instance,
                     const std::string& path = "arguments");

namespace schema_detail {

template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {};
template <class T>
struct is_vector : std::false_type {};
template <class T, class A>
struct is_vector<std::vector<T, A>> : std::true_type {};
template <class T>
struct is_string_map : std::false_type {};
template <class T, class C, class A>
struct is_string_map<std::map<std::string, T, C, A>> : std::true_type {};

template <class T>
concept Described = boost::describe::has_describe_members<T>::value;
template <class T>
concept DescribedEnum = boost::describe::has_describe_enumerators<T>::value;
template <class T>
concept HasFieldDocs = requires {
  { T::mcp_field_docs() } -> std::convertible_to<std::map<std::string, std::string>>;
};
template <class T>
concept EqualityComparable = requires(const T& a, const T& b) {
  { a == b } -> std::convertible_to<bool>;
};

template <class T>
boost::json::value to_json_value(const T& v);

// Whether two values of a supported type are equal: optionals, vectors and maps element by
// element, described structs member by member (unless they have an operator== of their own),
// anything else with ==. A member whose default differs from its type's value-initialised
// value is optional, with that "default"; comparing this way needs no operator== of the
// user's, also for std::vector<DescribedStruct> members.
template <class T>
bool same_value(const T& a, const T& b) {
  if constexpr (is_optional<T>::value) {
    return a.has_value() == b.has_value() && (!a || same_value(*a, *b));
  } else if constexpr (is_vector<T>::value) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
      if (!same_value(a[i], b[i])) return false;
    return true;
  } else if constexpr (is_string_map<T>::value) {
    if (a.size() != b.size()) return false;
    for (auto i = a.begin(), j = b.begin(); i != a.end(); ++i, ++j)
      if (i->first != j->first || !same_value(i->second, j->second)) return false;
    return true;
  } else if constexpr (Described<T> && !EqualityComparable<T>) {
    bool same = true;
    boost::mp11::mp_for_each<boost::describe::describe_members<T, boost::describe::mod_public>>(
        [&](auto d) { same = same && same_value(a.*d.pointer, b.*d.pointer); });
    return same;
  } else if constexpr (EqualityComparable<T>) {
    return a == b;
  } else {
    return true;
  }
}

}  // namespace schema_detail

// JSON Schema (2020-12 dialect, no "$schema" key) of T.
template <class T>
boost::json::value schema_of() {
  using namespace schema_detail;
  using boost::json::array;
  using boost::json::object;
  if constexpr (std::is_same_v<T, bool>) {
    return object{{"type", "boolean"}};
  } else if constexpr (std::is_integral_v<T>) {
    object o{{"type", "integer"}};
    if constexpr (std::is_unsigned_v<T>) o["minimum"] = 0;
    return o;
  } else if constexpr (std::is_floating_point_v<T>) {
    return object{{"type", "number"}};
  } else if constexpr (std::is_same_v<T, std::string>) {
    return object{{"type", "string"}};
  } else if constexpr (is_optional<T>::value) {
    return schema_of<typename T::value_type>();
  } else if constexpr (is_vector<T>::value) {
    return object{{"type", "array"}, {"items", schema_of<typename T::value_type>()}};
  } else if constexpr (is_string_map<T>::value) {
    return object{{"type", "object"},
                  {"additionalProperties", schema_of<typename T::mapped_type>()}};
  } else if constexpr (std::is_same_v<T, boost::json::object>) {
    return object{{"type", "object"}};
  } else if constexpr (std::is_same_v<T, boost::json::array>) {
    return object{{"type", "array"}};
  } else if constexpr (std::is_same_v<T, boost::json::value>) {
    return object{};
  } else if constexpr (DescribedEnum<T>) {
    array names;
    boost::mp11::mp_for_each<boost::describe::describe_enumerators<T>>(
        [&](auto d) { names.emplace_back(d.name); });
    return object{{"type", "string"}, {"enum", std::move(names)}};
  } else if constexpr (Described<T>) {
    object props;
    array required;
    std::map<std::string, std::string> docs;
    if constexpr (HasFieldDocs<T>) docs = T::mcp_field_docs();
    const T defaults{};
    boost::mp11::mp_for_each<boost::describe::describe_members<T, boost::describe::mod_public>>(
        [&](auto d) {
          using M = std::remove_cvref_t<decltype(defaults.*d.pointer)>;
          boost::json::value s = schema_of<M>();
          auto it = docs.find(d.name);
          if (it != docs.end()) s.as_object()["description"] = it->second;
          bool has_default = false;
          if constexpr (!is_optional<M>::value) {
            if (!same_value(defaults.*d.pointer, M{})) {
              has_default = true;
              s.as_object()["default"] = to_json_value(defaults.*d.pointer);
            }
          }
          if (!is_optional<M>::value && !has_default) required.emplace_back(d.name);
          props[d.name] = std::move(s);
        });
    object o{{"type", "object"}, {"properties", std::move(props)}};
    if (!required.empty()) o["required"] = std::move(required);
    return o;
  } else {
    static_assert(sizeof(T) == 0,
                  "mcp::schema_of: unsupported type (describe it with Boost.Describe)");
  }
}

namespace schema_detail {

// A property name of the caller's as error messages show it: at most 64 bytes (cut at a UTF-8
// character boundary, then "..."), so that an error cannot echo a huge key back.
inline std::string name_for_message(std::string_view key) {
  constexpr std::size_t kMax = 64;
  if (key.size() <= kMax) return std::string(key);
  std::size_t n = kMax;
  while (n > 0 && (static_cast<unsigned char>(key[n]) & 0xC0) == 0x80) --n;
  return std::string(key.substr(0, n)) + "...";
}

inline std::string type_name(const boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::null:
      return "null";
    case boost::json::kind::bool_:
      return "boolean";
    case boost::json::kind::int64:
    case boost::json::kind::uint64:
      return "integer";
    case boost::json::kind::double_:
      return "number";
    case boost::json::kind::string:
      return "string";
    case boost::json::kind::array:
      return "array";
    case boost::json::kind::object:
      return "object";
  }
  return "?";
}

// Converts `v` into `out`; on failure sets `err` ("path: expected X, got Y", naming types and
// rules, never the value) and returns false.
template <class T>
bool from_json_value(const boost::json::value& v, T& out, std::string& err,
                     const std::string& path) {
  auto fail = [&](const char* what) {
    err = path + ": expected " + what + ", got " + type_name(v);
    return false;
  };
  if constexpr (std::is_same_v<T, bool>) {
    if (!v.is_bool()) return fail("boolean");
    out = v.get_bool();
    return true;
  } else if constexpr (std::is_integral_v<T>) {
    if (v.is_int64()) {
      std::int64_t x = v.get_int64();
      if constexpr (std::is_unsigned_v<T>) {
        if (x < 0) return fail("non-negative integer");
      }
      if (static_cast<long double>(x) > static_cast<long double>(std::numeric_limits<T>::max()) ||
          static_cast<long double>(x) < static_cast<long double>(std::numeric_limits<T>::lowest()))
        return fail("integer in range");
      out = static_cast<T>(x);
      return true;
    }
    if (v.is_uint64()) {
      if (static_cast<long double>(v.get_uint64()) >
          static_cast<long double>(std::numeric_limits<T>::max()))
        return fail("integer in range");
      out = static_cast<T>(v.get_uint64());
      return true;
    }
    if (v.is_double()) {
      double d = v.get_double();
      if (std::trunc(d) != d || d > static_cast<double>(std::numeric_limits<T>::max()) ||
          d < static_cast<double>(std::numeric_limits<T>::lowest()))
        return fail("integer");
      out = static_cast<T>(d);
      return true;
    }
    return fail("integer");
  } else if constexpr (std::is_floating_point_v<T>) {
    if (!v.is_number()) return fail("number");
    out = static_cast<T>(v.to_number<double>());
    return true;
  } else if constexpr (std::is_same_v<T, std::string>) {
    if (!v.is_string()) return fail("string");
    out.assign(v.get_string().data(), v.get_string().size());
    return true;
  } else if constexpr (is_optional<T>::value) {
    if (v.is_null()) {
      out.reset();
      return true;
    }
    typename T::value_type inner{};
    if (!from_json_value(v, inner, err, path)) return false;
    out = std::move(inner);
    return true;
  } else if constexpr (is_vector<T>::value) {
    if (!v.is_array()) return fail("array");
    out.clear();
    out.reserve(v.get_array().size());
    std::size_t i = 0;
    for (const auto& e : v.get_array()) {
      typename T::value_type item{};
      if (!from_json_value(e, item, err, path + "[" + std::to_string(i++) + "]")) return false;
      out.push_back(std::move(item));
    }
    return true;
  } else if constexpr (is_string_map<T>::value) {
    if (!v.is_object()) return fail("object");
    out.clear();
    for (const auto& kv : v.get_object()) {
      typename T::mapped_type item{};
      std::string key(kv.key());
      std::string item_path = path;
      item_path += '.';
      item_path += name_for_message(key);
      if (!from_json_value(kv.value(), item, err, item_path)) return false;
      out.emplace(std::move(key), std::move(item));
    }
    return true;
  } else if constexpr (std::is_same_v<T, boost::json::object>) {
    if (!v.is_object()) return fail("object");
    out = v.get_object();
    return true;
  } else if constexpr (std::is_same_v<T, boost::json::array>) {
    if (!v.is_array()) return fail("array");
    out = v.get_array();
    return true;
  } else if constexpr (std::is_same_v<T, boost::json::value>) {
    out = v;
    return true;
  } else if constexpr (DescribedEnum<T>) {
    if (!v.is_string()) return fail("string");
    bool found = false;
    std::string_view s(v.get_string());
    boost::mp11::mp_for_each<boost::describe::describe_enumerators<T>>([&](auto d) {
      if (!found && s == d.name) {
        out = d.value;
        found = true;
      }
    });
    if (!found) {
      std::string allowed;
      boost::mp11::mp_for_each<boost::describe::describe_enumerators<T>>([&](auto d) {
        allowed += allowed.empty() ? "[\"" : ",\"";
        allowed += d.name;
        allowed += '"';
      });
      err = path + ": must be one of " + (allowed.empty() ? "[]" : allowed + "]");
      return false;
    }
    return true;
  } else if constexpr (Described<T>) {
    if (!v.is_object()) return fail("object");
    const auto& obj = v.get_object();
    bool ok = true;
    const T defaults{};
    boost::mp11::mp_for_each<boost::describe::describe_members<T, boost::describe::mod_public>>(
        [&](auto d) {
          if (!ok) return;
          using M = std::remove_cvref_t<decltype(out.*d.pointer)>;
          auto it = obj.find(d.name);
          if (it == obj.end()) {
            bool optional_field = is_optional<M>::value;
            if constexpr (!is_optional<M>::value) {
              if (!same_value(defaults.*d.pointer, M{})) optional_field = true;
            }
            if (!optional_field) {
              err = path + ": missing required property \"" + d.name + "\"";
              ok = false;
            }
            return;
          }
          ok = from_json_value(it->value(), out.*d.pointer, err, path + "." + d.name);
        });
    return ok;
  } else {
    static_assert(sizeof(T) == 0, "mcp::from_json: unsupported type");
  }
}

template <class T>
boost::json::value to_json_value(const T& v) {
  if constexpr (std::is_same_v<T, bool> || std::is_arithmetic_v<T> ||
                std::is_same_v<T, std::string> || std::is_same_v<T, boost::json::object> ||
                std::is_same_v<T, boost::json::array> || std::is_same_v<T, boost::json::value>) {
    return boost::json::value(v);
  } else if constexpr (is_optional<T>::value) {
    return v ? to_json_value(*v) : boost::json::value(nullptr);
  } else if constexpr (is_vector<T>::value) {
    boost::json::array a;
    a.reserve(v.size());
    for (const auto& e : v) a.push_back(to_json_value(e));
    return a;
  } else if constexpr (is_string_map<T>::value) {
    boost::json::object o;
    for (const auto& [k, e] : v) o[k] = to_json_value(e);
    return o;
  } else if constexpr (DescribedEnum<T>) {
    const char* name = "";
    boost::mp11::mp_for_each<boost::describe::describe_enumerators<T>>([&](auto d) {
      if (v == d.value) name = d.name;
    });
    return boost::json::value(name);
  } else if constexpr (Described<T>) {
    boost::json::object o;
    boost::mp11::mp_for_each<boost::describe::describe_members<T, boost::describe::mod_public>>(
        [&](auto d) {
          using M = std::remove_cvref_t<decltype(v.*d.pointer)>;
          if constexpr (is_optional<M>::value) {
            if (!(v.*d.pointer)) return;
          }
          o[d.name] = to_json_value(v.*d.pointer);
        });
    return o;
  } else {
    static_assert(sizeof(T) == 0, "mcp::to_json: unsupported type");
  }
}

}  // namespace schema_detail

// Converts JSON into T. Returns false and sets `error` on a type mismatch or missing field.
template <class T>
bool from_json(const boost::json::value& v, T& out, std::string& error,
               const std::string& path = "arguments") {
  return schema_detail::from_json_value(v, out, error, path);
}

// Converts T into JSON (empty optionals omitted from objects).
template <class T>
boost::json::value to_json(const T& v) {
  return schema_detail::to_json_value(v);
}

}  // namespace mcp
