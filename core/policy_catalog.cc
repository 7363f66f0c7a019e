#include "core/policy_catalog.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace consentd {

CategoryInterner& CategoryInterner::Global() {
  static CategoryInterner* const interner = new CategoryInterner();
  return *interner;
}

CategoryKey CategoryInterner::Intern(absl::string_view id) {
  absl::MutexLock lock(&mu_);
  auto [it, inserted] = keys_.try_emplace(
      std::string(id), static_cast<CategoryKey>(names_.size()));
  if (inserted) names_.emplace_back(id);
  return it->second;
}

std::string CategoryInterner::Name(CategoryKey key) const {
  absl::MutexLock lock(&mu_);
  return key < names_.size() ? names_[key] : std::string();
}

const CompiledPolicy::CategoryInfo* CompiledPolicy::FindCategory(
    absl::string_view id) const {
  for (const CategoryInfo& c : categories_) {
    if (c.def->id == id) return &c;
  }
  return nullptr;
}

absl::StatusOr<std::shared_ptr<const PolicyHistory>> PolicyHistory::Build(
    std::vector<PublishedPolicy> policies) {
  std::sort(policies.begin(), policies.end(),
            [](const PublishedPolicy& a, const PublishedPolicy& b) {
              return a.seq < b.seq;
            });
  std::shared_ptr<PolicyHistory> history(new PolicyHistory());
  CategoryInterner& interner = CategoryInterner::Global();
  // Latest seq that asked for re-consent, per category key.
  absl::flat_hash_map<CategoryKey, int64_t> floors;

  for (PublishedPolicy& published : policies) {
    if (absl::Status s = ValidatePolicy(published.policy); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "stored policy ", published.policy.version, ": ", s.message()));
    }
    auto compiled = std::unique_ptr<CompiledPolicy>(new CompiledPolicy());
    compiled->published_ = std::move(published);
    const Policy& policy = compiled->published_.policy;

    for (const std::string& id : policy.reconsent_categories) {
      floors[interner.Intern(id)] = compiled->published_.seq;
    }
    for (const Category& c : policy.categories) {
      const CategoryKey key = interner.Intern(c.id);
      const auto floor = floors.find(key);
      if (key >= compiled->by_key_.size()) {
        compiled->by_key_.resize(key + 1, -1);
      }
      compiled->by_key_[key] =
          static_cast<int16_t>(compiled->categories_.size());
      compiled->categories_.push_back(CompiledPolicy::CategoryInfo{
          &c, key, floor == floors.end() ? 0 : floor->second});
    }
    std::vector<std::string> patterns;
    patterns.reserve(policy.cookies.size());
    for (const Cookie& k : policy.cookies) {
      patterns.push_back(k.name);
      const CompiledPolicy::CategoryInfo* category =
          compiled->FindCategory(k.category);
      compiled->cookies_.push_back(CompiledPolicy::CookieInfo{
          &k, static_cast<uint16_t>(category - compiled->categories_.data())});
    }
    compiled->matcher_ = CookieMatcher(patterns);
    history->by_version_[policy.version] = compiled.get();
    history->policies_.push_back(std::move(compiled));
  }
  return std::shared_ptr<const PolicyHistory>(std::move(history));
}

const CompiledPolicy* PolicyHistory::Find(absl::string_view version) const {
  auto it = by_version_.find(version);
  return it == by_version_.end() ? nullptr : it->second;
}

const CompiledPolicy* PolicyHistory::FindBySeq(int64_t seq) const {
  auto it = std::lower_bound(policies_.begin(), policies_.end(), seq,
                             [](const std::unique_ptr<CompiledPolicy>& p,
                                int64_t s) { return p->seq() < s; });
  return it != policies_.end() && (*it)->seq() == seq ? it->get() : nullptr;
}

const CompiledPolicy* PolicyHistory::AsOf(absl::Time t) const {
  // Publish order is also time order (publishes are serialized).
  const CompiledPolicy* found = nullptr;
  for (const auto& p : policies_) {
    if (p->published_at() > t) break;
    found = p.get();
  }
  return found;
}

}  // namespace consentd
