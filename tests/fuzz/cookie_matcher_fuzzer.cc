// Fuzz target: the cookie matcher, differentially. Input: patterns, one a
// line, then a line "---", then names. The indexed matcher must give the
// answer the precedence rules give when applied by brute force.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "core/cookie_matcher.h"

namespace {

std::optional<uint32_t> BruteForce(const std::vector<std::string>& patterns,
                                   const std::string& name) {
  for (uint32_t i = 0; i < patterns.size(); ++i) {
    if (patterns[i].find('*') == std::string::npos && patterns[i] == name) {
      return i;
    }
  }
  std::optional<uint32_t> best;
  auto key = [&](uint32_t i) {
    const std::string& p = patterns[i];
    const size_t prefix = p.find('*');
    const size_t literal = p.size() - std::count(p.begin(), p.end(), '*');
    return std::make_tuple(prefix, literal);
  };
  for (uint32_t i = 0; i < patterns.size(); ++i) {
    if (patterns[i].find('*') == std::string::npos) continue;
    if (!consentd::GlobMatch(patterns[i], name)) continue;
    if (!best) {
      best = i;
      continue;
    }
    const auto a = key(i), b = key(*best);
    if (a > b || (a == b && patterns[i] < patterns[*best])) best = i;
  }
  return best;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const size_t split = text.find("\n---\n");
  if (split == std::string::npos) return 0;
  std::vector<std::string> patterns =
      absl::StrSplit(text.substr(0, split), '\n', absl::SkipEmpty());
  std::vector<std::string> names = absl::StrSplit(text.substr(split + 5), '\n');
  if (patterns.size() > 64 || names.size() > 64) return 0;
  // Duplicates are rejected before a matcher is built (ValidatePolicy).
  std::vector<std::string> unique;
  for (const std::string& p : patterns) {
    if (p.size() > 64) return 0;
    if (std::find(unique.begin(), unique.end(), p) == unique.end()) {
      unique.push_back(p);
    }
  }
  const consentd::CookieMatcher matcher(unique);
  for (const std::string& name : names) {
    if (name.size() > 64) continue;
    if (matcher.Match(name) != BruteForce(unique, name)) __builtin_trap();
  }
  return 0;
}
