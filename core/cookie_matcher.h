// Finds the catalog entry for a cookie name. Catalog names are exact
// ("refreshToken") or globs where '*' matches any run of characters
// ("_ga_*"). Exact names beat globs; among globs that match, the one with the
// longest literal prefix (the text before its first '*') wins, then the one
// with more literal characters, then the lexicographically smaller pattern.
// Matching is case-sensitive (RFC 6265).
#ifndef CONSENTD_CORE_COOKIE_MATCHER_H_
#define CONSENTD_CORE_COOKIE_MATCHER_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"

namespace consentd {

// True when `name` matches `pattern`, where '*' matches any run of characters
// (also an empty one) and every other character matches itself.
bool GlobMatch(absl::string_view pattern, absl::string_view name);

// An immutable index over a catalog's patterns. A lookup costs one hash probe
// for exact names plus a walk of a trie of glob prefixes no deeper than the
// name; it never scans the catalog. Thread-compatible (const after Build).
class CookieMatcher {
 public:
  CookieMatcher() = default;

  // Indexes `patterns`; a match answers the pattern's position. Patterns
  // must be unique (ValidatePolicy guarantees it); for a duplicate the first
  // one wins.
  explicit CookieMatcher(const std::vector<std::string>& patterns);

  // The position of the pattern that decides `name`, or nullopt.
  std::optional<uint32_t> Match(absl::string_view name) const;

 private:
  struct Glob {
    std::string pattern;
    uint32_t value;
    size_t literal_chars;
  };
  struct Node {
    // Globs whose literal prefix ends at this node, best first.
    std::vector<Glob> globs;
  };

  absl::flat_hash_map<std::string, uint32_t> exact_;
  std::vector<Node> nodes_;  // nodes_[0] is the root (empty prefix).
  // (parent node, next character) -> child node.
  absl::flat_hash_map<std::pair<uint32_t, char>, uint32_t> edges_;
};

}  // namespace consentd

#endif  // CONSENTD_CORE_COOKIE_MATCHER_H_
