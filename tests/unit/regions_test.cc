#include "core/regions.h"

#include <gtest/gtest.h>

namespace consentd {
namespace {

TEST(RegionTable, MostSpecificEntryWins) {
  absl::StatusOr<RegionTable> t = RegionTable::Parse(
      "# comment\n"
      "DE opt_in\n"
      "US opt_in   # the country\n"
      "US-CA opt_out\n"
      "\n");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->Lookup("DE"), Regime::kOptIn);
  EXPECT_EQ(t->Lookup("US-CA"), Regime::kOptOut);
  EXPECT_EQ(t->Lookup("US-NY"), Regime::kOptIn);  // Falls back to US.
  EXPECT_EQ(t->Lookup("BR"), Regime::kOptIn);     // Unknown: default.
  EXPECT_EQ(t->Lookup(""), Regime::kOptIn);       // Empty: default.
  EXPECT_EQ(t->size(), 3u);
}

TEST(RegionTable, CountryEntryAppliesToSubdivisions) {
  absl::StatusOr<RegionTable> t = RegionTable::Parse("US opt_out\n");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->Lookup("US-TX"), Regime::kOptOut);
}

TEST(RegionTable, MalformedLinesNameTheLine) {
  for (const char* bad : {"DE\n", "DE opt_maybe\n", "de opt_in\n",
                          "DE opt_in\nDE opt_out\n", "DE opt_in extra\n"}) {
    absl::StatusOr<RegionTable> t = RegionTable::Parse(bad);
    EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(t.status().message().find("line "), absl::string_view::npos);
  }
}

TEST(RegionTable, EmptyTableIsOptInEverywhere) {
  RegionTable t;
  EXPECT_EQ(t.Lookup("US-CA"), Regime::kOptIn);
}

}  // namespace
}  // namespace consentd
