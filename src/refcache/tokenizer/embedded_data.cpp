// The data files are linked in with the assembler's .incbin, which copies a file into the
// object as it is assembled: no generated source to compile (the vocabularies are 3.5 MB, a
// generated array would take the compiler tens of seconds), and GCC 12 has no #embed.
// REFCACHE_TIKTOKEN_DIR (CMakeLists.txt) names the folder; the build recompiles this file
// when one of the files changes (OBJECT_DEPENDS).
#include "refcache/tokenizer/embedded_data.hpp"

#ifndef REFCACHE_TIKTOKEN_DIR
#error "REFCACHE_TIKTOKEN_DIR must name the folder scripts/fetch-tiktoken writes"
#endif

// Each file becomes a hidden symbol (not exported from a shared library) followed by an end
// symbol; .balign 16 keeps the 32-bit fields of the files naturally aligned.
#define REFCACHE_INCBIN(name, file)                         \
  __asm__(                                                  \
      ".pushsection .rodata\n"                              \
      ".balign 16\n"                                        \
      ".globl " #name "\n.hidden " #name "\n" #name         \
      ":\n"                                                 \
      ".incbin \"" REFCACHE_TIKTOKEN_DIR "/" file           \
      "\"\n"                                                \
      ".globl " #name "_end\n.hidden " #name "_end\n" #name \
      "_end:\n.byte 0\n"                                    \
      ".popsection\n")

REFCACHE_INCBIN(refcache_tok_o200k, "o200k_base.ranks");
REFCACHE_INCBIN(refcache_tok_cl100k, "cl100k_base.ranks");
REFCACHE_INCBIN(refcache_tok_unicode, "unicode_classes.bin");

// NOLINTBEGIN(modernize-avoid-c-arrays): symbols defined by the assembler above
extern "C" {
__attribute__((visibility("hidden"))) extern const unsigned char refcache_tok_o200k[];
__attribute__((visibility("hidden"))) extern const unsigned char refcache_tok_o200k_end[];
__attribute__((visibility("hidden"))) extern const unsigned char refcache_tok_cl100k[];
__attribute__((visibility("hidden"))) extern const unsigned char refcache_tok_cl100k_end[];
__attribute__((visibility("hidden"))) extern const unsigned char refcache_tok_unicode[];
__attribute__((visibility("hidden"))) extern const unsigned char refcache_tok_unicode_end[];
}
// NOLINTEND(modernize-avoid-c-arrays)

namespace refcache::tokenizer {

namespace {
EmbeddedFile file(const unsigned char* begin, const unsigned char* end) {
  return {begin, static_cast<std::size_t>(end - begin)};
}
}  // namespace

EmbeddedFile o200k_base_ranks() {
  return file(refcache_tok_o200k, refcache_tok_o200k_end);
}
EmbeddedFile cl100k_base_ranks() {
  return file(refcache_tok_cl100k, refcache_tok_cl100k_end);
}
EmbeddedFile unicode_classes() {
  return file(refcache_tok_unicode, refcache_tok_unicode_end);
}

}  // namespace refcache::tokenizer
