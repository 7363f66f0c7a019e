#include "core/link.h"

#include <algorithm>

namespace consentd {

absl::string_view MergeRuleName(MergeRule rule) {
  switch (rule) {
    case MergeRule::kMostRecent:
      return "most_recent";
    case MergeRule::kMostRestrictive:
      return "most_restrictive";
  }
  return "";
}

std::vector<StandingChoice> MergeChoices(
    const std::vector<StandingChoice>& device,
    const std::vector<StandingChoice>& account, MergeRule rule) {
  std::vector<StandingChoice> taken;
  for (const StandingChoice& d : device) {
    auto a = std::find_if(
        account.begin(), account.end(),
        [&](const StandingChoice& c) { return c.category == d.category; });
    bool take = a == account.end();
    if (!take) {
      switch (rule) {
        case MergeRule::kMostRecent:
          take = d.decided_at > a->decided_at;
          break;
        case MergeRule::kMostRestrictive:
          take = !d.granted && a->granted;
          break;
      }
    }
    if (take) taken.push_back(d);
  }
  return taken;
}

}  // namespace consentd
