// The client's logger (client_log.hpp).
#include "client_log.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>

namespace mcp {

namespace detail {

spdlog::logger& client_log() {
  static const std::shared_ptr<spdlog::logger> logger = [] {
    if (auto existing = spdlog::get("mcp-client")) return existing;
    auto l = spdlog::stderr_color_mt("mcp-client");
    l->set_level(spdlog::default_logger()->level());
    return l;
  }();
  return *logger;
}

}  // namespace detail

}  // namespace mcp
