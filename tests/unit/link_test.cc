#include "core/link.h"

#include <gtest/gtest.h>

#include "server/change_stream.h"

namespace consentd {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1767225600);

StandingChoice C(const char* category, bool granted, absl::Duration at) {
  return StandingChoice{category, granted, "2026-01-12", kT0 + at};
}

TEST(MergeChoices, MostRecentTakesTheLaterChoicePerCategory) {
  const std::vector<StandingChoice> device = {
      C("marketing", true, absl::Hours(2)),    // later than the account's
      C("statistics", true, absl::Hours(1)),   // earlier
      C("preferences", false, absl::Hours(3))  // only the device decided
  };
  const std::vector<StandingChoice> account = {
      C("marketing", false, absl::Hours(1)),
      C("statistics", false, absl::Hours(2)),
      C("functional", true, absl::Hours(1))};
  const std::vector<StandingChoice> taken =
      MergeChoices(device, account, MergeRule::kMostRecent);
  ASSERT_EQ(taken.size(), 2u);
  EXPECT_EQ(taken[0].category, "marketing");
  EXPECT_TRUE(taken[0].granted);
  EXPECT_EQ(taken[0].decided_at, kT0 + absl::Hours(2));  // Kept as made.
  EXPECT_EQ(taken[1].category, "preferences");
  // A tie keeps the account's.
  EXPECT_TRUE(MergeChoices({C("marketing", true, absl::Hours(1))},
                           {C("marketing", false, absl::Hours(1))},
                           MergeRule::kMostRecent)
                  .empty());
}

TEST(MergeChoices, MostRestrictiveLetsARefusalWin) {
  const std::vector<StandingChoice> device = {
      C("marketing", false, absl::Hours(1)),   // refuses the account's grant
      C("statistics", true, absl::Hours(5)),   // grant over a refusal: no
      C("preferences", true, absl::Hours(3)),  // grant over a grant: no
      C("functional", true, absl::Hours(1))};  // only the device: taken
  const std::vector<StandingChoice> account = {
      C("marketing", true, absl::Hours(4)),
      C("statistics", false, absl::Hours(1)),
      C("preferences", true, absl::Hours(1))};
  const std::vector<StandingChoice> taken =
      MergeChoices(device, account, MergeRule::kMostRestrictive);
  ASSERT_EQ(taken.size(), 2u);
  EXPECT_EQ(taken[0].category, "marketing");
  EXPECT_FALSE(taken[0].granted);
  EXPECT_EQ(taken[1].category, "functional");
}

TEST(ChangeStream, CursorsRoundTripAndStrangersAreRefused) {
  EXPECT_EQ(CursorAt(0), "");
  EXPECT_EQ(*SequenceOfCursor(CursorAt(42)), 42);
  EXPECT_EQ(*SequenceOfCursor(""), 0);
  for (const char* bad : {"42", "c", "c-1", "c0", "cx", "c1 ", "d42"}) {
    EXPECT_EQ(SequenceOfCursor(bad).status().code(),
              absl::StatusCode::kInvalidArgument)
        << bad;
  }
}

TEST(ChangeStream, AnAuditEventBecomesAChange) {
  AuditEventRecord e;
  e.sequence = 7;
  e.action = "decision";
  e.subject_id = "u-1";
  e.subject_pseudonym = "abcd";
  e.recorded_at = kT0;
  e.payload =
      "{\"consent_version\":3,\"policy_version\":\"2026-01-12\",\"choices\":"
      "{\"marketing\":false,\"statistics\":true},\"source\":\"banner\","
      "\"region\":\"DE\",\"gpc\":true}";
  consent::v1::ConsentChange c;
  ASSERT_TRUE(ChangeOf(e, &c));
  EXPECT_EQ(c.cursor(), "c7");
  EXPECT_EQ(c.kind(), consent::v1::CHANGE_KIND_DECISION);
  EXPECT_EQ(c.consent_version(), 3);
  EXPECT_EQ(c.choices().at("statistics"), true);
  EXPECT_EQ(c.choices().at("marketing"), false);
  EXPECT_EQ(c.source(), consent::v1::SOURCE_BANNER);
  EXPECT_EQ(c.region(), "DE");
  EXPECT_TRUE(c.gpc());
  e.action = "something_else";
  EXPECT_FALSE(ChangeOf(e, &c));
}

}  // namespace
}  // namespace consentd
