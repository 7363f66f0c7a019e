// The in-memory copy of subjects' consent state that answers checks without
// touching the database. PostgreSQL stays the source of truth: entries come
// from read-through on a miss and from this replica's own committed writes.
#ifndef CONSENTD_CORE_CONSENT_CACHE_H_
#define CONSENTD_CORE_CONSENT_CACHE_H_

#include <array>
#include <cstddef>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/synchronization/mutex.h"
#include "core/subject_state.h"

namespace consentd {

// A sharded map subject -> SubjectState. Holds negative entries (a subject
// with no decision is cached with version 0). An entry is only ever replaced
// by a newer version, so read-through fills and write-through updates may
// interleave in any order. Thread-safe; readers of different shards never
// touch the same lock.
class ConsentCache {
 public:
  ConsentCache() = default;
  ConsentCache(const ConsentCache&) = delete;
  ConsentCache& operator=(const ConsentCache&) = delete;

  // Calls `fn` with the cached state of `subject` under the shard's reader
  // lock and returns true; returns false on a miss. `fn` must not call back
  // into the cache.
  bool Read(absl::string_view subject,
            absl::FunctionRef<void(const SubjectState&)> fn) const;

  // Stores `state` unless the cache holds a newer version (by
  // consent_version; an equal version is replaced). Returns true if stored.
  bool Put(absl::string_view subject, const SubjectState& state);

  // Drops the entry of `subject`, if any.
  void Erase(absl::string_view subject);

  size_t Size() const;

 private:
  static constexpr size_t kShards = 64;
  struct alignas(64) Shard {
    mutable absl::Mutex mu;
    absl::flat_hash_map<std::string, SubjectState> entries ABSL_GUARDED_BY(mu);
  };
  Shard& ShardFor(absl::string_view subject) const;

  mutable std::array<Shard, kShards> shards_;
};

}  // namespace consentd

#endif  // CONSENTD_CORE_CONSENT_CACHE_H_
