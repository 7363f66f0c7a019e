// Fuzz target: the policy file loader. Parse protobuf JSON, validate, and
// when valid compile it and answer lookups; nothing may crash, and every
// valid policy must compile.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/evaluation.h"
#include "core/policy_catalog.h"
#include "server/codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string json(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<consent::v1::Policy> proto =
      consentd::ParsePolicyJson(json, "fuzz");
  if (!proto.ok()) return 0;
  consentd::Policy policy = consentd::PolicyFromProto(*proto);
  if (!consentd::ValidatePolicy(policy).ok()) return 0;
  std::vector<consentd::PublishedPolicy> published = {
      {policy, 1, absl::UnixEpoch()}};
  absl::StatusOr<std::shared_ptr<const consentd::PolicyHistory>> history =
      consentd::PolicyHistory::Build(std::move(published));
  if (!history.ok()) __builtin_trap();  // Valid policies always compile.
  const consentd::EvaluationContext ctx{(*history)->current(),
                                        consentd::Regime::kOptOut, true,
                                        absl::UnixEpoch(), absl::Hours(24)};
  for (const consentd::Cookie& c : policy.cookies) {
    const consentd::CookieVerdict v =
        consentd::EvaluateCookie(ctx, consentd::SubjectState(), c.name);
    if (v.cookie == nullptr) __builtin_trap();  // Its own name must match.
  }
  consentd::Summarize(ctx, consentd::SubjectState());
  return 0;
}
