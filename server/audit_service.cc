#include "server/audit_service.h"

#include <algorithm>
#include <atomic>

#include "absl/strings/str_cat.h"
#include "core/evaluation.h"
#include "core/validation.h"
#include "server/codec.h"
#include "server/handler.h"
#include "server/status.h"
#include "server/wire.h"
#include "storage/logging.h"

namespace consentd {
namespace {

// Events per export message, and the size a message stops growing at.
constexpr int kExportPage = 500;
constexpr size_t kMaxMessageBytes = 512 * 1024;
// Most audit events ExportSubjectData returns in one answer, and the answer
// size at which it adds no more: under gRPC's default 4 MiB receive limit.
constexpr int kMaxSubjectEvents = 10000;
constexpr size_t kMaxSubjectDataBytes = 3 * 1024 * 1024;
// Most links it returns (about 100 bytes each).
constexpr int kMaxSubjectLinks = 10000;

consent::v1::ConsentSource SourceToProto(const std::string& name) {
  for (int s = consent::v1::SOURCE_BANNER; s <= consent::v1::SOURCE_IMPORT;
       ++s) {
    if (SourceName(static_cast<ConsentSource>(s)) == name) {
      return static_cast<consent::v1::ConsentSource>(s);
    }
  }
  return consent::v1::SOURCE_UNSPECIFIED;
}

void ToProto(const HistoryRecord& r, consent::v1::HistoryEntry* out) {
  out->set_consent_version(r.consent_version);
  SetTimestamp(r.recorded_at, out->mutable_recorded_at());
  out->set_policy_version(r.policy_version);
  for (const auto& [category, granted] : r.choices) {
    (*out->mutable_choices())[category] = granted;
  }
  out->set_source(SourceToProto(r.source));
  out->set_region(r.region);
  out->set_gpc(r.gpc);
  out->set_idempotency_key(r.idempotency_key);
  out->set_expected_version(r.expected_version);
  out->set_actor(r.actor);
  for (const auto& [category, granted] : r.standing) {
    consent::v1::CategoryValue* v = out->add_standing();
    v->set_category(category);
    v->set_granted(granted);
  }
}

void ToProto(const AuditEventRecord& e, consent::v1::AuditEvent* out) {
  out->set_sequence(e.sequence);
  out->set_event_id(e.event_id);
  out->set_action(e.action);
  out->set_subject_id(e.subject_id);
  out->set_subject_pseudonym(e.subject_pseudonym);
  out->set_actor(e.actor);
  SetTimestamp(e.recorded_at, out->mutable_recorded_at());
  out->set_payload(e.payload);
  out->set_key_id(e.key_id);
  out->set_event_mac(e.event_mac_hex);
  out->set_chain_mac(e.chain_mac_hex);
}

// Parses a request naming one subject and validates the id.
template <typename Request>
absl::Status ParseSubjectRequest(const grpc::ByteBuffer& raw, Request* req) {
  if (absl::Status s = ParseRequest(raw, req); !s.ok()) return s;
  return ValidateSubjectId(req->subject_id(), "subject_id");
}

// Streams the sealed log page by page. Each page is read on the work queue
// only after the previous message was written, so memory stays at one page
// however large the export and however slow the reader.
class ExportReactor final : public grpc::ServerWriteReactor<grpc::ByteBuffer> {
 public:
  ExportReactor(const ServiceContext& ctx, AuditExportFilter filter,
                int64_t after_sequence, absl::Time start)
      : ctx_(ctx),
        filter_(std::move(filter)),
        after_(after_sequence),
        start_(start) {
    FetchNext();
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status(grpc::StatusCode::CANCELLED,
                          "the client went away during the export"));
      return;
    }
    FetchNext();
  }
  void OnCancel() override { cancelled_ = true; }
  void OnDone() override { delete this; }

