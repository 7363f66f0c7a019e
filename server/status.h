// The one place where an absl::Status becomes a grpc::Status.
#ifndef CONSENTD_SERVER_STATUS_H_
#define CONSENTD_SERVER_STATUS_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace consentd {

// Same code, same message. (absl and gRPC share the canonical code numbers.)
grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace consentd

#endif  // CONSENTD_SERVER_STATUS_H_
