#include "server/policy_service.h"

#include "absl/strings/str_cat.h"
#include "core/validation.h"
#include "server/codec.h"
#include "server/handler.h"
#include "server/status.h"
#include "server/wire.h"

namespace consentd {

grpc::ServerUnaryReactor* PolicyServiceImpl::PublishPolicy(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  const Call call(context, ctx_, Rpc::kPublishPolicy);
  absl::StatusOr<Credential> caller = Authorize(ctx_, *context, call.rpc());
  if (!caller.ok()) return call.Fail(caller.status());
  consent::v1::PublishPolicyRequest req;
  absl::Status s = ParseRequest(*request, &req);
  if (s.ok() && !req.has_policy()) {
    s = absl::InvalidArgumentError("policy is required");
  }
  if (!s.ok()) {
    return call.Fail(s);
  }
  return RunQueued(
      ctx_.work, call,
      [this, req = std::move(req), response,
       actor = caller->principal]() -> grpc::Status {
        if (req.validate_only()) {
          absl::StatusOr<PolicyReview> review = ctx_.policies->Review(
              req.policy(), ctx_.consent_ttl, ctx_.clock->Now());
          if (!review.ok()) return ToGrpcStatus(review.status());
          consent::v1::PublishPolicyResponse out;
          out.set_version(req.policy().version());
          out.set_created(!review->already_published);
          ReviewToProto(*review, out.mutable_dry_run());
          return SerializeResponse(out, response);
        }
        absl::StatusOr<PublishOutcome> outcome =
            ctx_.policies->Publish(req.policy(), actor, ctx_.clock->Now());
        if (!outcome.ok()) return ToGrpcStatus(outcome.status());
        consent::v1::PublishPolicyResponse out;
        out.set_version(req.policy().version());
        out.set_created(outcome->created);
        SetTimestamp(outcome->published_at, out.mutable_published_at());
        return SerializeResponse(out, response);
      });
}

grpc::ServerUnaryReactor* PolicyServiceImpl::GetPolicy(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  const Call call(context, ctx_, Rpc::kGetPolicy);
  absl::StatusOr<Credential> caller = Authorize(ctx_, *context, call.rpc());
  if (!caller.ok()) return call.Fail(caller.status());
  consent::v1::GetPolicyRequest req;
  absl::Status s = ParseRequest(*request, &req);
  if (s.ok() && !req.version().empty()) {
    s = ValidatePolicyVersion(req.version(), "version");
  }
  if (!s.ok()) {
    return call.Fail(s);
  }
  return RunQueued(
      ctx_.work, call,
      [this, version = req.version(), response]() -> grpc::Status {
        if (absl::Status r = ctx_.policies->Reload(); !r.ok()) {
          return ToGrpcStatus(r);
        }
        const std::shared_ptr<const PolicySnapshot> snapshot =
            ctx_.policies->Get();
        const CompiledPolicy* policy = version.empty()
                                           ? snapshot->current()
                                           : snapshot->history->Find(version);
        if (policy == nullptr) {
          return ToGrpcStatus(absl::NotFoundError(
              version.empty() ? std::string("no policy has been published yet")
                              : absl::StrCat("no policy with version \"",
                                             version, "\" was published")));
        }
        const auto& all = snapshot->history->all();
        for (size_t i = 0; i < all.size(); ++i) {
          if (all[i].get() == policy) {
            return SerializeResponse(snapshot->protos[i], response);
          }
        }
        return grpc::Status(grpc::StatusCode::INTERNAL, "policy not indexed");
      });
}

grpc::ServerUnaryReactor* PolicyServiceImpl::ListPolicies(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  const Call call(context, ctx_, Rpc::kListPolicies);
  absl::StatusOr<Credential> caller = Authorize(ctx_, *context, call.rpc());
  if (!caller.ok()) return call.Fail(caller.status());
  consent::v1::ListPoliciesRequest req;
  if (absl::Status s = ParseRequest(*request, &req); !s.ok()) {
    return call.Fail(s);
  }
  return RunQueued(ctx_.work, call, [this, response]() -> grpc::Status {
    if (absl::Status r = ctx_.policies->Reload(); !r.ok()) {
      return ToGrpcStatus(r);
    }
    const std::shared_ptr<const PolicySnapshot> snapshot = ctx_.policies->Get();
    consent::v1::ListPoliciesResponse out;
    const auto& all = snapshot->history->all();
    for (size_t i = 0; i < all.size(); ++i) {
      const consent::v1::Policy& proto = snapshot->protos[i];
      consent::v1::PolicySummary* summary = out.add_policies();
      summary->set_version(proto.version());
      SetTimestamp(all[i]->published_at(), summary->mutable_published_at());
      summary->set_category_count(proto.categories_size());
      summary->set_cookie_count(proto.cookies_size());
      *summary->mutable_reconsent_categories() = proto.reconsent_categories();
      summary->set_current(i + 1 == all.size());
    }
    if (snapshot->current() != nullptr) {
      out.set_current_version(snapshot->current()->version());
    }
    return SerializeResponse(out, response);
  });
}

}  // namespace consentd
