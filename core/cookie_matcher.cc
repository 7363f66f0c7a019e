#include "core/cookie_matcher.h"

#include <algorithm>

#include "absl/container/inlined_vector.h"

namespace consentd {

bool GlobMatch(absl::string_view pattern, absl::string_view name) {
  // Iterative wildcard matching: on a mismatch, backtrack to the last '*'
  // and let it swallow one more character. O(|pattern| * |name|) worst case.
  size_t p = 0, n = 0;
  size_t star = absl::string_view::npos, star_n = 0;
  while (n < name.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      star_n = n;
    } else if (p < pattern.size() && pattern[p] == name[n]) {
      ++p;
      ++n;
    } else if (star != absl::string_view::npos) {
      p = star + 1;
      n = ++star_n;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

CookieMatcher::CookieMatcher(const std::vector<std::string>& patterns) {
  nodes_.emplace_back();
  for (uint32_t i = 0; i < patterns.size(); ++i) {
    const std::string& pattern = patterns[i];
    const size_t star = pattern.find('*');
    if (star == std::string::npos) {
      exact_.emplace(pattern, i);
      continue;
    }
    uint32_t node = 0;
    for (size_t k = 0; k < star; ++k) {
      auto [it, inserted] =
          edges_.try_emplace({node, pattern[k]}, nodes_.size());
      if (inserted) nodes_.emplace_back();
      node = it->second;
    }
    const size_t literal =
        pattern.size() - std::count(pattern.begin(), pattern.end(), '*');
    std::vector<Glob>& globs = nodes_[node].globs;
    if (std::any_of(globs.begin(), globs.end(),
                    [&](const Glob& g) { return g.pattern == pattern; })) {
      continue;
    }
    globs.push_back(Glob{pattern, i, literal});
  }
  for (Node& node : nodes_) {
    std::sort(node.globs.begin(), node.globs.end(),
              [](const Glob& a, const Glob& b) {
                if (a.literal_chars != b.literal_chars) {
                  return a.literal_chars > b.literal_chars;
                }
                return a.pattern < b.pattern;
              });
  }
}

std::optional<uint32_t> CookieMatcher::Match(absl::string_view name) const {
  if (auto it = exact_.find(name); it != exact_.end()) return it->second;
  if (nodes_.empty()) return std::nullopt;
  // Nodes on the path of `name` that hold globs, shallowest first.
  absl::InlinedVector<uint32_t, 8> candidates;
  uint32_t node = 0;
  if (!nodes_[0].globs.empty()) candidates.push_back(0);
  for (char c : name) {
    auto it = edges_.find(std::make_pair(node, c));
    if (it == edges_.end()) break;
    node = it->second;
    if (!nodes_[node].globs.empty()) candidates.push_back(node);
  }
  for (auto c = candidates.rbegin(); c != candidates.rend(); ++c) {
    for (const Glob& glob : nodes_[*c].globs) {
      if (GlobMatch(glob.pattern, name)) return glob.value;
    }
  }
  return std::nullopt;
}

}  // namespace consentd
