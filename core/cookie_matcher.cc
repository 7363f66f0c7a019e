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

namespace {

// The order globs of one node are preferred in: more literal characters,
// then the lexicographically smaller pattern.
template <typename G>
bool Better(const G& a, const G& b) {
  if (a.literal_chars != b.literal_chars) {
    return a.literal_chars > b.literal_chars;
  }
  return a.pattern < b.pattern;
}

}  // namespace

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
      if (inserted) {
        nodes_.emplace_back();
        nodes_.back().depth = static_cast<uint32_t>(k + 1);
      }
      node = it->second;
    }
    const size_t stars = std::count(pattern.begin(), pattern.end(), '*');
    Glob glob{pattern, i, pattern.size() - stars};
    Node& n = nodes_[node];
    if (stars == 1) {
      n.by_suffix.try_emplace(pattern.substr(star + 1), std::move(glob));
    } else if (std::none_of(n.multi.begin(), n.multi.end(), [&](const Glob& g) {
                 return g.pattern == pattern;
               })) {
      n.multi.push_back(std::move(glob));
    }
  }
  for (Node& node : nodes_) {
    std::sort(node.multi.begin(), node.multi.end(), Better<Glob>);
    for (const auto& [suffix, glob] : node.by_suffix) {
      node.suffix_lengths.push_back(static_cast<uint32_t>(suffix.size()));
    }
    std::sort(node.suffix_lengths.begin(), node.suffix_lengths.end(),
              std::greater<>());
    node.suffix_lengths.erase(
        std::unique(node.suffix_lengths.begin(), node.suffix_lengths.end()),
        node.suffix_lengths.end());
  }
}

const CookieMatcher::Glob* CookieMatcher::BestAt(const Node& node,
                                                 absl::string_view name,
                                                 size_t& probes) const {
  // The prefix matched on the way here; the suffix must fit after it. The
  // longest matching suffix is the best one-'*' glob (most literals).
  const Glob* best = nullptr;
  for (uint32_t length : node.suffix_lengths) {
    if (node.depth + length > name.size()) continue;
    ++probes;
    auto it = node.by_suffix.find(name.substr(name.size() - length));
    if (it != node.by_suffix.end()) {
      best = &it->second;
      break;
    }
  }
  for (const Glob& glob : node.multi) {
    if (best != nullptr && !Better(glob, *best)) break;
    ++probes;
    if (GlobMatch(glob.pattern, name)) return &glob;
  }
  return best;
}

std::optional<uint32_t> CookieMatcher::Match(absl::string_view name,
                                             size_t* probes) const {
  size_t count = 1;
  std::optional<uint32_t> found = Find(name, count);
  if (probes != nullptr) *probes += count;
  return found;
}

std::optional<uint32_t> CookieMatcher::Find(absl::string_view name,
                                            size_t& probes) const {
  if (auto it = exact_.find(name); it != exact_.end()) return it->second;
  if (nodes_.empty()) return std::nullopt;
  // Nodes on the path of `name` that hold globs, shallowest first.
  absl::InlinedVector<uint32_t, 8> candidates;
  uint32_t node = 0;
  if (nodes_[0].has_globs()) candidates.push_back(0);
  for (char c : name) {
    ++probes;
    auto it = edges_.find(std::make_pair(node, c));
    if (it == edges_.end()) break;
    node = it->second;
    if (nodes_[node].has_globs()) candidates.push_back(node);
  }
  // The longest literal prefix wins: the deepest node with a match.
  for (auto c = candidates.rbegin(); c != candidates.rend(); ++c) {
    if (const Glob* glob = BestAt(nodes_[*c], name, probes)) {
      return glob->value;
    }
  }
  return std::nullopt;
}

}  // namespace consentd
