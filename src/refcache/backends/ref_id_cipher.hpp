// RefIdCipher: a keyed permutation of 64-bit numbers, the Speck64/128 block cipher
// (Beaulieu et al., "The Simon and Speck Families of Lightweight Block Ciphers", 2013).
//
// The memory backend makes its ref ids by encrypting a counter under a key drawn from the
// CSPRNG when the backend is created: counter-mode generation, as in NIST's CTR_DRBG. Without
// the key, the ids are as unguessable as the CSPRNG's own (finding the key from ids is
// breaking the cipher), and they never repeat. With it, the backend reads an id's number back
// (decrypt), and uses it to place the entry in its table next to the entries written just
// before it, instead of at a random slot: see MemoryBackend and StringTable's ordered homes.
//
// Speck64/128: two 32-bit words (x, y), 27 rounds of add-rotate-xor, a 128-bit key of four
// words. A block is held as x << 32 | y, the order in which the paper prints its test vectors.
#pragma once

#include <array>
#include <bit>
#include <cstdint>

namespace refcache::detail {

class RefIdCipher {
 public:
  static constexpr int kRounds = 27;

  // `key` in the paper's order of printing: l2, l1, l0, k0.
  explicit RefIdCipher(const std::array<std::uint32_t, 4>& key) {
    std::uint32_t k = key[3];
    std::array<std::uint32_t, kRounds + 2> l{};
    l[0] = key[2];
    l[1] = key[1];
    l[2] = key[0];
    for (int i = 0; i < kRounds; ++i) {
      round_keys_[static_cast<std::size_t>(i)] = k;
      if (i + 1 == kRounds) break;
      const auto u = static_cast<std::size_t>(i);
      l[u + 3] = (k + std::rotr(l[u], 8)) ^ static_cast<std::uint32_t>(i);
      k = std::rotl(k, 3) ^ l[u + 3];
    }
  }

  std::uint64_t encrypt(std::uint64_t block) const {
    auto x = static_cast<std::uint32_t>(block >> 32);
    auto y = static_cast<std::uint32_t>(block);
    for (std::uint32_t k : round_keys_) {
      x = (std::rotr(x, 8) + y) ^ k;
      y = std::rotl(y, 3) ^ x;
    }
    return static_cast<std::uint64_t>(x) << 32 | y;
  }

  std::uint64_t decrypt(std::uint64_t block) const {
    auto x = static_cast<std::uint32_t>(block >> 32);
    auto y = static_cast<std::uint32_t>(block);
    for (int i = kRounds - 1; i >= 0; --i) {
      y = std::rotr(y ^ x, 3);
      x = std::rotl((x ^ round_keys_[static_cast<std::size_t>(i)]) - y, 8);
    }
    return static_cast<std::uint64_t>(x) << 32 | y;
  }

 private:
  std::array<std::uint32_t, kRounds> round_keys_{};
};

}  // namespace refcache::detail
