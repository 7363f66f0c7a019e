// Fuzz target: request parsing and validation. The first byte picks the
// request type; the rest is its wire encoding. Nothing may crash, and a
// request that fails to parse must name why.
#include <cstddef>
#include <cstdint>
#include <string>

#include "consent/v1/audit.pb.h"
#include "consent/v1/consent.pb.h"
#include "consent/v1/policy.pb.h"
#include "server/request_validation.h"
#include "server/wire.h"

namespace {

template <typename Request>
void ParseAndValidate(const std::string& bytes) {
  grpc::Slice slice(bytes);
  grpc::ByteBuffer buffer(&slice, 1);
  Request request;
  absl::Status s = consentd::ParseRequest(buffer, &request);
  if (!s.ok()) {
    if (s.code() != absl::StatusCode::kInvalidArgument) __builtin_trap();
    return;
  }
  if constexpr (std::is_same_v<Request, consent::v1::CheckCookieRequest> ||
                std::is_same_v<Request, consent::v1::CheckCookiesRequest> ||
                std::is_same_v<Request, consent::v1::RecordConsentRequest> ||
                std::is_same_v<Request, consent::v1::GetConsentRequest>) {
    s = consentd::ValidateRequest(request);
    if (!s.ok() && s.code() != absl::StatusCode::kInvalidArgument) {
      __builtin_trap();
    }
    if (s.message().size() > 1024) __builtin_trap();  // Bounded messages.
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 6) {
    case 0:
      ParseAndValidate<consent::v1::CheckCookieRequest>(bytes);
      break;
    case 1:
      ParseAndValidate<consent::v1::CheckCookiesRequest>(bytes);
      break;
    case 2:
      ParseAndValidate<consent::v1::RecordConsentRequest>(bytes);
      break;
    case 3:
      ParseAndValidate<consent::v1::GetConsentRequest>(bytes);
      break;
    case 4:
      ParseAndValidate<consent::v1::PublishPolicyRequest>(bytes);
      break;
    case 5:
      ParseAndValidate<consent::v1::ExportAuditLogRequest>(bytes);
      break;
  }
  return 0;
}