 private:
  // Every end of the stream goes through here, for the metrics.
  void Finish(const grpc::Status& status) {
    ctx_.metrics->RpcHandled(Rpc::kExportAuditLog, status.error_code(),
                             absl::Now() - start_);
    grpc::ServerWriteReactor<grpc::ByteBuffer>::Finish(status);
  }

  void FetchNext() {
    absl::Status queued = ctx_.work->Submit([this] { Fetch(); });
    if (!queued.ok()) Finish(ToGrpcStatus(queued));
  }

  // On the work queue. Its last act is StartWrite or Finish.
  void Fetch() {
    if (cancelled_) {
      Finish(grpc::Status(grpc::StatusCode::CANCELLED, "export cancelled"));
      return;
    }
    absl::StatusOr<std::vector<AuditEventRecord>> page =
        ctx_.audit->ExportPage(filter_, after_, kExportPage);
    if (!page.ok()) {
      Finish(ToGrpcStatus(page.status()));
      return;
    }
    if (page->empty()) {
      Finish(grpc::Status::OK);
      return;
    }
    consent::v1::ExportAuditLogResponse message;
    size_t bytes = 0;
    for (const AuditEventRecord& e : *page) {
      if (bytes >= kMaxMessageBytes) break;
      ToProto(e, message.add_events());
      bytes += e.payload.size() + 256;
      after_ = e.sequence;
    }
    buffer_.Clear();  // The previous message was written (OnWriteDone).
    grpc::Status s = SerializeResponse(message, &buffer_);
    if (!s.ok()) {
      Finish(s);
      return;
    }
    StartWrite(&buffer_);
  }

  const ServiceContext ctx_;
  const AuditExportFilter filter_;
  int64_t after_;
  const absl::Time start_;
  grpc::ByteBuffer buffer_;
  std::atomic<bool> cancelled_{false};
};

}  // namespace

grpc::ServerUnaryReactor* AuditServiceImpl::GetHistory(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  const Call call(context, ctx_, Rpc::kGetHistory);
  absl::StatusOr<Credential> caller = Authorize(ctx_, *context, call.rpc());
  if (!caller.ok()) return call.Fail(caller.status());
  consent::v1::GetHistoryRequest req;
  if (absl::Status s = ParseSubjectRequest(*request, &req); !s.ok()) {
    return call.Fail(s);
  }
  return RunQueued(ctx_.work, call, [this, req, response]() {
    absl::StatusOr<std::vector<HistoryRecord>> history =
        ctx_.audit->History(req.subject_id());
    if (!history.ok()) return ToGrpcStatus(history.status());
    consent::v1::GetHistoryResponse out;
    out.set_subject_id(req.subject_id());
    for (const HistoryRecord& r : *history) ToProto(r, out.add_decisions());
    return SerializeResponse(out, response);
  });
}

grpc::ServerWriteReactor<grpc::ByteBuffer>* AuditServiceImpl::ExportAuditLog(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request) {
  consent::v1::ExportAuditLogRequest req;
  ctx_.metrics->RpcStarted(Rpc::kExportAuditLog);
  const absl::Time start = absl::Now();
  absl::Status s = Authorize(ctx_, *context, Rpc::kExportAuditLog).status();
  if (s.ok()) s = ParseRequest(*request, &req);
  if (s.ok() && !req.subject_id().empty()) {
    s = ValidateSubjectId(req.subject_id(), "subject_id");
  }
  if (s.ok() && req.after_sequence() < 0) {
    s = absl::InvalidArgumentError("after_sequence must not be negative");
  }
  AuditExportFilter filter;
  filter.subject_id = req.subject_id();
  if (req.has_since()) filter.since = FromTimestamp(req.since());
  if (req.has_until()) filter.until = FromTimestamp(req.until());
  if (s.ok() && filter.until <= filter.since) {
    s = absl::InvalidArgumentError("until must be later than since");
  }
  if (!s.ok()) {
    ctx_.metrics->RpcHandled(Rpc::kExportAuditLog, ToGrpcStatus(s).error_code(),
                             absl::Now() - start);
    return FailedStream(s);
  }
  return new ExportReactor(ctx_, std::move(filter), req.after_sequence(),
                           start);
}

