// A 128-bit keyed fingerprint of a subject id: SipHash-2-4 with 128-bit
// output (Aumasson and Bernstein), under a secret key chosen at random by the
// process. The consent cache keys its entries by fingerprint rather than by
// the id itself, which keeps an entry to one cache line whatever the id's
// length. SipHash is a pseudorandom function: without the key, nobody can
// choose two ids with the same fingerprint, and for ids not chosen against it
// the chance that two of a billion collide is about 2^-68.
#ifndef CONSENTD_CORE_FINGERPRINT_H_
#define CONSENTD_CORE_FINGERPRINT_H_

#include <array>
#include <cstdint>
#include <utility>

#include "absl/strings/string_view.h"

namespace consentd {

struct Fingerprint {
  uint64_t hi = 0;
  uint64_t lo = 0;

  friend bool operator==(const Fingerprint& a, const Fingerprint& b) {
    return a.hi == b.hi && a.lo == b.lo;
  }
  template <typename H>
  friend H AbslHashValue(H h, const Fingerprint& f) {
    return H::combine(std::move(h), f.hi, f.lo);
  }
};

// SipHash-2-4 with 128-bit output of `message` under the 16-byte `key`,
// as the reference implementation writes it (two little-endian words).
std::array<uint8_t, 16> SipHash128(const std::array<uint8_t, 16>& key,
                                   absl::string_view message);

// Fingerprints under one key. Thread-compatible; const after construction.
class Fingerprinter {
 public:
  // A key from the operating system's random source.
  Fingerprinter();
  explicit Fingerprinter(const std::array<uint8_t, 16>& key) : key_(key) {}

  Fingerprint operator()(absl::string_view id) const;

 private:
  std::array<uint8_t, 16> key_;
};

}  // namespace consentd

#endif  // CONSENTD_CORE_FINGERPRINT_H_
