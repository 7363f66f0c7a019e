// The region table shipped in config/regions.txt.
#include <gtest/gtest.h>

#include "config/embedded.h"
#include "core/regions.h"
#include "server/config.h"

namespace consentd {
namespace {

TEST(ShippedRegionTable, Parses) {
  absl::StatusOr<RegionTable> table = RegionTable::Parse(DefaultRegionTable());
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_GT(table->size(), 40u);
}

TEST(ShippedRegionTable, EuEeaUkAndSwitzerlandAreOptIn) {
  const RegionTable& t = BuiltInRegions();
  for (const char* r :
       {"AT", "BE", "BG", "HR", "CY", "CZ",    "DK",   "EE", "FI",
        "FR", "DE", "GR", "HU", "IE", "IT",    "LV",   "LT", "LU",
        "MT", "NL", "PL", "PT", "RO", "SK",    "SI",   "ES", "SE",
        "IS", "LI", "NO", "GB", "CH", "FR-75", "DE-BY"}) {
    EXPECT_EQ(t.Lookup(r), Regime::kOptIn) << r;
  }
}

TEST(ShippedRegionTable, UsOptOutStates) {
  const RegionTable& t = BuiltInRegions();
  for (const char* r :
       {"US-CA", "US-CO", "US-CT", "US-VA", "US-UT", "US-TX", "US-OR"}) {
    EXPECT_EQ(t.Lookup(r), Regime::kOptOut) << r;
  }
}

TEST(ShippedRegionTable, EmptyAndUnknownRegionsAreOptIn) {
  const RegionTable& t = BuiltInRegions();
  EXPECT_EQ(t.Lookup(""), Regime::kOptIn);
  EXPECT_EQ(t.Lookup("AQ"), Regime::kOptIn);
  EXPECT_EQ(t.Lookup("XX-ZZ"), Regime::kOptIn);
}

TEST(ShippedRegionTable, ConfigDefaultsToIt) {
  Config config;
  EXPECT_EQ(config.regions.Lookup("US-CA"), Regime::kOptOut);
}

TEST(IsLoopback, OnlyAddressesThatStayOnThisHost) {
  for (const char* yes : {"127.0.0.1:50051", "127.1.2.3:1", "localhost:80",
                          "[::1]:50051", "unix:/tmp/consentd.sock"}) {
    EXPECT_TRUE(IsLoopback(yes)) << yes;
  }
  for (const char* no :
       {"0.0.0.0:50051", "[::]:50051", "10.0.0.1:1", "127.example.com:50051",
        "example.com:1", "128.0.0.1:1"}) {
    EXPECT_FALSE(IsLoopback(no)) << no;
  }
}

}  // namespace
}  // namespace consentd