grpc::ServerUnaryReactor* AuditServiceImpl::VerifyAuditLog(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  const Call call(context, ctx_, Rpc::kVerifyAuditLog);
  absl::StatusOr<Credential> caller = Authorize(ctx_, *context, call.rpc());
  if (!caller.ok()) return call.Fail(caller.status());
  consent::v1::VerifyAuditLogRequest req;
  if (absl::Status s = ParseRequest(*request, &req); !s.ok()) {
    return call.Fail(s);
  }
  return RunQueued(ctx_.work, call, [this, response]() {
    absl::StatusOr<AuditVerification> v = ctx_.audit->Verify();
    if (!v.ok()) return ToGrpcStatus(v.status());
    ctx_.metrics->SetAuditVerification(v->ok, absl::Now());
    consent::v1::VerifyAuditLogResponse out;
    out.set_ok(v->ok);
    out.set_events_verified(v->events_verified);
    for (const AuditVerification::Problem& p : v->problems) {
      if (out.first_bad_sequence() == 0 && p.sequence > 0) {
        out.set_first_bad_sequence(p.sequence);
      }
      consent::v1::AuditProblem* problem = out.add_problems();
      problem->set_sequence(p.sequence);
      problem->set_event_id(p.event_id);
      problem->set_description(p.description);
    }
    out.set_head_sequence(v->head_sequence);
    out.set_head_chain_mac(v->head_mac_hex);
    out.set_unsealed_events(v->unsealed);
    if (!v->ok) {
      spdlog::error("audit log verification failed: {} problem(s), first: {}",
                    v->problems.size(), v->problems.front().description);
    }
    return SerializeResponse(out, response);
  });
}

grpc::ServerUnaryReactor* AuditServiceImpl::EraseSubject(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  const Call call(context, ctx_, Rpc::kEraseSubject);
  absl::StatusOr<Credential> caller = Authorize(ctx_, *context, call.rpc());
  if (!caller.ok()) return call.Fail(caller.status());
  consent::v1::EraseSubjectRequest req;
  if (absl::Status s = ParseSubjectRequest(*request, &req); !s.ok()) {
    return call.Fail(s);
  }
  return RunQueued(ctx_.work, call,
                   [this, req, response, actor = caller->principal]() {
                     const absl::Time now = ctx_.clock->Now();
                     absl::StatusOr<ErasureOutcome> erased =
                         ctx_.audit->Erase(req.subject_id(), actor, now);
                     // Whatever the outcome, this replica forgets the subject
                     // at once.
                     ctx_.cache->Erase(req.subject_id());
                     if (!erased.ok()) return ToGrpcStatus(erased.status());
                     spdlog::info("erased a subject (pseudonym {}, erasure {})",
                                  erased->pseudonym, erased->erasure);
                     consent::v1::EraseSubjectResponse out;
                     out.set_subject_pseudonym(erased->pseudonym);
                     out.set_decisions_erased(erased->decisions);
                     out.set_audit_events_erased(erased->audit_events);
                     SetTimestamp(now, out.mutable_erased_at());
                     return SerializeResponse(out, response);
                   });
}

