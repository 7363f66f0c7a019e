// Policies for unit tests of core/.
#ifndef CONSENTD_TESTS_UNIT_TEST_POLICIES_H_
#define CONSENTD_TESTS_UNIT_TEST_POLICIES_H_

#include <memory>
#include <vector>

#include "core/policy.h"
#include "core/policy_catalog.h"

namespace consentd::testing {

// A policy with the seed's four categories and a few cookies of each.
inline Policy SmallPolicy(const std::string& version = "v1") {
  Policy p;
  p.version = version;
  auto category = [](const char* id, const char* name, bool required,
                     bool gpc_opt_out) {
    Category c;
    c.id = id;
    c.display_name = name;
    c.required = required;
    c.gpc_opt_out = gpc_opt_out;
    return c;
  };
  p.categories = {category("necessary", "Necessary", true, false),
                  category("preferences", "Preferences", false, false),
                  category("statistics", "Statistics", false, false),
                  category("marketing", "Marketing", false, true)};
  p.cookies = {
      {"refreshToken", "necessary", "", Lifetime::kFixed, 7 * 86400},
      {"countryCode", "necessary", "", Lifetime::kSession, 0},
      {"currency", "necessary", "", Lifetime::kPersistent, 0},
      {"ia_pref_theme", "preferences", "", Lifetime::kFixed, 180 * 86400},
      {"ia_stats_session", "statistics", "", Lifetime::kSession, 0},
      {"ia_stats_events", "statistics", "", Lifetime::kFixed, 30 * 86400},
      {"ia_mkt_source", "marketing", "", Lifetime::kFixed, 30 * 86400},
      {"ia_mkt_forever", "marketing", "", Lifetime::kVaries, 0},
  };
  return p;
}

// Compiles `policies` as published in this order (seq 1, 2, ...).
inline std::shared_ptr<const PolicyHistory> History(
    std::vector<Policy> policies) {
  std::vector<PublishedPolicy> published;
  int64_t seq = 0;
  for (Policy& p : policies) {
    published.push_back(PublishedPolicy{std::move(p), ++seq,
                                        absl::FromUnixSeconds(1767225600)});
  }
  return *PolicyHistory::Build(std::move(published));
}

}  // namespace consentd::testing

#endif  // CONSENTD_TESTS_UNIT_TEST_POLICIES_H_
