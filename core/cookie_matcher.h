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
// for exact names, then a walk of a trie of glob prefixes no deeper than the
// name; at each trie node on the way, globs with one '*' ("_ga_*",
// "*_session", "x*y") are found by a hash probe of the name's ending per
// distinct suffix length, and only globs with several '*' are tried one by
// one. So it never scans the catalog, however many patterns share a prefix
// (the empty prefix of "*suffix" globs included). Thread-compatible (const
// after Build).
class CookieMatcher {
 public:
  CookieMatcher() = default;

  // Indexes `patterns`; a match answers the pattern's position. Patterns
  // must be unique (ValidatePolicy guarantees it); for a duplicate the first
  // one wins.
  explicit CookieMatcher(const std::vector<std::string>& patterns);

  // The position of the pattern that decides `name`, or nullopt. With
  // `probes`, adds to it the lookups the match made (hash probes and glob
  // comparisons): what tests hold bounded by the name, not the catalog.
  std::optional<uint32_t> Match(absl::string_view name,
                                size_t* probes = nullptr) const;

 private:
  struct Glob {
    std::string pattern;
    uint32_t value;
    size_t literal_chars;
  };
  struct Node {
    // Length of the prefix this node stands for.
    uint32_t depth = 0;
    // Globs with one '*' whose prefix ends here, by the text after the '*'.
    absl::flat_hash_map<std::string, Glob> by_suffix;
    // The distinct lengths of those suffixes, longest first.
    std::vector<uint32_t> suffix_lengths;
    // Globs with more than one '*' whose prefix ends here, best first.
    std::vector<Glob> multi;
    bool has_globs() const { return !by_suffix.empty() || !multi.empty(); }
  };
  // Match, counting its lookups in `probes`.
  std::optional<uint32_t> Find(absl::string_view name, size_t& probes) const;
  // The best glob of `node` matching `name`, or nullptr.
  const Glob* BestAt(const Node& node, absl::string_view name,
                     size_t& probes) const;

  absl::flat_hash_map<std::string, uint32_t> exact_;
  std::vector<Node> nodes_;  // nodes_[0] is the root (empty prefix).
  // (parent node, next character) -> child node.
  absl::flat_hash_map<std::pair<uint32_t, char>, uint32_t> edges_;
};

}  // namespace consentd

#endif  // CONSENTD_CORE_COOKIE_MATCHER_H_
