// The in-memory copy of subjects' consent state that answers checks without
// touching the database. PostgreSQL stays the source of truth: entries come
// from read-through on a miss, from this replica's own committed writes and
// from change notifications of every replica.
#ifndef CONSENTD_CORE_CONSENT_CACHE_H_
#define CONSENTD_CORE_CONSENT_CACHE_H_

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/clock.h"
#include "core/subject_state.h"

namespace consentd {

// A sharded, memory-bounded map subject -> SubjectState. Thread-safe;
// readers of different shards never touch the same lock.
//
// Bound: each shard keeps two generations. New and recently read entries
// live in the young one; when it would outgrow half of the shard's budget,
// the old generation is dropped (evicted) and the young one becomes old. An
// entry read from the old generation moves back to the young one, so what is
// dropped is what was not used for a whole generation. Memory (hash tables
// counted at capacity, plus heap-allocated keys) stays within max_bytes.
//
// Coherence: an entry is only ever replaced by a newer consent_version, and
// notifications only remove older entries, so read-through fills,
// write-through updates and notifications can interleave in any order. A fill
// carries a token taken before its database read; any change applied to the
// subject's shard since makes the fill a no-op, so a read that started before
// an invalidation never caches its older result. Entries are served only while
// the cache is trusted (see TrustUntil): after the change notifications may
// have been lost, answers read through.
class ConsentCache {
 public:
  // Taken before reading (or writing) a subject in PostgreSQL.
  struct FillToken {
    uint64_t generation = 0;
  };
  struct Stats {
    size_t entries = 0;
    size_t bytes = 0;
    uint64_t evictions = 0;
  };

  // `max_bytes` bounds the memory of the entries. `clock` tells time for
  // TrustUntil and must outlive the cache. A new cache is trusted forever
  // until Distrust or TrustUntil is called.
  ConsentCache(size_t max_bytes, Clock* clock);
  ConsentCache(const ConsentCache&) = delete;
  ConsentCache& operator=(const ConsentCache&) = delete;

  // Calls `fn` with the cached state of `subject` and returns true; false
  // on a miss or while the cache is not trusted. `fn` runs without any lock
  // held, on a copy.
  bool Read(absl::string_view subject,
            absl::FunctionRef<void(const SubjectState&)> fn);

  FillToken BeginFill(absl::string_view subject) const;

  // Stores `state` read (or written) after `token` was taken, unless the
  // cache is not trusted, something changed the subject's shard since the
  // token, or a newer version is cached. Returns true if stored.
  bool Fill(absl::string_view subject, const SubjectState& state,
            FillToken token);

  // A change committed for `subject` at `version` (from a notification).
  // Fills in flight for the shard are dropped, and a cached entry older than
  // `version` is removed. Returns true when an entry was removed.
  bool Invalidate(absl::string_view subject, int64_t version);

  // Drops the entry of `subject` and any fill in flight for its shard.
  void Erase(absl::string_view subject) { Invalidate(subject, INT64_MAX); }

  // Drops every entry and every fill in flight.
  void Clear();

  // Entries may be served until `deadline` (by the clock).
  void TrustUntil(absl::Time deadline);
  // From now on, serve no entry (until TrustUntil).
  void Distrust() { TrustUntil(absl::InfinitePast()); }
  bool Trusted() const;

  Stats GetStats() const;
  size_t max_bytes() const { return max_bytes_; }

 private:
  static constexpr size_t kShards = 64;
  using Map = absl::flat_hash_map<std::string, SubjectState>;

  struct alignas(64) Shard {
    mutable absl::Mutex mu;
    Map young ABSL_GUARDED_BY(mu);
    Map old ABSL_GUARDED_BY(mu);
    // Heap bytes (long keys, many choices) of each generation's entries.
    size_t young_heap ABSL_GUARDED_BY(mu) = 0;
    size_t old_heap ABSL_GUARDED_BY(mu) = 0;
    // Bumped by every change applied to the shard; fills compare it.
    std::atomic<uint64_t> generation{0};
    std::atomic<uint64_t> evictions{0};
  };

  Shard& ShardFor(absl::string_view subject) const;
  // Inserts or replaces `subject` in the young generation, rotating the
  // generations first when the young one would outgrow its budget.
  void PutYoung(Shard& shard, absl::string_view subject,
                const SubjectState& state)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(shard.mu);
  // Finds `subject` in either generation; sets *generation to which.
  SubjectState* Find(Shard& shard, absl::string_view subject, Map** generation)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(shard.mu);

  const size_t max_bytes_;
  const size_t generation_budget_;  // Per shard, per generation.
  Clock* const clock_;
  std::atomic<int64_t> trusted_until_micros_;
  mutable std::array<Shard, kShards> shards_;
};

// Heap bytes owned by one entry beyond its hash table slot.
size_t EntryHeapBytes(absl::string_view subject, const SubjectState& state);

}  // namespace consentd

#endif  // CONSENTD_CORE_CONSENT_CACHE_H_
