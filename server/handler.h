// What every RPC handler does the same way: authorize the caller first, run
// database work on the work queue, and finish the call with a status.
#ifndef CONSENTD_SERVER_HANDLER_H_
#define CONSENTD_SERVER_HANDLER_H_

#include <grpcpp/support/server_callback.h>

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "core/access.h"
#include "server/rpc_methods.h"
#include "server/service_context.h"
#include "server/status.h"

namespace consentd {

// Logs one call (method, code, duration), for a random `rate` of calls.
void LogAccess(Rpc rpc, const grpc::Status& status, absl::Duration elapsed,
               double rate);

// One unary RPC in progress: its reactor, which RPC, when it started.
// Finishing it records the gRPC server metrics. A small value: copy it into
// whatever lambda finishes the call.
class Call {
 public:
  Call(grpc::CallbackServerContext* context, const ServiceContext& ctx, Rpc rpc)
      : context_(context),
        reactor_(context->DefaultReactor()),
        metrics_(ctx.metrics),
        rpc_(rpc),
        access_log_rate_(ctx.access_log_sample_rate),
        start_(absl::Now()) {
    metrics_->RpcStarted(rpc);
  }

  grpc::CallbackServerContext* context() const { return context_; }
  grpc::ServerUnaryReactor* reactor() const { return reactor_; }
  Rpc rpc() const { return rpc_; }

  void Finish(const grpc::Status& status) const {
    const absl::Duration elapsed = absl::Now() - start_;
    metrics_->RpcHandled(rpc_, status.error_code(), elapsed);
    if (access_log_rate_ > 0)
      LogAccess(rpc_, status, elapsed, access_log_rate_);
    reactor_->Finish(status);
  }
  // Finishes with `status`; returns the reactor for the handler to return.
  grpc::ServerUnaryReactor* Fail(const absl::Status& status) const {
    Finish(ToGrpcStatus(status));
    return reactor_;
  }

 private:
  grpc::CallbackServerContext* context_;
  grpc::ServerUnaryReactor* reactor_;
  Metrics* metrics_;
  Rpc rpc_;
  double access_log_rate_;
  absl::Time start_;
};

// Runs `work` (returning the grpc::Status to finish with) on the work queue.
template <typename Work>
grpc::ServerUnaryReactor* RunQueued(WorkQueue* queue, const Call& call,
                                    Work work) {
  absl::Status queued = queue->Submit(
      [call, work = std::move(work)]() mutable { call.Finish(work()); });
  if (!queued.ok()) call.Fail(queued);
  return call.reactor();
}

// A server stream that only finishes, with `status` (a refused call).
inline grpc::ServerWriteReactor<grpc::ByteBuffer>* FailedStream(
    const absl::Status& status) {
  class Failed final : public grpc::ServerWriteReactor<grpc::ByteBuffer> {
   public:
    explicit Failed(const absl::Status& s) { Finish(ToGrpcStatus(s)); }
    void OnDone() override { delete this; }
  };
  return new Failed(status);
}

// The first step of every handler: who is calling, if they may call this
// RPC (see Authenticator::Authorize).
inline absl::StatusOr<Credential> Authorize(
    const ServiceContext& ctx, const grpc::ServerContextBase& context,
    Rpc rpc) {
  return ctx.auth->Authorize(context, Info(rpc).full_method);
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
