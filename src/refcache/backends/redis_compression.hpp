// Entry blob compression of RedisBackend (private). With RedisOptions::compress_min_bytes,
// an entry blob of at least that many bytes is stored as
//   "\0zst<len>:<namespace><zstd frame of the JSON blob>"
// when that is smaller. The NUL can never start JSON, so a reader tells the two forms apart
// whatever its own setting; the namespace stays readable by the Lua scripts that maintain
// the indexes (redis_scripts.cpp, ns_of). mcp-refcache 0.2.1 (Python) reads only the plain
// form, which is why compression is off by default.
//
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "refcache/entry.hpp"

namespace refcache::redis_detail {

// `blob` compressed with zstd at `level` when it has at least `min_bytes` bytes (0: never)
// and compressing makes it smaller; else `blob` unchanged.
std::string pack_blob(std::string blob, std::string_view ns, std::size_t min_bytes, int level);

// The entry stored as `blob`, plain or compressed. Throws CorruptEntry naming `ref_id` when
// either form is damaged.
CacheEntry unpack_entry(std::string_view ref_id, std::string_view blob);

}  // namespace refcache::redis_detail
