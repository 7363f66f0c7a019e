// Conversions between the wire contract (consent.v1 protos) and the domain
// types of core/, and the policy file format (protobuf JSON of Policy).
#ifndef CONSENTD_SERVER_CODEC_H_
#define CONSENTD_SERVER_CODEC_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "consent/v1/consent.pb.h"
#include "consent/v1/policy.pb.h"
#include "core/decision.h"
#include "core/evaluation.h"
#include "core/policy.h"
#include "core/policy_review.h"
#include "google/protobuf/timestamp.pb.h"

namespace consentd {

Policy PolicyFromProto(const consent::v1::Policy& proto);

consent::v1::Cookie CookieToProto(const Cookie& cookie);

// The wire form of a dry run's report.
void ReviewToProto(const PolicyReview& review,
                   consent::v1::PolicyChangeReport* out);

// The canonical bytes of a policy: its deterministic protobuf encoding.
// Two policies have the same content iff these are equal.
std::string CanonicalPolicyBytes(const consent::v1::Policy& proto);

// The policy as JSON (proto field names), for storage and people.
std::string PolicyToJson(const consent::v1::Policy& proto, bool pretty);

// Parses a policy file (protobuf JSON of consent.v1.Policy; unknown fields
// are errors). InvalidArgument naming `origin` on a syntax error. Does not
// validate the policy's content (see ValidatePolicy).
absl::StatusOr<consent::v1::Policy> ParsePolicyJson(absl::string_view json,
                                                    absl::string_view origin);

// Reads and parses a policy file. NotFound when it cannot be read.
absl::StatusOr<consent::v1::Policy> ReadPolicyFile(const std::string& path);

consent::v1::Reason ReasonToProto(Reason reason);
consent::v1::CookieLifetime LifetimeToProto(Lifetime lifetime);
consent::v1::CategoryState StateToProto(CategoryStateKind state);
// kUnspecified for SOURCE_UNSPECIFIED and for values this build doesn't know.
ConsentSource SourceFromProto(int source);

void SetTimestamp(absl::Time t, google::protobuf::Timestamp* out);
absl::Time FromTimestamp(const google::protobuf::Timestamp& ts);

}  // namespace consentd

#endif  // CONSENTD_SERVER_CODEC_H_
