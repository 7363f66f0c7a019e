// Authentication and authorization of every RPC: the caller's bearer token
// (its SHA-256 looked up in the tokens file) and the method's rule
// (core/access.h). Health checks and reflection need no token.
#ifndef CONSENTD_SERVER_AUTH_H_
#define CONSENTD_SERVER_AUTH_H_

#include <grpcpp/server_context.h>

#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "core/access.h"

namespace consentd {

// Thread-safe; the table can be replaced while serving (on SIGHUP), without
// dropping connections.
class Authenticator {
 public:
  explicit Authenticator(std::shared_ptr<const TokenTable> table)
      : table_(std::move(table)) {}

  void Replace(std::shared_ptr<const TokenTable> table) {
    absl::MutexLock lock(&mu_);
    table_ = std::move(table);
  }

  // The caller's credential if it may call `full_method`. Errors:
  // Unauthenticated (no `authorization: Bearer <token>` or an unknown
  // token), PermissionDenied (the role may not call the method). Messages
  // never contain the token.
  absl::StatusOr<Credential> Authorize(const grpc::ServerContextBase& context,
                                       absl::string_view full_method) const;

 private:
  mutable absl::Mutex mu_;
  std::shared_ptr<const TokenTable> table_ ABSL_GUARDED_BY(mu_);
};

}  // namespace consentd

#endif  // CONSENTD_SERVER_AUTH_H_
