#include "core/policy_review.h"

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "core/validation.h"

namespace consentd {
namespace {

// "30 days" when whole days, else abseil's form ("36h", "90s").
std::string HumanDuration(absl::Duration d) {
  const int64_t seconds = absl::ToInt64Seconds(d);
  if (seconds > 0 && seconds % 86400 == 0) {
    const int64_t days = seconds / 86400;
    return absl::StrCat(days, days == 1 ? " day" : " days");
  }
  return absl::FormatDuration(d);
}

}  // namespace

PolicyDiff DiffPolicies(const Policy* current, const Policy& candidate) {
  PolicyDiff diff;
  absl::flat_hash_map<absl::string_view, const Cookie*> old_cookies;
  absl::flat_hash_set<absl::string_view> old_categories;
  if (current != nullptr) {
    for (const Cookie& k : current->cookies) old_cookies.emplace(k.name, &k);
    for (const Category& c : current->categories) old_categories.insert(c.id);
  }
  absl::flat_hash_set<absl::string_view> new_cookies;
  for (const Cookie& k : candidate.cookies) {
    new_cookies.insert(k.name);
    auto it = old_cookies.find(k.name);
    if (it == old_cookies.end()) {
      diff.cookies_added.push_back(k);
    } else if (it->second->category != k.category) {
      diff.category_changes.push_back(
          CategoryChange{k.name, it->second->category, k.category});
    }
  }
  absl::flat_hash_set<absl::string_view> new_categories;
  for (const Category& c : candidate.categories) {
    new_categories.insert(c.id);
    if (!old_categories.contains(c.id)) diff.categories_added.push_back(c.id);
  }
  if (current != nullptr) {
    for (const Cookie& k : current->cookies) {
      if (!new_cookies.contains(k.name)) diff.cookies_removed.push_back(k);
    }
    for (const Category& c : current->categories) {
      if (!new_categories.contains(c.id)) {
        diff.categories_removed.push_back(c.id);
      }
    }
  }
  return diff;
}

std::vector<LintFinding> LintPolicy(const Policy& candidate,
                                    const PolicyDiff& diff,
                                    absl::Duration server_ttl) {
  absl::flat_hash_map<absl::string_view, const Category*> categories;
  for (const Category& c : candidate.categories) categories.emplace(c.id, &c);
  const auto optional = [&](absl::string_view id) {
    auto it = categories.find(id);
    return it != categories.end() && !it->second->required;
  };
  const absl::flat_hash_set<absl::string_view> reconsent(
      candidate.reconsent_categories.begin(),
      candidate.reconsent_categories.end());

  std::vector<LintFinding> findings;
  const auto add = [&](const char* code, const Cookie& k, std::string message) {
    findings.push_back(
        LintFinding{code, k.name, k.category, std::move(message)});
  };
  for (const Cookie& k : candidate.cookies) {
    const std::string name = Quoted(k.name);
    const std::string category = Quoted(k.category);
    if (optional(k.category)) {
      // How long a grant of its category counts: its own, or the server's.
      const int64_t own = categories.at(k.category)->grant_ttl_seconds;
      const absl::Duration consent_ttl =
          own > 0 ? absl::Seconds(own) : server_ttl;
      switch (k.lifetime) {
        case Lifetime::kVaries:
          add(kLintOptionalCookieLifetimeVaries, k,
              absl::StrCat(name, " in optional category ", category,
                           " has LIFETIME_VARIES: the banner cannot tell the "
                           "subject how long it lives; state a duration"));
          break;
        case Lifetime::kFixed:
          if (absl::Seconds(k.duration_seconds) > consent_ttl) {
            add(kLintCookieOutlivesConsent, k,
                absl::StrCat(name, " lives ",
                             HumanDuration(absl::Seconds(k.duration_seconds)),
                             ", longer than consent lasts (",
                             HumanDuration(consent_ttl),
                             "); consentd caps its max_age at the "
                             "decision's expiry"));
          }
          break;
        case Lifetime::kPersistent:
          add(kLintPersistentCookieOutlivesConsent, k,
              absl::StrCat(name, " in optional category ", category,
                           " is LIFETIME_PERSISTENT: it outlives the consent "
                           "it needs (",
                           HumanDuration(consent_ttl), "); state a duration"));
          break;
        case Lifetime::kSession:
        case Lifetime::kUnspecified:
          break;
      }
    }
    if (k.lifetime == Lifetime::kFixed &&
        absl::Seconds(k.duration_seconds) > kMaxCookieAge) {
      add(kLintCookieExceedsBrowserCap, k,
          absl::StrCat(name, " lives ",
                       HumanDuration(absl::Seconds(k.duration_seconds)),
                       ", but browsers cap cookies at 400 days"));
    }
  }
  for (const CategoryChange& change : diff.category_changes) {
    if (!optional(change.to) || reconsent.contains(change.to)) continue;
    findings.push_back(LintFinding{
        kLintCookieMovedWithoutReconsent, change.cookie, change.to,
        absl::StrCat(Quoted(change.cookie), " moves from ", Quoted(change.from),
                     " to ", Quoted(change.to), ", but ", Quoted(change.to),
                     " is not marked for re-consent: subjects who granted it "
                     "never agreed to this cookie")});
  }
  absl::flat_hash_set<absl::string_view> used;
  for (const Cookie& k : candidate.cookies) used.insert(k.category);
  for (const Category& c : candidate.categories) {
    if (c.required || used.contains(c.id)) continue;
    findings.push_back(LintFinding{
        kLintCategoryWithoutCookies, "", c.id,
        absl::StrCat("optional category ", Quoted(c.id),
                     " has no cookies: the banner would ask for consent to "
                     "nothing")});
  }
  return findings;
}

int64_t ReconsentFloorSeq(const PolicyHistory& history,
                          absl::string_view category) {
  int64_t floor = 0;
  for (const std::unique_ptr<CompiledPolicy>& p : history.all()) {
    for (const std::string& id : p->policy().reconsent_categories) {
      if (id == category) floor = p->seq();
    }
  }
  return floor;
}

}  // namespace consentd
