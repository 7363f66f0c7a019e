// Validation of every request field, before anything is read or written:
// each check names the field in an InvalidArgument status.
#ifndef CONSENTD_SERVER_REQUEST_VALIDATION_H_
#define CONSENTD_SERVER_REQUEST_VALIDATION_H_

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "consent/v1/consent.pb.h"
#include "core/decision.h"
#include "core/policy_catalog.h"

namespace consentd {

// Most cookie names one CheckCookies call may ask about.
inline constexpr int kMaxCookiesPerCheck = 1000;
inline constexpr size_t kMaxUserAgentBytes = 1024;

absl::Status ValidateRequest(const consent::v1::CheckCookieRequest& r);
absl::Status ValidateRequest(const consent::v1::CheckCookiesRequest& r);
absl::Status ValidateRequest(const consent::v1::RecordConsentRequest& r);
absl::Status ValidateRequest(const consent::v1::GetConsentRequest& r);
absl::Status ValidateRequest(const consent::v1::LinkSubjectsRequest& r);

// Checks a decision's choices against the policy it was made under: known
// categories only, and no refusal of a required one.
absl::Status ValidateChoices(const Decision& decision,
                             const CompiledPolicy& policy);

// The canonical text of an IPv4 or IPv6 address ("::1" for "0:0::1"), or
// nullopt when `ip` is not one.
std::optional<std::string> CanonicalIp(const std::string& ip);

}  // namespace consentd

#endif  // CONSENTD_SERVER_REQUEST_VALIDATION_H_
