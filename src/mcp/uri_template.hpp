// Matching URIs against RFC 6570 templates (levels 1-2: {var}, {+var}, {#var}), the subset
// resource templates use. {var} matches one or more characters other than '/', '?', '#';
// {+var} and {#var} match anything. Matched values are percent-decoded.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace mcp {

std::optional<std::map<std::string, std::string>> match_uri_template(std::string_view tmpl,
                                                                     std::string_view uri);

}  // namespace mcp
