// A policy dry run, the pure part: what publishing a candidate policy would
// change relative to the current one (DiffPolicies), and findings about the
// candidate that do not stop a publish but deserve a look (LintPolicy). How
// many subjects a re-consent would ask again needs the database; it is
// counted in storage/ and joined to the report in server/.
#ifndef CONSENTD_CORE_POLICY_REVIEW_H_
#define CONSENTD_CORE_POLICY_REVIEW_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "core/policy.h"
#include "core/policy_catalog.h"

namespace consentd {

// A cookie pattern in both policies whose category differs.
struct CategoryChange {
  std::string cookie;
  std::string from;
  std::string to;

  friend bool operator==(const CategoryChange&,
                         const CategoryChange&) = default;
};

// The difference between two policies, each list in the order of the policy
// it comes from (removals: the current policy's order).
struct PolicyDiff {
  std::vector<CategoryChange> category_changes;
  std::vector<Cookie> cookies_added;
  std::vector<Cookie> cookies_removed;
  std::vector<std::string> categories_added;
  std::vector<std::string> categories_removed;
};

// What changes when `candidate` replaces `current` (nullptr: no policy is
// published yet, so everything is added). Cookies are matched by pattern
// (exact string, case-sensitive), categories by id. Both policies are
// expected to be valid (ValidatePolicy); the result is defined either way.
PolicyDiff DiffPolicies(const Policy* current, const Policy& candidate);

// Lint finding codes (stable: clients may match on them).
inline constexpr char kLintOptionalCookieLifetimeVaries[] =
    "OPTIONAL_COOKIE_LIFETIME_VARIES";
inline constexpr char kLintCookieOutlivesConsent[] = "COOKIE_OUTLIVES_CONSENT";
inline constexpr char kLintPersistentCookieOutlivesConsent[] =
    "PERSISTENT_COOKIE_OUTLIVES_CONSENT";
inline constexpr char kLintCookieExceedsBrowserCap[] =
    "COOKIE_EXCEEDS_BROWSER_CAP";
inline constexpr char kLintCookieMovedWithoutReconsent[] =
    "COOKIE_MOVED_WITHOUT_RECONSENT";
inline constexpr char kLintCategoryWithoutCookies[] =
    "CATEGORY_WITHOUT_COOKIES";

struct LintFinding {
  std::string code;
  // The cookie pattern; empty for a finding about a category.
  std::string cookie;
  std::string category;
  std::string message;

  friend bool operator==(const LintFinding&, const LintFinding&) = default;
};

// Findings about `candidate`, cookies first (catalog order), then
// categories. "Optional" means a category that is not required: its cookies
// live only as long as the subject's consent.
//  - OPTIONAL_COOKIE_LIFETIME_VARIES: an optional cookie with
//    LIFETIME_VARIES (the banner cannot state how long it lives);
//  - COOKIE_OUTLIVES_CONSENT: an optional LIFETIME_FIXED cookie whose
//    duration is longer than a grant of its category counts (the
//    category's grant_ttl_seconds, or `server_ttl`);
//  - PERSISTENT_COOKIE_OUTLIVES_CONSENT: an optional LIFETIME_PERSISTENT
//    cookie;
//  - COOKIE_EXCEEDS_BROWSER_CAP: a LIFETIME_FIXED duration over 400 days
//    (browsers cut it there), any category;
//  - COOKIE_MOVED_WITHOUT_RECONSENT: `diff` moves a cookie into an optional
//    category the candidate does not mark for re-consent (those who granted
//    it never agreed to this cookie);
//  - CATEGORY_WITHOUT_COOKIES: an optional category no cookie belongs to.
// `diff` is DiffPolicies(current, candidate).
std::vector<LintFinding> LintPolicy(const Policy& candidate,
                                    const PolicyDiff& diff,
                                    absl::Duration server_ttl);

// How many subjects a re-consent category would ask again: those whose
// standing choice for it counts today, by what they chose.
struct ReconsentImpact {
  std::string category;
  int64_t subjects_granted = 0;
  int64_t subjects_denied = 0;
};

// The publish order from which decisions for `category` count in `history`:
// the seq of the latest policy that asked for its re-consent, 0 if none did
// (CompiledPolicy::CategoryInfo::reconsent_floor_seq, also for a category
// the current policy does not have).
int64_t ReconsentFloorSeq(const PolicyHistory& history,
                          absl::string_view category);

// What a dry run reports: PolicyDiff, the re-consent impact, lint findings.
struct PolicyReview {
  // "" when no policy is published.
  std::string current_version;
  // The identical policy is published already: a publish is a no-op.
  bool already_published = false;
  PolicyDiff diff;
  std::vector<std::string> reconsent_categories;
  // Distinct subjects over all re-consent categories.
  int64_t subjects_to_reconsent = 0;
  std::vector<ReconsentImpact> reconsent_impact;
  std::vector<LintFinding> findings;
};

}  // namespace consentd

#endif  // CONSENTD_CORE_POLICY_REVIEW_H_
