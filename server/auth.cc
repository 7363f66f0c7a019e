#include "server/auth.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "storage/audit_keys.h"

namespace consentd {

absl::StatusOr<Credential> Authenticator::Authorize(
    const grpc::ServerContextBase& context,
    absl::string_view full_method) const {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find("authorization");
  if (it == metadata.end()) {
    return absl::UnauthenticatedError(
        "missing credentials: send the header authorization: Bearer <token>");
  }
  const absl::string_view header(it->second.data(), it->second.size());
  constexpr absl::string_view kScheme = "bearer ";
  if (header.size() <= kScheme.size() ||
      !absl::EqualsIgnoreCase(header.substr(0, kScheme.size()), kScheme)) {
    return absl::UnauthenticatedError(
        "the authorization header must be \"Bearer <token>\"");
  }
  const absl::string_view token =
      absl::StripAsciiWhitespace(header.substr(kScheme.size()));
  std::shared_ptr<const TokenTable> table;
  {
    absl::MutexLock lock(&mu_);
    table = table_;
  }
  const Credential* credential = table->Find(Sha256(token));
  if (credential == nullptr) {
    return absl::UnauthenticatedError("unknown or revoked token");
  }
  if (!RoleAllows(credential->role, full_method)) {
    return absl::PermissionDeniedError(absl::StrCat(
        "role ", RoleName(credential->role), " may not call ", full_method));
  }
  return *credential;
}

}  // namespace consentd
