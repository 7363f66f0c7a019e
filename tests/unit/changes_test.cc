#include "storage/changes.h"

#include <gtest/gtest.h>

namespace consentd {
namespace {

TEST(Changes, DecisionRoundTrip) {
  CategoryInterner& in = CategoryInterner::Global();
  SubjectState state;
  state.consent_version = 42;
  state.latest_policy_seq = 3;
  state.latest_decided_at = absl::FromUnixMicros(1767225600123456);
  state.choices = {{in.Intern("statistics"), true, 3, state.latest_decided_at},
                   {in.Intern("marketing"), false, 1,
                    absl::FromUnixMicros(1767000000000001)}};
  const absl::Time sent = absl::FromUnixMicros(1767225600999999);
  const std::string payload = EncodeDecisionChange("user 1 with spaces", state, sent);
  absl::StatusOr<Change> change = DecodeChange(payload);
  ASSERT_TRUE(change.ok()) << change.status();
  EXPECT_EQ(change->kind, Change::Kind::kDecision);
  EXPECT_EQ(change->subject_id, "user 1 with spaces");
  EXPECT_EQ(change->version, 42);
  EXPECT_EQ(change->sent_at, sent);
  ASSERT_TRUE(change->state.has_value());
  EXPECT_EQ(change->state->latest_policy_seq, 3);
  EXPECT_EQ(change->state->latest_decided_at, state.latest_decided_at);
  ASSERT_EQ(change->state->choices.size(), 2u);
  EXPECT_EQ(change->state->choices[1].category, in.Intern("marketing"));
  EXPECT_FALSE(change->state->choices[1].granted);
  EXPECT_EQ(change->state->choices[1].decided_at,
            absl::FromUnixMicros(1767000000000001));
}

TEST(Changes, OversizedStateFallsBackToInvalidation) {
  SubjectState state;
  state.consent_version = 2;
  for (int i = 0; i < 400; ++i) {
    state.choices.push_back(CategoryChoice{
        CategoryInterner::Global().Intern("category_with_a_long_name_" +
                                          std::to_string(i)),
        true, 1, absl::UnixEpoch()});
  }
  const std::string payload =
      EncodeDecisionChange(std::string(256, 's'), state, absl::UnixEpoch());
  EXPECT_LE(payload.size(), kMaxNotifyPayload);
  absl::StatusOr<Change> change = DecodeChange(payload);
  ASSERT_TRUE(change.ok());
  EXPECT_EQ(change->version, 2);
  EXPECT_FALSE(change->state.has_value());
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
  for (const char* bad : {"", "x 1 2", "d", "d 1", "d 1 2 3 4 5", "i 1 2 ",
                          "d 1 2 3 4 1 statistics 1 1", "p 1 x", "d a b c"}) {
    EXPECT_FALSE(DecodeChange(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace consentd
