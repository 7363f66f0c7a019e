// ConsentService.WatchConsent: the sealed audit log as a stream of consent
// changes (decisions, policy publishes, links, unlinks, erasures), from a
// cursor, following new changes as they are sealed. The log's sequence is
// the cursor, so a watcher that resumes with the last cursor it received
// misses nothing and sees nothing twice.
#ifndef CONSENTD_SERVER_CHANGE_STREAM_H_
#define CONSENTD_SERVER_CHANGE_STREAM_H_

#include <grpcpp/support/server_callback.h>

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "consent/v1/consent.pb.h"
#include "server/service_context.h"
#include "storage/audit_store.h"

namespace consentd {

// The cursor of the change at `sequence`, and back. "" is before the first
// change. Anything else is InvalidArgument naming after_cursor.
std::string CursorAt(int64_t sequence);
absl::StatusOr<int64_t> SequenceOfCursor(absl::string_view cursor);

// The change `event` records, or false for an event watchers do not see.
bool ChangeOf(const AuditEventRecord& event, consent::v1::ConsentChange* out);

// Streams the changes after `after_sequence` (-1: after the log's head when
// the stream starts) to the caller, and then every
// new one as it is sealed (checked every `poll` while caught up), until the
// caller cancels. One page is read at a time, and only once its changes are
// written: a slow reader holds the server to one page.
grpc::ServerWriteReactor<grpc::ByteBuffer>* WatchChanges(
    const ServiceContext& ctx, int64_t after_sequence, absl::Time start,
    absl::Duration poll = absl::Milliseconds(200));

}  // namespace consentd

#endif  // CONSENTD_SERVER_CHANGE_STREAM_H_
