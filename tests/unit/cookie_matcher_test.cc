#include "core/cookie_matcher.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <tuple>
#include <vector>

namespace consentd {
namespace {

TEST(GlobMatch, StarMatchesAnyRun) {
  EXPECT_TRUE(GlobMatch("_ga_*", "_ga_Q7W2E9R4T1"));
  EXPECT_TRUE(GlobMatch("_ga_*", "_ga_"));
  EXPECT_FALSE(GlobMatch("_ga_*", "_ga"));
  EXPECT_TRUE(GlobMatch("*", ""));
  EXPECT_TRUE(GlobMatch("a*b*c", "aXXbYYc"));
  EXPECT_TRUE(GlobMatch("a*b*c", "abc"));
  EXPECT_FALSE(GlobMatch("a*b*c", "aXXbYY"));
  EXPECT_TRUE(GlobMatch("*_session", "ia_stats_session"));
  EXPECT_FALSE(GlobMatch("exact", "exactly"));
  EXPECT_FALSE(GlobMatch("_GA_*", "_ga_1"));  // Case-sensitive.
}

std::optional<uint32_t> Match(const std::vector<std::string>& patterns,
                              const std::string& name) {
  return CookieMatcher(patterns).Match(name);
}

TEST(CookieMatcher, ExactBeatsGlob) {
  EXPECT_EQ(Match({"_ga*", "_ga"}, "_ga"), 1u);
  EXPECT_EQ(Match({"_ga", "_ga*"}, "_ga"), 0u);
}

TEST(CookieMatcher, LongestLiteralPrefixWins) {
  const std::vector<std::string> patterns = {"_ga*", "_ga_*", "_gac_*", "*"};
  EXPECT_EQ(CookieMatcher(patterns).Match("_ga_Q7W2E9R4T1"), 1u);
  EXPECT_EQ(CookieMatcher(patterns).Match("_gac_UA-1"), 2u);
  EXPECT_EQ(CookieMatcher(patterns).Match("_gaX"), 0u);
  EXPECT_EQ(CookieMatcher(patterns).Match("other"), 3u);
}

TEST(CookieMatcher, PrefixMustMatchWholePattern) {
  // "_ga_*_x" has the longer prefix but does not match; "_ga*" does.
  const std::vector<std::string> patterns = {"_ga*", "_ga_*_x"};
  EXPECT_EQ(CookieMatcher(patterns).Match("_ga_1"), 0u);
  EXPECT_EQ(CookieMatcher(patterns).Match("_ga_1_x"), 1u);
}

TEST(CookieMatcher, SamePrefixPrefersMoreLiteralCharacters) {
  const std::vector<std::string> patterns = {"id_*", "id_*_v2"};
  EXPECT_EQ(CookieMatcher(patterns).Match("id_7_v2"), 1u);
  EXPECT_EQ(CookieMatcher(patterns).Match("id_7"), 0u);
}

TEST(CookieMatcher, CaseSensitive) {
  const std::vector<std::string> patterns = {"refreshToken", "Sess*"};
  EXPECT_EQ(CookieMatcher(patterns).Match("refreshToken"), 0u);
  EXPECT_EQ(CookieMatcher(patterns).Match("refreshtoken"), std::nullopt);
  EXPECT_EQ(CookieMatcher(patterns).Match("sess1"), std::nullopt);
  EXPECT_EQ(CookieMatcher(patterns).Match("Sess1"), 1u);
}

TEST(CookieMatcher, UnknownAndEmptyCatalog) {
  EXPECT_EQ(CookieMatcher().Match("x"), std::nullopt);
  EXPECT_EQ(Match({}, "x"), std::nullopt);
  EXPECT_EQ(Match({"a", "b*"}, "c"), std::nullopt);
}

TEST(CookieMatcher, LargeCatalogAgreesWithLinearScan) {
  // Thousands of patterns: the index must give the answer the precedence
  // rules give when applied by brute force.
  std::vector<std::string> patterns;
  for (int i = 0; i < 3000; ++i) {
    patterns.push_back("c" + std::to_string(i));
    if (i % 3 == 0) patterns.push_back("g" + std::to_string(i) + "*");
  }
  patterns.push_back("g1*");
  patterns.push_back("*");
  const CookieMatcher matcher(patterns);
  for (const char* name : {"c17", "g300x", "g1", "g12345", "zzz", "c3000"}) {
    std::optional<uint32_t> expected;
    size_t best_prefix = 0;
    for (uint32_t i = 0; i < patterns.size(); ++i) {
      if (patterns[i] == name) {
        expected = i;
        break;
      }
      const size_t star = patterns[i].find('*');
      if (star == std::string::npos || !GlobMatch(patterns[i], name)) continue;
      if (!expected || star > best_prefix) {
        expected = i;
        best_prefix = star;
      }
    }
    EXPECT_EQ(matcher.Match(name), expected) << name;
  }
}

// The precedence rules applied by brute force over every pattern.
std::optional<uint32_t> LinearMatch(const std::vector<std::string>& patterns,
                                    const std::string& name) {
  std::optional<uint32_t> best;
  auto key = [&](uint32_t i) {
    const std::string& p = patterns[i];
    const size_t literal = p.size() - std::count(p.begin(), p.end(), '*');
    // Larger is better: prefix length, literal characters, then the
    // lexicographically smaller pattern.
    return std::make_tuple(p.find('*'), literal);
  };
  for (uint32_t i = 0; i < patterns.size(); ++i) {
    if (patterns[i] == name) return i;
    if (patterns[i].find('*') == std::string::npos) continue;
    if (!GlobMatch(patterns[i], name)) continue;
    if (!best || key(i) > key(*best) ||
        (key(i) == key(*best) && patterns[i] < patterns[*best])) {
      best = i;
    }
  }
  return best;
}

TEST(CookieMatcher, ALookupCostsTheNameNotTheCatalog) {
  // 90,000 patterns: exact names, prefix globs, suffix globs sharing the
  // empty prefix, and a few with two '*'. A lookup's probes are bounded by
  // the name's length (trie steps, suffix lengths, the two-'*' globs of the
  // nodes on its path); a scan would cost the catalog.
  std::vector<std::string> patterns;
  for (int i = 0; i < 30000; ++i) {
    patterns.push_back("c" + std::to_string(i));
    patterns.push_back("p" + std::to_string(i) + "_*");
    patterns.push_back("*_s" + std::to_string(i));
  }
  for (int i = 0; i < 5; ++i)
    patterns.push_back("x*y" + std::to_string(i) + "*");
  const CookieMatcher matcher(patterns);
  for (const std::string name :
       {"c29999", "p123_abc", "zz_s29999", "xay3b", "nothing_like_it",
        "p29999_", "_s0", "c", ""}) {
    size_t probes = 0;
    const std::optional<uint32_t> found = matcher.Match(name, &probes);
    EXPECT_EQ(found, LinearMatch(patterns, name)) << name;
    EXPECT_LE(probes, 2 * name.size() + 16) << name;
  }
  // The counter adds up, and counts every kind of lookup.
  size_t total = 0;
  matcher.Match("c1", &total);
  EXPECT_EQ(total, 1u);  // One hash probe: an exact name.
  matcher.Match("p7_x", &total);
  EXPECT_GT(total, 2u);
}

TEST(CookieMatcher, SuffixGlobsAreIndexedNotScanned) {
  // Thousands of "*suffix" globs share the empty prefix, and many
  // "p_*suffix" globs one prefix: the answers follow the precedence rules.
  std::vector<std::string> patterns;
  for (int i = 0; i < 4000; ++i) patterns.push_back("*_s" + std::to_string(i));
  for (int i = 0; i < 1000; ++i) patterns.push_back("p_*" + std::to_string(i));
  patterns.push_back("p_*");
  patterns.push_back("p_*_*9");  // Two stars, more literals than "p_*9".
  const CookieMatcher matcher(patterns);
  for (const std::string name : {"x_s17", "p_x_s17", "p_abc9", "p_a_b9", "p_9",
                                 "p_", "p_x", "_s", "y_s4000", "p_1000"}) {
    EXPECT_EQ(matcher.Match(name), LinearMatch(patterns, name)) << name;
  }
  EXPECT_EQ(matcher.Match("p_a_b9"), patterns.size() - 1);
  EXPECT_EQ(matcher.Match("x_s17"), 17u);
  // The suffix may not overlap the prefix: "p_*_2" needs at least 5 chars.
  EXPECT_EQ(Match({"p_*_2"}, "p_2"), std::nullopt);
  EXPECT_EQ(Match({"p_*_2"}, "p__2"), 0u);
}

TEST(CookieMatcher, RandomCatalogsAgreeWithTheRulesByBruteForce) {
  std::mt19937 random(20261204);
  const std::string alphabet = "ab_";
  auto word = [&](int max) {
    std::string w;
    const int n = static_cast<int>(random() % (max + 1));
    for (int i = 0; i < n; ++i) w += alphabet[random() % alphabet.size()];
    return w;
  };
  for (int round = 0; round < 200; ++round) {
    std::vector<std::string> patterns;
    const int n = 1 + static_cast<int>(random() % 30);
    for (int i = 0; i < n; ++i) {
      std::string p = word(3);
      const int stars = static_cast<int>(random() % 3);
      for (int k = 0; k < stars; ++k) p += "*" + word(2);
      if (std::find(patterns.begin(), patterns.end(), p) == patterns.end()) {
        patterns.push_back(p);
      }
    }
    const CookieMatcher matcher(patterns);
    for (int q = 0; q < 50; ++q) {
      const std::string name = word(6);
      ASSERT_EQ(matcher.Match(name), LinearMatch(patterns, name))
          << "name \"" << name << "\" in round " << round;
    }
  }
}

}  // namespace
}  // namespace consentd
