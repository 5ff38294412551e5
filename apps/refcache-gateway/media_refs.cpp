#include "media_refs.hpp"

#include <optional>
#include <string>

#include "refcache_mcp/cached_tools.hpp"

namespace gateway {
namespace json = boost::json;

namespace {

// A media item of a content block: what is stored and what the link says of it.
struct Item {
  std::string source;     // image, audio, resource
  std::string mime_type;  // as the block gives it
  json::string data;      // base64 text, or a text resource's text
  bool base64 = true;
  std::string uri;  // an embedded resource's own URI
};

const json::string* string_member(const json::object& o, const char* key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? &v->get_string() : nullptr;
}

// The item a block holds, if it is an image, audio or embedded resource with its data.
std::optional<Item> item_of(const json::value& block) {
  const json::object* o = block.if_object();
  if (o == nullptr) return std::nullopt;
  const json::string* type = string_member(*o, "type");
  if (type == nullptr) return std::nullopt;
  Item it;
  if (*type == "image" || *type == "audio") {
    const json::string* data = string_member(*o, "data");
    const json::string* mime = string_member(*o, "mimeType");
    if (data == nullptr || mime == nullptr) return std::nullopt;
    it.source = std::string(*type);
    it.mime_type = std::string(*mime);
    it.data = *data;
    return it;
  }
  if (*type == "resource") {
    const json::value* r = o->if_contains("resource");
    if (r == nullptr || !r->is_object()) return std::nullopt;
    const json::object& res = r->get_object();
    const json::string* blob = string_member(res, "blob");
    const json::string* text = string_member(res, "text");
    if (blob == nullptr && text == nullptr) return std::nullopt;
    it.source = "resource";
    const json::string* mime = string_member(res, "mimeType");
    it.mime_type = mime != nullptr ? std::string(*mime)
                                   : (blob != nullptr ? "application/octet-stream" : "text/plain");
    it.base64 = blob != nullptr;
    it.data = blob != nullptr ? *blob : *text;
    if (const json::string* uri = string_member(res, "uri")) it.uri = std::string(*uri);
    return it;
  }
  return std::nullopt;
}

// Bytes of the content that `base64` encodes.
std::size_t decoded_size(const json::string& base64) {
  std::size_t pad = 0;
  for (std::size_t i = base64.size(); i > 0 && base64[i - 1] == '=' && pad < 2; --i) ++pad;
  return base64.size() / 4 * 3 - pad;
}

}  // namespace

mcp::CallToolResult media_by_reference(refcache::RefCache& cache, const refcache::CallIdentity& who,
                                       mcp::CallToolResult result,
                                       const InterceptOptions& options) {
  std::optional<refcache::SetOptions> scope;  // made once, for the first item
  for (auto& block : result.content) {
    std::optional<Item> it = item_of(block);
    if (!it) continue;
    if (!scope) {
      scope = result_scope(cache, who);
      scope->tool_name = options.tool;
    }
    refcache::SetOptions so = *scope;
    so.metadata = json::object{{"upstream", options.upstream},
                               {"source", it->source},
                               {refcache::mcp::kMediaMimeType, it->mime_type}};
    if (it->base64) so.metadata[refcache::mcp::kMediaEncoding] = refcache::mcp::kBase64;
    if (!it->uri.empty()) so.metadata["uri"] = it->uri;
    const std::size_t bytes = it->base64 ? decoded_size(it->data) : it->data.size();
    refcache::CacheReference ref = cache.set("", json::value(std::move(it->data)), so);
    std::string about = it->source;
    about += " (";
    about += it->mime_type;
    about += ", " + std::to_string(bytes) + " bytes";
    if (!it->uri.empty()) about += ", " + it->uri;
    about += ") from " + options.upstream +
             ", stored by reference: read it as a resource, or pass the ref_id " + ref.ref_id +
             " to tools in place of its " + (it->base64 ? "base64 data" : "text") + ".";
    block = mcp::resource_link(refcache::mcp::kRefUriPrefix + ref.ref_id, ref.ref_id, about,
                               it->mime_type);
  }
  return result;
}

}  // namespace gateway
