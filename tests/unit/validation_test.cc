#include "core/validation.h"

#include <gtest/gtest.h>

#include <string>

namespace consentd {
namespace {

TEST(IsValidUtf8, AcceptsWellFormedText) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain ascii"));
  EXPECT_TRUE(IsValidUtf8("Grüße, 東京, 🍪"));
  EXPECT_TRUE(IsValidUtf8("\xF4\x8F\xBF\xBF"));  // U+10FFFF
}

TEST(IsValidUtf8, RejectsMalformedSequences) {
  EXPECT_FALSE(IsValidUtf8("\xFF"));
  EXPECT_FALSE(IsValidUtf8("\xC3"));              // Truncated.
  EXPECT_FALSE(IsValidUtf8("\xC0\xAF"));          // Overlong '/'.
  EXPECT_FALSE(IsValidUtf8("\xE0\x80\xAF"));      // Overlong.
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));      // Surrogate U+D800.
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));  // Above U+10FFFF.
  EXPECT_FALSE(IsValidUtf8("ok\x80"));            // Stray continuation.
}

TEST(ValidateIdentifier, LengthBoundsAreInclusive) {
  EXPECT_TRUE(
      ValidateIdentifier(std::string(256, 'a'), "subject_id", 256).ok());
  EXPECT_TRUE(ValidateIdentifier("a", "subject_id", 256).ok());
  const absl::Status too_long =
      ValidateIdentifier(std::string(257, 'a'), "subject_id", 256);
  EXPECT_EQ(too_long.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(too_long.message().find("subject_id"), absl::string_view::npos);
  const absl::Status empty = ValidateIdentifier("", "subject_id", 256);
  EXPECT_EQ(empty.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(empty.message().find("subject_id"), absl::string_view::npos);
}

TEST(ValidateIdentifier, RejectsControlCharactersAndBadUtf8) {
  for (const std::string& bad :
       {std::string("a\nb"), std::string("tab\t"), std::string("nul\0x", 5),
        std::string("del\x7F"), std::string("c1\xC2\x85"),
        std::string("bad\xFF")}) {
    const absl::Status s = ValidateIdentifier(bad, "subject_id", 256);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(s.message().find("subject_id"), absl::string_view::npos);
  }
  EXPECT_TRUE(
      ValidateIdentifier("x'); DROP TABLE decisions;--", "s", 256).ok());
  EXPECT_TRUE(ValidateIdentifier("Grüße 🍪", "s", 256).ok());
}

TEST(ValidateSubjectId, ReservesTheErasedNamespace) {
  EXPECT_TRUE(ValidateSubjectId("user-1", "subject_id").ok());
  EXPECT_TRUE(ValidateSubjectId("erased", "subject_id").ok());
  const absl::Status s = ValidateSubjectId("erased:abc:1", "subject_id");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("subject_id"), absl::string_view::npos);
  EXPECT_FALSE(ValidateSubjectId(std::string(257, 'a'), "subject_id").ok());
}

TEST(ValidateOptionalIdentifier, AllowsEmpty) {
  EXPECT_TRUE(ValidateOptionalIdentifier("", "idempotency_key", 256).ok());
  EXPECT_FALSE(ValidateOptionalIdentifier("a\n", "idempotency_key", 256).ok());
}

TEST(ValidateRegionCode, AcceptsCountriesAndSubdivisions) {
  for (const char* ok : {"", "DE", "GB", "US-CA", "FR-75", "CN-BJ", "GB-ENG"}) {
    EXPECT_TRUE(ValidateRegionCode(ok, "region").ok()) << ok;
  }
  for (const char* bad : {"us-ca", "de", "XYZ", "D", "US-", "US-CALI", "US_CA",
                          "U1", "US-ca", " DE"}) {
    const absl::Status s = ValidateRegionCode(bad, "region");
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(s.message().find("region"), absl::string_view::npos);
  }
}

TEST(ValidatePolicyVersion, AllowsDatesAndSimpleNames) {
  EXPECT_TRUE(ValidatePolicyVersion("2026-01-12", "v").ok());
  EXPECT_TRUE(ValidatePolicyVersion("v2.1_rc-3", "v").ok());
  EXPECT_FALSE(ValidatePolicyVersion("", "v").ok());
  EXPECT_FALSE(ValidatePolicyVersion("has space", "v").ok());
  EXPECT_FALSE(ValidatePolicyVersion(std::string(65, 'a'), "v").ok());
}

TEST(ValidateCategoryId, LowercaseIdentifiersOnly) {
  EXPECT_TRUE(ValidateCategoryId("marketing", "c").ok());
  EXPECT_TRUE(ValidateCategoryId("ads_v2", "c").ok());
  EXPECT_FALSE(ValidateCategoryId("Marketing", "c").ok());
  EXPECT_FALSE(ValidateCategoryId("2ads", "c").ok());
  EXPECT_FALSE(ValidateCategoryId("", "c").ok());
}

}  // namespace
}  // namespace consentd

namespace consentd {
namespace {

TEST(Quoted, BoundsAndEscapes) {
  EXPECT_EQ(Quoted("ads"), "\"ads\"");
  EXPECT_EQ(Quoted("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(Quoted("new\nline"), "\"new\\x0aline\"");
  EXPECT_EQ(Quoted("bad\xFF"), "\"bad\\xff\"");
  const std::string quoted = Quoted(std::string(100000, 'x'));
  EXPECT_EQ(quoted, "\"" + std::string(64, 'x') + "...\"");
  // Never cuts a multi-byte character in half.
  std::string emoji;
  for (int i = 0; i < 20; ++i) emoji += "\xF0\x9F\x8D\xAA";
  EXPECT_TRUE(IsValidUtf8(Quoted(emoji)));
}

}  // namespace
}  // namespace consentd
