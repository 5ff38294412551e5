// The cache the refcache_mcp unit tests serve: named "t", on a memory backend, sized in
// characters with a 400-character preview, so that a few hundred rows are already "large" and
// previews are predictable without a tokenizer. Pure.
#pragma once

#include <memory>

#include "refcache/memory_backend.hpp"
#include "refcache/ref_cache.hpp"

namespace test_support {

inline refcache::RefCacheOptions small_cache_options() {
  refcache::RefCacheOptions o;
  o.name = "t";
  o.preview.size_mode = refcache::SizeMode::kCharacter;
  o.preview.max_size = 400;
  o.backend = std::make_shared<refcache::MemoryBackend>();
  return o;
}

}  // namespace test_support
