#include "server/change_stream.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <grpcpp/alarm.h>

#include <algorithm>
#include <atomic>
#include <deque>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "core/decision.h"
#include "server/codec.h"
#include "server/status.h"
#include "server/wire.h"

namespace consentd {
namespace {

constexpr int kPage = 256;

consent::v1::ConsentSource SourceOfName(const std::string& name) {
  for (int s = consent::v1::SOURCE_BANNER; s <= consent::v1::SOURCE_LINK; ++s) {
    if (SourceName(static_cast<ConsentSource>(s)) == name) {
      return static_cast<consent::v1::ConsentSource>(s);
    }
  }
  return consent::v1::SOURCE_UNSPECIFIED;
}

const google::protobuf::Value* Field(const google::protobuf::Struct& s,
                                     const char* name) {
  auto it = s.fields().find(name);
  return it == s.fields().end() ? nullptr : &it->second;
}

std::string StringField(const google::protobuf::Struct& s, const char* name) {
  const google::protobuf::Value* v = Field(s, name);
  return v != nullptr ? v->string_value() : "";
}

class WatchReactor final : public grpc::ServerWriteReactor<grpc::ByteBuffer> {
 public:
  WatchReactor(const ServiceContext& ctx, int64_t after, absl::Time start,
               absl::Duration poll)
      : ctx_(ctx), after_(after), start_(start), poll_(poll) {
    Fetch();
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      End(grpc::Status(grpc::StatusCode::CANCELLED, "the watcher went away"));
      return;
    }
    WriteNext();
  }
  void OnCancel() override {
    cancelled_ = true;
    alarm_.Cancel();  // A pending alarm then ends the stream at once.
  }
  void OnDone() override { delete this; }

 private:
  // Every end of the stream goes through here, for the metrics.
  void End(const grpc::Status& status) {
    ctx_.metrics->RpcHandled(Rpc::kWatchConsent, status.error_code(),
                             absl::Now() - start_);
    Finish(status);
  }

  // Writes the next change read, or reads the next page.
  void WriteNext() {
    if (pending_.empty()) {
      Fetch();
      return;
    }
    buffer_.Clear();
    grpc::Status s = SerializeResponse(pending_.front(), &buffer_);
    pending_.pop_front();
    if (!s.ok()) {
      End(s);
      return;
    }
    StartWrite(&buffer_);
  }

  void Fetch() {
    absl::Status queued = ctx_.work->Submit([this] { FetchNow(); });
    if (!queued.ok()) End(ToGrpcStatus(queued));
  }

  // On the work queue; its last act is a write, an alarm, or the end.
  void FetchNow() {
    if (cancelled_) {
      End(grpc::Status(grpc::StatusCode::CANCELLED, "watch cancelled"));
      return;
    }
    if (after_ < 0) {  // From now on: after the head as it is now.
      absl::StatusOr<int64_t> head = ctx_.audit->HeadSequence();
      if (!head.ok()) {
        End(ToGrpcStatus(head.status()));
        return;
      }
      after_ = *head;
    }
    absl::StatusOr<std::vector<AuditEventRecord>> page =
        ctx_.audit->ExportPage(AuditExportFilter(), after_, kPage);
    if (!page.ok()) {
      End(ToGrpcStatus(page.status()));
      return;
    }
    for (const AuditEventRecord& e : *page) {
      consent::v1::ConsentChange change;
      if (ChangeOf(e, &change)) pending_.push_back(std::move(change));
      after_ = e.sequence;
    }
    if (!pending_.empty()) {
      WriteNext();
      return;
    }
    if (!page->empty()) {  // Nothing a watcher sees on this page.
      Fetch();
      return;
    }
    // Caught up: look again shortly.
    alarm_.Set(absl::ToChronoTime(absl::Now() + poll_), [this](bool fired) {
      if (!fired || cancelled_) {
        End(grpc::Status(grpc::StatusCode::CANCELLED, "watch cancelled"));
      } else {
        Fetch();
      }
    });
  }

  const ServiceContext ctx_;
  int64_t after_;
  const absl::Time start_;
  const absl::Duration poll_;
  // The changes of the page read, not written yet.
  std::deque<consent::v1::ConsentChange> pending_;
  grpc::ByteBuffer buffer_;
  grpc::Alarm alarm_;
  std::atomic<bool> cancelled_{false};
};

}  // namespace

std::string CursorAt(int64_t sequence) {
  return sequence == 0 ? "" : absl::StrCat("c", sequence);
}

absl::StatusOr<int64_t> SequenceOfCursor(absl::string_view cursor) {
  if (cursor.empty()) return 0;
  int64_t sequence = 0;
  const absl::string_view digits = cursor.substr(1);
  if (cursor.size() < 2 || cursor[0] != 'c' ||
      !std::all_of(digits.begin(), digits.end(), absl::ascii_isdigit) ||
      !absl::SimpleAtoi(digits, &sequence) || sequence <= 0) {
    return absl::InvalidArgumentError(
        "after_cursor is not a cursor consentd gave (pass the cursor of the "
        "last change received, or \"\")");
  }
  return sequence;
}

bool ChangeOf(const AuditEventRecord& e, consent::v1::ConsentChange* out) {
  google::protobuf::Struct payload;
  if (!google::protobuf::util::JsonStringToMessage(e.payload, &payload).ok()) {
    return false;
  }
  out->set_cursor(CursorAt(e.sequence));
  out->set_subject_id(e.subject_id);
  out->set_subject_pseudonym(e.subject_pseudonym);
  SetTimestamp(e.recorded_at, out->mutable_recorded_at());
  if (const google::protobuf::Value* v = Field(payload, "consent_version")) {
    out->set_consent_version(static_cast<int64_t>(v->number_value()));
  }
  out->set_policy_version(StringField(payload, "policy_version"));
  if (e.action == "decision") {
    out->set_kind(consent::v1::CHANGE_KIND_DECISION);
    if (const google::protobuf::Value* c = Field(payload, "choices")) {
      for (const auto& [category, granted] : c->struct_value().fields()) {
        (*out->mutable_choices())[category] = granted.bool_value();
      }
    }
    out->set_source(SourceOfName(StringField(payload, "source")));
    out->set_region(StringField(payload, "region"));
    if (const google::protobuf::Value* g = Field(payload, "gpc")) {
      out->set_gpc(g->bool_value());
    }
  } else if (e.action == "policy_publish") {
    out->set_kind(consent::v1::CHANGE_KIND_POLICY_PUBLISH);
  } else if (e.action == "erasure") {
    out->set_kind(consent::v1::CHANGE_KIND_ERASURE);
  } else if (e.action == "link") {
    out->set_kind(consent::v1::CHANGE_KIND_LINK);
  } else if (e.action == "unlink") {
    out->set_kind(consent::v1::CHANGE_KIND_UNLINK);
  } else {
    return false;
  }
  return true;
}

grpc::ServerWriteReactor<grpc::ByteBuffer>* WatchChanges(
    const ServiceContext& ctx, int64_t after_sequence, absl::Time start,
    absl::Duration poll) {
  return new WatchReactor(ctx, after_sequence, start, poll);
}

}  // namespace consentd
