#include "core/consent_cache.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace consentd {
namespace {

SubjectState AtVersion(int64_t version) {
  SubjectState s;
  s.consent_version = version;
  return s;
}

int64_t CachedVersion(const ConsentCache& cache, const std::string& subject) {
  int64_t version = -1;
  cache.Read(subject, [&](const SubjectState& s) { version = s.consent_version; });
  return version;
}

TEST(ConsentCache, MissThenHit) {
  ConsentCache cache;
  EXPECT_EQ(CachedVersion(cache, "s"), -1);
  EXPECT_TRUE(cache.Put("s", AtVersion(0)));  // Negative entry.
  EXPECT_EQ(CachedVersion(cache, "s"), 0);
  EXPECT_EQ(cache.Size(), 1u);
}

TEST(ConsentCache, NeverReplacedByAnOlderVersion) {
  ConsentCache cache;
  EXPECT_TRUE(cache.Put("s", AtVersion(3)));
  EXPECT_FALSE(cache.Put("s", AtVersion(2)));
  EXPECT_EQ(CachedVersion(cache, "s"), 3);
  EXPECT_TRUE(cache.Put("s", AtVersion(4)));
  EXPECT_EQ(CachedVersion(cache, "s"), 4);
}

TEST(ConsentCache, KeysAreCaseSensitive) {
  ConsentCache cache;
  cache.Put("U-1", AtVersion(1));
  EXPECT_EQ(CachedVersion(cache, "u-1"), -1);
}

TEST(ConsentCache, EraseDropsTheEntry) {
  ConsentCache cache;
  cache.Put("s", AtVersion(1));
  cache.Erase("s");
  EXPECT_EQ(CachedVersion(cache, "s"), -1);
}

TEST(ConsentCache, ConcurrentPutsKeepTheNewestVersion) {
  ConsentCache cache;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&cache, t] {
      for (int v = t; v < 1000; v += 4) cache.Put("s", AtVersion(v));
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(CachedVersion(cache, "s"), 999);
}

}  // namespace
}  // namespace consentd
