#include "sample_arguments.hpp"

#include <string_view>

namespace conformance_client {

namespace bj = boost::json;

namespace {

// A plain value of a JSON Schema property (`default`, first `enum` member, else by `type`).
bj::value sample_value(const bj::value& property) {
  if (!property.is_object()) return "example";
  const auto& p = property.get_object();
  if (const auto* d = p.if_contains("default")) return *d;
  if (const auto* e = p.if_contains("enum"); e && e->is_array() && !e->get_array().empty())
    return e->get_array().front();
  const auto* t = p.if_contains("type");
  const std::string_view type = t && t->is_string() ? std::string_view(t->get_string()) : "";
  if (type == "integer" || type == "number") return 1;
  if (type == "boolean") return true;
  if (type == "object") return bj::object{};
  if (type == "array") return bj::array{};
  if (type == "null") return nullptr;
  return "example";
}

}  // namespace

bj::object sample_arguments(const mcp::json& input_schema) {
  bj::object args;
  if (!input_schema.is_object()) return args;
  const auto& s = input_schema.get_object();
  const auto* required = s.if_contains("required");
  if (!required || !required->is_array()) return args;
  const bj::value* properties = s.if_contains("properties");
  for (const auto& name : required->get_array()) {
    if (!name.is_string()) continue;
    const bj::value* property = nullptr;
    if (properties && properties->is_object())
      property = properties->get_object().if_contains(name.get_string());
    args[name.get_string()] = property ? sample_value(*property) : bj::value("example");
  }
  return args;
}

}  // namespace conformance_client
