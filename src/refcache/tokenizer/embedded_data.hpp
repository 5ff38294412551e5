// The tokenizer's data, embedded in the library at build time from the files
// scripts/fetch-tiktoken writes (layouts in scripts/tiktoken-data.mjs): the vocabularies of
// o200k_base and cl100k_base and the Unicode class table. Read-only for the life of the
// process; safe from any thread.
#pragma once

#include <cstddef>
#include <string_view>

namespace refcache::tokenizer {

// The bytes of one embedded file.
struct EmbeddedFile {
  const unsigned char* data = nullptr;
  std::size_t size = 0;
};

EmbeddedFile o200k_base_ranks();
EmbeddedFile cl100k_base_ranks();
EmbeddedFile unicode_classes();

}  // namespace refcache::tokenizer
