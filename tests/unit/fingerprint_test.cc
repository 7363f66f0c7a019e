#include "core/fingerprint.h"

#include <gtest/gtest.h>

#include <string>

#include "absl/strings/escaping.h"

namespace consentd {
namespace {

// vectors_sip128 of the reference implementation (github.com/veorq/SipHash,
// vectors.h): key 00..0f, message 00..(n-1).
TEST(SipHash128, MatchesTheReferenceVectors) {
  const char* const kExpected[] = {
      "a3817f04ba25a8e66df67214c7550293", "da87c1d86b99af44347659119b22fc45",
      "8177228da4a45dc7fca38bdef60affe4", "9c70b60c5267a94e5f33b6b02985ed51",
      "f88164c12d9c8faf7d0f6e7c7bcd5579", "1368875980776f8854527a07690e9627",
      "14eeca338b208613485ea0308fd7a15e", "a1f1ebbed8dbc153c0b84aa61ff08239",
      "3b62a9ba6258f5610f83e264f31497b4", "264499060ad9baabc47f8b02bb6d71ed",
  };
  std::array<uint8_t, 16> key;
  for (int i = 0; i < 16; ++i) key[i] = static_cast<uint8_t>(i);
  std::string message;
  for (const char* expected : kExpected) {
    const std::array<uint8_t, 16> out = SipHash128(key, message);
    EXPECT_EQ(absl::BytesToHexString(absl::string_view(
                  reinterpret_cast<const char*>(out.data()), out.size())),
              expected)
        << "length " << message.size();
    message.push_back(static_cast<char>(message.size()));
  }
}

TEST(Fingerprinter, KeyedAndDeterministicPerKey) {
  const Fingerprinter a, b;
  EXPECT_EQ(a("U-1"), a("U-1"));
  EXPECT_FALSE(a("U-1") == a("u-1"));
  // Two processes (keys) fingerprint the same id differently.
  EXPECT_FALSE(a("U-1") == b("U-1"));
}

}  // namespace
}  // namespace consentd
