#include "core/consent_cache.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace consentd {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1767225600);

SubjectState AtVersion(int64_t version, bool granted = true) {
  SubjectState s;
  s.consent_version = version;
  if (version > 0) {
    s.latest_policy_seq = 1;
    s.latest_decided_at = kNow;
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

TEST_F(ConsentCacheTest, AFillAsNewAsTheOnlyChangeSinceItsTokenIsKept) {
  // The writer takes a token, commits version 2, hears its own
  // notification, then fills what it wrote: that state is not stale.
  ConsentCache::FillToken token = cache_.BeginFill("s");
  cache_.Invalidate("s", 2);
  EXPECT_TRUE(cache_.Fill("s", AtVersion(2), token));
  EXPECT_EQ(Cached("s"), 2);
  // Two changes since the token: it cannot tell, and drops the fill.
  token = cache_.BeginFill("t");
  cache_.Invalidate("t", 2);
  cache_.Invalidate("t", 3);
  EXPECT_FALSE(cache_.Fill("t", AtVersion(3), token));
  // An erasure since the token: never.
  token = cache_.BeginFill("u");
  cache_.Erase("u");
  EXPECT_FALSE(cache_.Fill("u", AtVersion(9), token));
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
  ConsentCache cache(1000 * ConsentCache::kSlotBytes * 17 / 16, &clock);
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
  EXPECT_GT(stats.entries, 800u);
  EXPECT_LE(stats.entries, 1000u);
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
  EXPECT_GT(found, 800);
}

// States of every shape the cache may be given: what it returns is exactly
// what it was given, whether the state fits a slot or not.
TEST(ConsentCacheEntries, EveryStateComesBackExactly) {
  FakeClock clock(kNow);
  ConsentCache cache(size_t{256} << 20, &clock);
  std::mt19937 random(42);
  CategoryInterner& interner = CategoryInterner::Global();
  const CategoryKey keys[] = {
      interner.Intern("necessary"),  interner.Intern("preferences"),
      interner.Intern("statistics"), interner.Intern("marketing"),
      interner.Intern("c5"),         interner.Intern("c6"),
      interner.Intern("c7"),         interner.Intern("c8")};
  std::vector<SubjectState> states;
  // A subject never seen.
  states.emplace_back();
  // The common case: one decision naming every category.
  {
    SubjectState s;
    s.consent_version = 1;
    s.latest_policy_seq = 1;
    s.latest_decided_at = kNow;
    for (int k = 0; k < 4; ++k) {
      s.choices.push_back(CategoryChoice{keys[k], k % 2 == 0, 1, kNow});
    }
    states.push_back(s);
  }
  // Random ones: up to 8 choices from up to 5 decisions, times years
  // apart with microseconds (or less), policy seqs far apart, huge versions.
  for (int i = 0; i < 2000; ++i) {
    SubjectState s;
    s.consent_version = 1 + static_cast<int64_t>(random() % 1000);
    if (i % 50 == 0) s.consent_version += int64_t{1} << 33;
    s.latest_policy_seq = 1 + static_cast<int64_t>(random() % 70000);
    s.latest_decided_at =
        kNow + absl::Microseconds(static_cast<int64_t>(random() % 1000000));
    if (i % 97 == 0) s.latest_decided_at += absl::Nanoseconds(1);
    const int n = static_cast<int>(random() % 9);
    for (int k = 0; k < n; ++k) {
      const int decision = static_cast<int>(random() % 5);
      CategoryChoice c{keys[k], random() % 2 == 0, s.latest_policy_seq,
                       s.latest_decided_at};
      if (decision > 0) {
        c.policy_seq = std::max<int64_t>(
            1, s.latest_policy_seq - static_cast<int64_t>(random() % 40000));
        c.decided_at =
            s.latest_decided_at -
            absl::Microseconds(
                static_cast<int64_t>(random() % 1000) *
                (i % 3 == 0 ? int64_t{86400} * 1000000 * 3 : 1000000));
      }
      s.choices.push_back(c);
    }
    states.push_back(s);
  }
  for (size_t i = 0; i < states.size(); ++i) {
    const std::string subject = absl::StrCat("subject-", i);
    ASSERT_TRUE(cache.Fill(subject, states[i], cache.BeginFill(subject))) << i;
  }
  for (size_t i = 0; i < states.size(); ++i) {
    const SubjectState& want = states[i];
    bool found = false;
    cache.Read(absl::StrCat("subject-", i), [&](const SubjectState& got) {
      found = true;
      EXPECT_EQ(got.consent_version, want.consent_version) << i;
      EXPECT_EQ(got.latest_policy_seq, want.latest_policy_seq) << i;
      EXPECT_EQ(got.latest_decided_at, want.latest_decided_at) << i;
      ASSERT_EQ(got.choices.size(), want.choices.size()) << i;
      for (size_t k = 0; k < want.choices.size(); ++k) {
        EXPECT_EQ(got.choices[k].category, want.choices[k].category) << i;
        EXPECT_EQ(got.choices[k].granted, want.choices[k].granted) << i;
        EXPECT_EQ(got.choices[k].policy_seq, want.choices[k].policy_seq) << i;
        EXPECT_EQ(got.choices[k].decided_at, want.choices[k].decided_at) << i;
      }
    });
    EXPECT_TRUE(found) << i;
  }
  EXPECT_EQ(cache.GetStats().entries, states.size());
}

TEST(ConsentCacheEntries, SixtyFourBytesASubjectWhenFull) {
  FakeClock clock(kNow);
  constexpr size_t kBytes = 4 << 20;
  ConsentCache cache(kBytes, &clock);
  const SubjectState state = AtVersion(3);
  for (int i = 0; i < 200000; ++i) {
    const std::string subject =
        absl::StrFormat("%08x-0000-4000-8000-%012x", i, i * 7919);
    cache.Fill(subject, state, cache.BeginFill(subject));
  }
  const ConsentCache::Stats stats = cache.GetStats();
  EXPECT_LE(stats.bytes, kBytes);
  // Every slot of the grown tables in use: 64 bytes and a counter's share.
  EXPECT_LT(static_cast<double>(stats.bytes) / stats.entries, 70.0)
      << stats.entries << " entries in " << stats.bytes << " bytes";
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
