#include "refcache/tokenizer/unicode_classes.hpp"

#include <cstring>
#include <stdexcept>

namespace refcache::tokenizer {

UnicodeClasses::UnicodeClasses(EmbeddedFile file) {
  constexpr std::size_t kHeader = 12;
  constexpr std::size_t kIndexBytes = std::size_t{2} * 0x1100;
  if (file.size < kHeader + kIndexBytes || std::memcmp(file.data, "RCUNI001", 8) != 0)
    throw std::runtime_error("tokenizer: the embedded Unicode table is malformed");
  std::uint32_t blocks = 0;
  std::memcpy(&blocks, file.data + 8, 4);
  if (file.size < kHeader + kIndexBytes + std::size_t{blocks} * 256)
    throw std::runtime_error("tokenizer: the embedded Unicode table is truncated");
  std::memcpy(index_.data(), file.data + kHeader, kIndexBytes);
  for (std::uint16_t b : index_)
    if (b >= blocks) throw std::runtime_error("tokenizer: the embedded Unicode table is malformed");
  blocks_ = file.data + kHeader + kIndexBytes;
}

const UnicodeClasses& unicode_classes_table() {
  static const UnicodeClasses table(unicode_classes());
  return table;
}

}  // namespace refcache::tokenizer
