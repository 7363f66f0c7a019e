// Published policies compiled for answering checks: the cookie index of each
// policy, its categories, and the re-consent floors that come from the
// publish history. A PolicyHistory is immutable; publishing builds a new one
// and the registry swaps it in atomically.
#ifndef CONSENTD_CORE_POLICY_CATALOG_H_
#define CONSENTD_CORE_POLICY_CATALOG_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/cookie_matcher.h"
#include "core/policy.h"

namespace consentd {

// A small integer for a category id, stable for the life of the process, so
// that cached subject state can name categories in two bytes. Thread-safe.
using CategoryKey = uint16_t;

class CategoryInterner {
 public:
  // The process-wide interner; never destroyed.
  static CategoryInterner& Global();

  // The key of `id`, assigned on first use. Ids are validated category ids,
  // so the key space (65536) is never exhausted in practice.
  CategoryKey Intern(absl::string_view id);
  // The id of a key returned by Intern.
  std::string Name(CategoryKey key) const;

 private:
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, CategoryKey> keys_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> names_ ABSL_GUARDED_BY(mu_);
};

// A published policy: its content, its place in the publish order, and when.
struct PublishedPolicy {
  Policy policy;
  // Publish order; larger is later. Decisions remember the seq of the policy
  // they were made under.
  int64_t seq = 0;
  absl::Time published_at;
};

// One policy compiled for lookups. Immutable; thread-safe to read.
class CompiledPolicy {
 public:
  struct CategoryInfo {
    const Category* def;
    CategoryKey key;
    // A decision for this category counts only if it was made under a
    // policy whose seq is >= this (0: no re-consent ever required).
    int64_t reconsent_floor_seq;
  };
  struct CookieInfo {
    const Cookie* def;
    // Index into categories().
    uint16_t category;
  };

  const Policy& policy() const { return published_.policy; }
  const std::string& version() const { return published_.policy.version; }
  int64_t seq() const { return published_.seq; }
  absl::Time published_at() const { return published_.published_at; }

  // Categories in policy order.
  const std::vector<CategoryInfo>& categories() const { return categories_; }
  // The category with `key`, or nullptr if this policy does not have it.
  const CategoryInfo* FindCategory(CategoryKey key) const {
    return key < by_key_.size() && by_key_[key] >= 0
               ? &categories_[by_key_[key]]
               : nullptr;
  }
  const CategoryInfo* FindCategory(absl::string_view id) const;

  // The catalog entry deciding `cookie_name`, or nullptr for an unknown
  // cookie. See CookieMatcher for the precedence rules.
  const CookieInfo* FindCookie(absl::string_view cookie_name) const {
    const std::optional<uint32_t> i = matcher_.Match(cookie_name);
    return i ? &cookies_[*i] : nullptr;
  }

 private:
  friend class PolicyHistory;
  CompiledPolicy() = default;

  PublishedPolicy published_;
  std::vector<CategoryInfo> categories_;
  std::vector<int16_t> by_key_;  // CategoryKey -> index, -1 if absent.
  std::vector<CookieInfo> cookies_;
  CookieMatcher matcher_;
};

// Every published policy, in publish order. Immutable; thread-safe to read.
class PolicyHistory {
 public:
  // Compiles `policies` (any order; sorted by seq here). Each must pass
  // ValidatePolicy; InvalidArgument otherwise, naming the version.
  static absl::StatusOr<std::shared_ptr<const PolicyHistory>> Build(
      std::vector<PublishedPolicy> policies);

  // The latest published policy, or nullptr when none is published.
  const CompiledPolicy* current() const {
    return policies_.empty() ? nullptr : policies_.back().get();
  }
  // The policy of `version`, or nullptr.
  const CompiledPolicy* Find(absl::string_view version) const;
  // The policy with publish order `seq`, or nullptr.
  const CompiledPolicy* FindBySeq(int64_t seq) const;
  // The policy that was current at `t`: the last one published at or
  // before `t`, or nullptr when none was.
  const CompiledPolicy* AsOf(absl::Time t) const;
  // All policies, oldest first.
  const std::vector<std::unique_ptr<CompiledPolicy>>& all() const {
    return policies_;
  }

 private:
  PolicyHistory() = default;
  std::vector<std::unique_ptr<CompiledPolicy>> policies_;
  absl::flat_hash_map<std::string, const CompiledPolicy*> by_version_;
};

}  // namespace consentd

#endif  // CONSENTD_CORE_POLICY_CATALOG_H_
