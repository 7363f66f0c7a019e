#include "server/read_coalescer.h"

#include <gtest/gtest.h>

#include <vector>

namespace consentd {
namespace {

TEST(ReadCoalescer, ConcurrentMissesShareOneRead) {
  ReadCoalescer reads;
  std::vector<int64_t> answered;
  auto done = [&](const absl::StatusOr<SubjectState>& state) {
    answered.push_back(state.ok() ? state->consent_version : -1);
  };
  EXPECT_TRUE(reads.Join("s", done));  // Starts the read.
  EXPECT_FALSE(reads.Join("s", done));
  EXPECT_FALSE(reads.Join("s", done));
  EXPECT_TRUE(reads.Join("other", done));  // Another subject: its own.
  EXPECT_EQ(reads.InFlight(), 2u);
  SubjectState state;
  state.consent_version = 7;
  reads.Finish("s", state);
  EXPECT_EQ(answered, (std::vector<int64_t>{7, 7, 7}));
  reads.Finish("other", absl::UnavailableError("down"));
  EXPECT_EQ(answered.back(), -1);
  EXPECT_EQ(reads.InFlight(), 0u);
  // Once finished, the next miss reads again.
  EXPECT_TRUE(reads.Join("s", done));
}

}  // namespace
}  // namespace consentd
