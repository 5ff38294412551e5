// The text of a server's configuration file (--warm, --tenants), read whole up to a bound: a
// larger file is a mistake, not a configuration, and must not be read into memory without end.
// Errors are InvalidArgument naming the kind of file and its path ("warm file PATH: cannot be
// read"). Internal to src/refcache_mcp. Thread-safety: none needed (a pure function).
#pragma once

#include <cstddef>
#include <fstream>
#include <string>

#include "refcache/errors.hpp"

namespace refcache::mcp {

inline std::string read_config_file(const std::string& kind, const std::string& path,
                                    std::size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InvalidArgument(kind + " " + path + ": cannot be read");
  std::string text;
  text.resize(max_bytes + 1);
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > max_bytes)
    throw InvalidArgument(kind + " " + path + ": larger than " + std::to_string(max_bytes >> 20) +
                          " MiB");
  return text;
}

}  // namespace refcache::mcp
