// What every RPC handler does the same way: authorize the caller first, run
// database work on the work queue, and finish the call with a status.
#ifndef CONSENTD_SERVER_HANDLER_H_
#define CONSENTD_SERVER_HANDLER_H_

#include <grpcpp/support/server_callback.h>

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/access.h"
#include "server/service_context.h"
#include "server/status.h"

namespace consentd {

// Finishes `reactor` with `status` and returns it.
inline grpc::ServerUnaryReactor* FinishWith(grpc::ServerUnaryReactor* reactor,
                                            const absl::Status& status) {
  reactor->Finish(ToGrpcStatus(status));
  return reactor;
}

// Runs `work` (returning the grpc::Status to finish with) on the work queue.
template <typename Work>
grpc::ServerUnaryReactor* RunQueued(WorkQueue* queue,
                                    grpc::ServerUnaryReactor* reactor,
                                    Work work) {
  absl::Status queued = queue->Submit(
      [reactor, work = std::move(work)]() mutable { reactor->Finish(work()); });
  if (!queued.ok()) reactor->Finish(ToGrpcStatus(queued));
  return reactor;
}

// The first step of every handler: who is calling `full_method`, if they
// may (see Authenticator::Authorize).
inline absl::StatusOr<Credential> Authorize(const ServiceContext& ctx,
                                            const grpc::ServerContextBase& context,
                                            absl::string_view full_method) {
  return ctx.auth->Authorize(context, full_method);
}

// When the caller stops waiting (InfiniteFuture when it set no deadline):
// database work for the call is cancelled then.
inline absl::Time CallDeadline(const grpc::ServerContextBase& context) {
  const auto deadline = context.deadline();
  if (deadline == std::chrono::system_clock::time_point::max()) {
    return absl::InfiniteFuture();
  }
  return absl::FromChrono(deadline);
}

}  // namespace consentd

#endif  // CONSENTD_SERVER_HANDLER_H_
