#include "core/fingerprint.h"

#include <cstring>
#include <random>

namespace consentd {
namespace {

uint64_t Rotl(uint64_t x, int b) { return (x << b) | (x >> (64 - b)); }

uint64_t Load64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

void Store64(uint64_t v, uint8_t* p) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

struct State {
  uint64_t v0, v1, v2, v3;

  void Round() {
    v0 += v1;
    v1 = Rotl(v1, 13);
    v1 ^= v0;
    v0 = Rotl(v0, 32);
    v2 += v3;
    v3 = Rotl(v3, 16);
    v3 ^= v2;
    v0 += v3;
    v3 = Rotl(v3, 21);
    v3 ^= v0;
    v2 += v1;
    v1 = Rotl(v1, 17);
    v1 ^= v2;
    v2 = Rotl(v2, 32);
  }
};

}  // namespace

std::array<uint8_t, 16> SipHash128(const std::array<uint8_t, 16>& key,
                                   absl::string_view message) {
  const uint64_t k0 = Load64(key.data());
  const uint64_t k1 = Load64(key.data() + 8);
  State s{0x736f6d6570736575ULL ^ k0, 0x646f72616e646f6dULL ^ k1,
          0x6c7967656e657261ULL ^ k0, 0x7465646279746573ULL ^ k1};
  s.v1 ^= 0xee;  // 128-bit output.

  const auto* in = reinterpret_cast<const uint8_t*>(message.data());
  const size_t len = message.size();
  const size_t whole = len - len % 8;
  for (size_t i = 0; i < whole; i += 8) {
    const uint64_t m = Load64(in + i);
    s.v3 ^= m;
    s.Round();
    s.Round();
    s.v0 ^= m;
  }
  uint64_t b = static_cast<uint64_t>(len) << 56;
  for (size_t i = len % 8; i > 0; --i) {
    b |= static_cast<uint64_t>(in[whole + i - 1]) << (8 * (i - 1));
  }
  s.v3 ^= b;
  s.Round();
  s.Round();
  s.v0 ^= b;

  std::array<uint8_t, 16> out;
  s.v2 ^= 0xee;
  for (int i = 0; i < 4; ++i) s.Round();
  Store64(s.v0 ^ s.v1 ^ s.v2 ^ s.v3, out.data());
  s.v1 ^= 0xdd;
  for (int i = 0; i < 4; ++i) s.Round();
  Store64(s.v0 ^ s.v1 ^ s.v2 ^ s.v3, out.data() + 8);
  return out;
}

Fingerprinter::Fingerprinter() {
  std::random_device random;
  for (size_t i = 0; i < key_.size(); i += 4) {
    const uint32_t word = random();
    std::memcpy(key_.data() + i, &word, 4);
  }
}

Fingerprint Fingerprinter::operator()(absl::string_view id) const {
  const std::array<uint8_t, 16> h = SipHash128(key_, id);
  return Fingerprint{Load64(h.data() + 8), Load64(h.data())};
}

}  // namespace consentd
