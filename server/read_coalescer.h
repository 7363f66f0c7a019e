// Joins concurrent cache misses for one subject into one PostgreSQL read:
// a burst of checks for a subject that is not cached (a new visitor's first
// page view asks for a dozen cookies at once) costs one indexed read, not
// one per check.
#ifndef CONSENTD_SERVER_READ_COALESCER_H_
#define CONSENTD_SERVER_READ_COALESCER_H_

#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "core/subject_state.h"

namespace consentd {

// Thread-safe.
class ReadCoalescer {
 public:
  using Done = absl::AnyInvocable<void(const absl::StatusOr<SubjectState>&) &&>;

  // Adds `done` to the read of `subject` in flight. Returns true when there
  // was none: the caller must start the read and call Finish when it ends.
  bool Join(const std::string& subject, Done done);

  // Ends the read of `subject`: calls every `done` that joined it with
  // `result` (on this thread, without a lock held). A later Join starts a
  // new read.
  void Finish(const std::string& subject,
              const absl::StatusOr<SubjectState>& result);

  // Reads in flight.
  size_t InFlight() const;

 private:
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::vector<Done>> flights_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace consentd

#endif  // CONSENTD_SERVER_READ_COALESCER_H_
