// Merging a device's consent into an account's (ConsentService.LinkSubjects):
// which of the device's standing choices the account takes, by rule. Pure.
#ifndef CONSENTD_CORE_LINK_H_
#define CONSENTD_CORE_LINK_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace consentd {

enum class MergeRule {
  // Per category, the later choice.
  kMostRecent,
  // Per category, a refusal on either side wins.
  kMostRestrictive,
};

// The stored name: "most_recent", "most_restrictive".
absl::string_view MergeRuleName(MergeRule rule);

// One category's standing choice, and when and under which policy it was
// made.
struct StandingChoice {
  std::string category;
  bool granted = false;
  std::string policy_version;
  absl::Time decided_at;
};

// The choices of `device` the account takes, each as it was made (its
// policy and time kept, so it expires and needs re-consent as the original
// would). For a category only the device decided: the device's choice. For
// one both decided: kMostRecent takes the device's when it is later (a tie
// keeps the account's); kMostRestrictive takes the device's refusal over
// the account's grant, and otherwise keeps the account's. Categories only
// the account decided keep its choice. In `device` order.
std::vector<StandingChoice> MergeChoices(
    const std::vector<StandingChoice>& device,
    const std::vector<StandingChoice>& account, MergeRule rule);

}  // namespace consentd

#endif  // CONSENTD_CORE_LINK_H_
