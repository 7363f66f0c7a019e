#include "core/consent_cache.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"

namespace consentd {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1767225600);

SubjectState AtVersion(int64_t version, bool granted = true) {
  SubjectState s;
  s.consent_version = version;
  if (version > 0) {
    s.choices.push_back(CategoryChoice{
        CategoryInterner::Global().Intern("statistics"), granted, 1, kNow});
  }
  return s;
}

class ConsentCacheTest : public ::testing::Test {
 protected:
  int64_t Cached(const std::string& subject) {
    int64_t version = -1;
    cache_.Read(subject,
                [&](const SubjectState& s) { version = s.consent_version; });
    return version;
  }
  bool Put(const std::string& subject, int64_t version) {
    return cache_.Fill(subject, AtVersion(version), cache_.BeginFill(subject));
  }

  FakeClock clock_{kNow};
  ConsentCache cache_{64 << 20, &clock_};
};

TEST_F(ConsentCacheTest, MissThenHitWithNegativeEntries) {
  EXPECT_EQ(Cached("s"), -1);
  EXPECT_TRUE(Put("s", 0));  // "No decision" is cached too.
  EXPECT_EQ(Cached("s"), 0);
  EXPECT_EQ(cache_.GetStats().entries, 1u);
}

TEST_F(ConsentCacheTest, NeverReplacedByAnOlderVersion) {
  EXPECT_TRUE(Put("s", 3));
  EXPECT_FALSE(Put("s", 2));
  EXPECT_EQ(Cached("s"), 3);
  EXPECT_TRUE(Put("s", 4));
  EXPECT_EQ(Cached("s"), 4);
}

TEST_F(ConsentCacheTest, KeysAreCaseSensitive) {
  Put("U-1", 1);
  EXPECT_EQ(Cached("u-1"), -1);
}

TEST_F(ConsentCacheTest, AFillThatStartedBeforeAChangeIsDropped) {
  // A read-through starts (token), then a change for the subject arrives
  // (the subject is not cached, so nothing to update), then the read-through
  // tries to fill its older result: it must not.
  const ConsentCache::FillToken token = cache_.BeginFill("s");
  EXPECT_FALSE(cache_.Invalidate("s", 2));
  EXPECT_FALSE(cache_.Fill("s", AtVersion(1), token));
  EXPECT_EQ(Cached("s"), -1);
  // A fill that starts afterwards is fine.
  EXPECT_TRUE(Put("s", 2));
}

TEST_F(ConsentCacheTest, ChangesDropOnlyOlderEntries) {
  Put("s", 2);
  // An older or equal change leaves the entry.
  EXPECT_FALSE(cache_.Invalidate("s", 2));
  EXPECT_FALSE(cache_.Invalidate("s", 1));
  EXPECT_EQ(Cached("s"), 2);
  // A newer one drops it.
  EXPECT_TRUE(cache_.Invalidate("s", 3));
  EXPECT_EQ(Cached("s"), -1);
}

TEST_F(ConsentCacheTest, EraseAndClear) {
  Put("a", 1);
  Put("b", 1);
  cache_.Erase("a");
  EXPECT_EQ(Cached("a"), -1);
  EXPECT_EQ(Cached("b"), 1);
  const ConsentCache::FillToken token = cache_.BeginFill("c");
  cache_.Clear();
  EXPECT_EQ(Cached("b"), -1);
  EXPECT_FALSE(cache_.Fill("c", AtVersion(1), token));
  EXPECT_EQ(cache_.GetStats().entries, 0u);
}

TEST_F(ConsentCacheTest, EntriesAreServedOnlyWhileTrusted) {
  Put("s", 1);
  cache_.TrustUntil(kNow + absl::Seconds(2));
  EXPECT_EQ(Cached("s"), 1);
  clock_.Advance(absl::Seconds(2));
  EXPECT_EQ(Cached("s"), -1);  // Trust ran out.
  EXPECT_FALSE(Put("t", 1));   // No fills either.
  cache_.TrustUntil(kNow + absl::Seconds(10));
  EXPECT_EQ(Cached("s"), 1);
  cache_.Distrust();
  EXPECT_FALSE(cache_.Trusted());
  EXPECT_EQ(Cached("s"), -1);
  // Changes are still applied while distrusted.
  EXPECT_TRUE(cache_.Invalidate("s", 5));
}

TEST(ConsentCacheBound, StaysWithinItsBytesAndKeepsRecentlyUsedEntries) {
  FakeClock clock(kNow);
  // Sized for about 1,000 subjects; 10,000 distinct subjects go through.
  ConsentCache cache(1000 * 400, &clock);
  for (int i = 0; i < 10000; ++i) {
    const std::string subject =
        absl::StrCat("subject-", i, "-0123456789abcdef");
    cache.Fill(subject, AtVersion(i + 1), cache.BeginFill(subject));
    // A hot subject read all along survives the churn.
    cache.Read("hot-subject", [](const SubjectState&) {});
    if (i == 0) {
      cache.Fill("hot-subject", AtVersion(7), cache.BeginFill("hot-subject"));
    }
    ASSERT_LE(cache.GetStats().bytes, cache.max_bytes()) << i;
  }
  const ConsentCache::Stats stats = cache.GetStats();
  EXPECT_GT(stats.evictions, 8000u);
  EXPECT_GT(stats.entries, 300u);
  int64_t hot = -1;
  cache.Read("hot-subject",
             [&](const SubjectState& s) { hot = s.consent_version; });
  EXPECT_EQ(hot, 7);
  // What is cached is right: each subject at its own version.
  int found = 0;
  for (int i = 0; i < 10000; ++i) {
    const std::string subject =
        absl::StrCat("subject-", i, "-0123456789abcdef");
    cache.Read(subject, [&](const SubjectState& s) {
      EXPECT_EQ(s.consent_version, i + 1);
      ++found;
    });
  }
  EXPECT_GT(found, 300);
}

TEST(ConsentCacheConcurrency, ConcurrentFillsAndChangesKeepTheNewestVersion) {
  FakeClock clock(kNow);
  ConsentCache cache(16 << 20, &clock);
  cache.Fill("s", AtVersion(0), cache.BeginFill("s"));
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&cache, t] {
      for (int v = t + 1; v <= 1000; v += 4) {
        if (v % 2 == 0) {
          cache.Invalidate("s", v);
        } else {
          cache.Fill("s", AtVersion(v), cache.BeginFill("s"));
        }
        cache.Read("s", [](const SubjectState&) {});
      }
    });
  }
  for (auto& th : threads) th.join();
  // Whatever is cached (if anything) is not older than the last
  // invalidation that could have seen it.
  int64_t version = -1;
  cache.Read("s", [&](const SubjectState& s) { version = s.consent_version; });
  EXPECT_TRUE(version == -1 || version >= 997) << version;
}

}  // namespace
}  // namespace consentd
