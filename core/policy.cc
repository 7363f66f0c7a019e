#include "core/policy.h"

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "core/validation.h"

namespace consentd {
namespace {

// Collects problems; each is prefixed with the path of the field.
class Problems {
 public:
  void Add(std::string problem) { problems_.push_back(std::move(problem)); }
  void Add(const absl::Status& status) {
    if (!status.ok()) problems_.emplace_back(status.message());
  }
  // At most kMaxReported problems are spelled out, then how many more.
  absl::Status ToStatus() const {
    constexpr size_t kMaxReported = 20;
    if (problems_.empty()) return absl::OkStatus();
    std::string message =
        absl::StrCat("invalid policy: ",
                     absl::StrJoin(problems_.begin(),
                                   problems_.begin() +
                                       std::min(problems_.size(), kMaxReported),
                                   "; "));
    if (problems_.size() > kMaxReported) {
      absl::StrAppend(&message, "; and ", problems_.size() - kMaxReported,
                      " more problem(s)");
    }
    return absl::InvalidArgumentError(message);
  }

 private:
  std::vector<std::string> problems_;
};

void CheckText(Problems& problems, absl::string_view value,
               const std::string& field) {
  problems.Add(ValidateOptionalIdentifier(value, field, kMaxPolicyTextBytes));
}

}  // namespace

absl::Status ValidatePolicy(const Policy& policy) {
  Problems problems;
  problems.Add(ValidatePolicyVersion(policy.version, "version"));

  if (policy.categories.empty())
    problems.Add("categories: at least one is required");
  if (policy.categories.size() > kMaxPolicyCategories) {
    problems.Add(absl::StrCat("categories: at most ", kMaxPolicyCategories,
                              " are allowed"));
  }
  absl::flat_hash_map<absl::string_view, const Category*> categories;
  for (size_t i = 0; i < policy.categories.size(); ++i) {
    const Category& c = policy.categories[i];
    const std::string field = absl::StrCat("categories[", i, "]");
    problems.Add(ValidateCategoryId(c.id, field + ".id"));
    CheckText(problems, c.display_name, field + ".display_name");
    CheckText(problems, c.description, field + ".description");
    absl::flat_hash_set<absl::string_view> signals;
    for (size_t k = 0; k < c.consent_mode_signals.size(); ++k) {
      const std::string& signal = c.consent_mode_signals[k];
      const std::string where =
          absl::StrCat(field, ".consent_mode_signals[", k, "]");
      if (std::find_if(std::begin(kConsentModeSignals),
                       std::end(kConsentModeSignals), [&](const char* known) {
                         return signal == known;
                       }) == std::end(kConsentModeSignals)) {
        problems.Add(absl::StrCat(where, ": ", Quoted(signal),
                                  " is not a Consent Mode v2 signal"));
      } else if (!signals.insert(signal).second) {
        problems.Add(absl::StrCat(where, ": duplicate ", Quoted(signal)));
      }
    }
    for (const auto& [ttl, name] :
         {std::pair{c.grant_ttl_seconds, "grant_ttl_seconds"},
          std::pair{c.refusal_ttl_seconds, "refusal_ttl_seconds"}}) {
      if (ttl < 0 || ttl > kMaxDecisionTtlSeconds) {
        problems.Add(absl::StrCat(field, ".", name, ": must be between 0 and ",
                                  kMaxDecisionTtlSeconds, " seconds"));
      } else if (ttl != 0 && c.required) {
        problems.Add(absl::StrCat(field, ".", name,
                                  ": a required category takes no decisions"));
      }
    }
    if (c.required && c.gpc_opt_out) {
      problems.Add(absl::StrCat(field, ": a required category cannot be ",
                                "gpc_opt_out (it can never be refused)"));
    }
    if (!categories.emplace(c.id, &c).second) {
      problems.Add(
          absl::StrCat(field, ".id: duplicate category ", Quoted(c.id)));
    }
    // Exactly one category is required: "necessary". A required category
    // is allowed for everyone without asking, so marking any other one
    // required would answer "allowed" for cookies the law says need consent.
    if (c.id == kNecessaryCategory && !c.required) {
      problems.Add(absl::StrCat(field, ".required: the \"", kNecessaryCategory,
                                "\" category must be required"));
    } else if (c.id != kNecessaryCategory && c.required) {
      problems.Add(absl::StrCat(field, ".required: only the \"",
                                kNecessaryCategory, "\" category may be ",
                                "required; ", Quoted(c.id),
                                " needs the subject's consent"));
    }
  }
  if (!policy.categories.empty() && !categories.contains(kNecessaryCategory)) {
    problems.Add(absl::StrCat("categories: the required \"", kNecessaryCategory,
                              "\" category is missing (cookies a site cannot "
                              "work without belong to it)"));
  }

  if (policy.cookies.size() > kMaxPolicyCookies) {
    problems.Add(
        absl::StrCat("cookies: at most ", kMaxPolicyCookies, " are allowed"));
  }
  absl::flat_hash_set<absl::string_view> names;
  for (size_t i = 0; i < policy.cookies.size(); ++i) {
    const Cookie& k = policy.cookies[i];
    const std::string field = absl::StrCat("cookies[", i, "]");
    problems.Add(
        ValidateIdentifier(k.name, field + ".name", kMaxCookieNameBytes));
    if (!k.name.empty() && !names.insert(k.name).second) {
      problems.Add(absl::StrCat(field, ".name: duplicate cookie pattern ",
                                Quoted(k.name)));
    }
    if (!categories.contains(k.category)) {
      problems.Add(absl::StrCat(field, ".category: unknown category ",
                                Quoted(k.category)));
    }
    CheckText(problems, k.purpose, field + ".purpose");
    switch (k.lifetime) {
      case Lifetime::kFixed:
        if (k.duration_seconds <= 0 ||
            k.duration_seconds > kMaxCookieDurationSeconds) {
          problems.Add(
              absl::StrCat(field,
                           ".duration_seconds: LIFETIME_FIXED needs a duration "
                           "between 1 and ",
                           kMaxCookieDurationSeconds, " seconds"));
        }
        break;
      case Lifetime::kSession:
      case Lifetime::kPersistent:
      case Lifetime::kVaries:
        if (k.duration_seconds != 0) {
          problems.Add(absl::StrCat(field,
                                    ".duration_seconds: only "
                                    "LIFETIME_FIXED takes a duration"));
        }
        break;
      case Lifetime::kUnspecified:
        problems.Add(absl::StrCat(field, ".lifetime: is required"));
        break;
    }
  }

  absl::flat_hash_set<absl::string_view> reconsent;
  for (size_t i = 0; i < policy.reconsent_categories.size(); ++i) {
    const std::string& id = policy.reconsent_categories[i];
    const std::string field = absl::StrCat("reconsent_categories[", i, "]");
    auto it = categories.find(id);
    if (it == categories.end()) {
      problems.Add(absl::StrCat(field, ": unknown category ", Quoted(id)));
    } else if (it->second->required) {
      problems.Add(absl::StrCat(field, ": ", Quoted(id),
                                " is required and needs no consent"));
    }
    if (!reconsent.insert(id).second) {
      problems.Add(absl::StrCat(field, ": duplicate ", Quoted(id)));
    }
  }
  return problems.ToStatus();
}

}  // namespace consentd
