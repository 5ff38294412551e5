// MRTR request state (2026-07-28 input_required rounds): signed on the way out, verified on the
// retry before any handler sees it.
#include "jsonio/json_text.hpp"
#include "server_impl.hpp"

namespace mcp::detail {

namespace bj = boost::json;

namespace {

// What a state is bound to: the method and the tool/prompt name or resource URI.
std::string state_subject(const CallState& c) {
  std::string subject = c.method + "\n";
  if (auto* n = member_string(c.params, "name"))
    subject += std::string(*n);
  else if (auto* u = member_string(c.params, "uri"))
    subject += std::string(*u);
  return subject;
}

std::int64_t unix_seconds(std::chrono::system_clock::duration since_epoch) {
  return std::chrono::duration_cast<std::chrono::seconds>(since_epoch).count();
}

}  // namespace

std::string RequestStateSigner::sign(const CallState& c, const std::string& state) const {
  const auto exp = unix_seconds(std::chrono::system_clock::now().time_since_epoch() + ttl_);
  bj::object p{{"b", state_subject(c)}, {"s", state}, {"e", exp}};
  std::string payload = crypto::base64url_encode(jsonio::to_string(p));
  return "v1." + payload + "." + crypto::base64url_encode(crypto::hmac_sha256(key_, payload));
}

bool RequestStateSigner::verify(const CallState& c, std::string_view token,
                                std::string& state) const {
  if (token.substr(0, 3) != "v1.") return false;
  token.remove_prefix(3);
  auto dot = token.find('.');
  if (dot == std::string_view::npos) return false;
  std::string_view payload = token.substr(0, dot);
  std::string mac;
  if (!crypto::base64url_decode(token.substr(dot + 1), mac)) return false;
  if (!crypto::equal_ct(mac, crypto::hmac_sha256(key_, payload))) return false;
  std::string raw;
  if (!crypto::base64url_decode(payload, raw)) return false;
  std::error_code ec;
  bj::value v = jsonio::parse(raw, ec);
  if (ec || !v.is_object()) return false;
  const auto& o = v.get_object();
  auto* b = member_string(o, "b");
  auto* s = member_string(o, "s");
  auto e = o.find("e");
  if (!b || !s || e == o.end() || !e->value().is_int64()) return false;
  if (*b != state_subject(c)) return false;
  if (e->value().get_int64() < unix_seconds(std::chrono::system_clock::now().time_since_epoch()))
    return false;
  state = std::string(*s);
  return true;
}

}  // namespace mcp::detail
