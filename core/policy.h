// The cookie policy as the domain sees it: categories, the cookie catalog and
// the categories that need re-consent. Plain values; the wire form lives in
// proto/ and is converted in server/.
#ifndef CONSENTD_CORE_POLICY_H_
#define CONSENTD_CORE_POLICY_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace consentd {

// The one category every policy has, always allowed and never refusable.
inline constexpr char kNecessaryCategory[] = "necessary";

inline constexpr size_t kMaxPolicyCategories = 64;
inline constexpr size_t kMaxPolicyCookies = 20000;
inline constexpr size_t kMaxPolicyTextBytes = 4096;
// Browsers cap cookie lifetimes at 400 days (RFC 6265bis).
inline constexpr absl::Duration kMaxCookieAge = absl::Hours(24 * 400);
// Longest FIXED duration a policy may state.
inline constexpr int64_t kMaxCookieDurationSeconds = 10LL * 366 * 24 * 3600;

enum class Lifetime : uint8_t {
  kUnspecified = 0,
  kSession = 1,
  kFixed = 2,
  kPersistent = 3,
  kVaries = 4,
};

struct Category {
  std::string id;
  std::string display_name;
  std::string description;
  bool required = false;
  bool gpc_opt_out = false;
  // Google Consent Mode v2 signals this category controls
  // (kConsentModeSignals).
  std::vector<std::string> consent_mode_signals;
  // How long a grant / a refusal counts; 0: the server's default TTL.
  int64_t grant_ttl_seconds = 0;
  int64_t refusal_ttl_seconds = 0;
};

// The signals of Google Consent Mode v2, in the order they are reported.
inline constexpr const char* kConsentModeSignals[] = {
    "ad_storage",        "ad_user_data",          "ad_personalization",
    "analytics_storage", "functionality_storage", "personalization_storage",
    "security_storage"};

// Longest a per-category decision lifetime may be.
inline constexpr int64_t kMaxDecisionTtlSeconds = 10LL * 366 * 24 * 3600;

struct Cookie {
  // Exact name or a glob with '*'. Case-sensitive.
  std::string name;
  std::string category;
  std::string purpose;
  Lifetime lifetime = Lifetime::kUnspecified;
  // > 0 for kFixed, 0 otherwise.
  int64_t duration_seconds = 0;
};

struct Policy {
  std::string version;
  std::vector<Category> categories;
  std::vector<Cookie> cookies;
  std::vector<std::string> reconsent_categories;
};

// Checks the whole policy and reports every problem at once, each naming its
// field. Besides well-formed fields: unique category ids and cookie
// patterns, every cookie in a known category, exactly one required category
// ("necessary"), which cannot be gpc_opt_out or need re-consent. Problems are
// reported with their field ("cookies[3].category: unknown category \"ads\""),
// joined by "; " in one InvalidArgument status. OK when the policy can be
// published.
absl::Status ValidatePolicy(const Policy& policy);

}  // namespace consentd

#endif  // CONSENTD_CORE_POLICY_H_