grpc::ServerUnaryReactor* AuditServiceImpl::ExportSubjectData(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  const Call call(context, ctx_, Rpc::kExportSubjectData);
  absl::StatusOr<Credential> caller = Authorize(ctx_, *context, call.rpc());
  if (!caller.ok()) return call.Fail(caller.status());
  consent::v1::ExportSubjectDataRequest req;
  if (absl::Status s = ParseSubjectRequest(*request, &req); !s.ok()) {
    return call.Fail(s);
  }
  return RunQueued(ctx_.work, call, [this, req, response]() {
    absl::StatusOr<bool> known = ctx_.audit->SubjectKnown(req.subject_id());
    if (!known.ok()) return ToGrpcStatus(known.status());
    if (!*known) {
      return ToGrpcStatus(
          absl::NotFoundError("nothing is held about this subject"));
    }
    consent::v1::ExportSubjectDataResponse out;
    out.set_subject_id(req.subject_id());

    absl::StatusOr<SubjectState> state =
        ctx_.store->LoadSubject(req.subject_id());
    if (!state.ok()) return ToGrpcStatus(state.status());
    const std::shared_ptr<const PolicySnapshot> policies = ctx_.policies->Get();
    if (const CompiledPolicy* current = policies->current()) {
      const EvaluationContext eval{current, ctx_.regions->Lookup(""), false,
                                   ctx_.clock->Now(), ctx_.consent_ttl};
      const ConsentSummary summary = Summarize(eval, *state);
      consent::v1::GetConsentResponse* c = out.mutable_current();
      c->set_consent_version(state->consent_version);
      c->set_current_policy_version(current->version());
      c->set_banner_required(summary.banner_required);
      for (size_t i = 0; i < summary.categories.size(); ++i) {
        consent::v1::CategoryConsent* cc = c->add_categories();
        cc->set_category(current->categories()[i].def->id);
        cc->set_state(StateToProto(summary.categories[i].state));
        cc->set_allowed(summary.categories[i].allowed);
        cc->set_reason(ReasonToProto(summary.categories[i].reason));
      }
    }
    absl::StatusOr<std::vector<HistoryRecord>> history =
        ctx_.audit->History(req.subject_id());
    if (history.ok()) {
      for (const HistoryRecord& r : *history) ToProto(r, out.add_decisions());
    } else if (!absl::IsNotFound(history.status())) {
      return ToGrpcStatus(history.status());
    }
    // The links before the events: they count towards the same budget.
    absl::StatusOr<std::vector<LinkRecord>> links =
        ctx_.audit->Links(req.subject_id(), kMaxSubjectLinks + 1);
    if (!links.ok()) return ToGrpcStatus(links.status());
    if (links->size() > static_cast<size_t>(kMaxSubjectLinks)) {
      links->resize(kMaxSubjectLinks);
      out.set_links_truncated(true);
    }
    for (const LinkRecord& l : *links) {
      consent::v1::SubjectLink* link = out.add_links();
      link->set_device_subject_id(l.device_subject_id);
      link->set_account_subject_id(l.account_subject_id);
      link->set_merge_rule(l.merge_rule == "most_restrictive"
                               ? consent::v1::MERGE_RULE_MOST_RESTRICTIVE
                               : consent::v1::MERGE_RULE_MOST_RECENT);
      SetTimestamp(l.linked_at, link->mutable_linked_at());
      link->set_actor(l.actor);
    }
    AuditExportFilter filter;
    filter.subject_id = req.subject_id();
    // Pages of events until the subject's are all in or the answer is full;
    // then reading one more event says whether any was left out.
    int64_t after = 0;
    size_t bytes = out.ByteSizeLong();
    while (true) {
      const bool full = out.audit_events_size() >= kMaxSubjectEvents ||
                        bytes >= kMaxSubjectDataBytes;
      const int limit =
          full ? 1
               : std::min(kExportPage,
                          kMaxSubjectEvents - out.audit_events_size());
      absl::StatusOr<std::vector<AuditEventRecord>> page =
          ctx_.audit->ExportPage(filter, after, limit);
      if (!page.ok()) return ToGrpcStatus(page.status());
      if (page->empty()) break;
      if (full) {
        out.set_audit_events_truncated(true);
        break;
      }
      for (const AuditEventRecord& e : *page) {
        if (bytes >= kMaxSubjectDataBytes) break;
        consent::v1::AuditEvent* event = out.add_audit_events();
        ToProto(e, event);
        bytes += event->ByteSizeLong();
        after = e.sequence;
      }
    }
    out.set_last_audit_sequence(after);
    return SerializeResponse(out, response);
  });
}

}  // namespace consentd
