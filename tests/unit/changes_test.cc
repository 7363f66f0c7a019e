#include "storage/changes.h"

#include <gtest/gtest.h>

#include <limits>

namespace consentd {
namespace {

TEST(Changes, DecisionRoundTrip) {
  const absl::Time sent = absl::FromUnixMicros(1767225600999999);
  absl::StatusOr<Change> change =
      DecodeChange(EncodeDecisionChange("user 1 with spaces", 42, sent));
  ASSERT_TRUE(change.ok()) << change.status();
  EXPECT_EQ(change->kind, Change::Kind::kDecision);
  EXPECT_EQ(change->subject_id, "user 1 with spaces");
  EXPECT_EQ(change->version, 42);
  EXPECT_EQ(change->sent_at, sent);
}

TEST(Changes, ErasureIsNewerThanAnyVersion) {
  absl::StatusOr<Change> change = DecodeChange(
      EncodeErasureChange(std::string(256, 's'), absl::UnixEpoch()));
  ASSERT_TRUE(change.ok());
  EXPECT_EQ(change->version, std::numeric_limits<int64_t>::max());
  EXPECT_EQ(change->subject_id, std::string(256, 's'));
}

TEST(Changes, PolicyRoundTrip) {
  absl::StatusOr<Change> change =
      DecodeChange(EncodePolicyChange(9, absl::FromUnixSeconds(5)));
  ASSERT_TRUE(change.ok());
  EXPECT_EQ(change->kind, Change::Kind::kPolicy);
  EXPECT_EQ(change->policy_seq, 9);
}

TEST(Changes, MalformedPayloadsAreRejected) {
  for (const char* bad : {"", "x 1 2", "d 1 2 s", "i", "i 1", "i 1 2", "i 1 2 ",
                          "i 1 x s", "p 1 x", "d a b c"}) {
    EXPECT_FALSE(DecodeChange(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace consentd
