// The in-memory copy of subjects' consent state that answers checks without
// touching the database. PostgreSQL stays the source of truth: entries come
// from read-through on a miss, from this replica's own committed writes and
// from change notifications of every replica.
#ifndef CONSENTD_CORE_CONSENT_CACHE_H_
#define CONSENTD_CORE_CONSENT_CACHE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/clock.h"
#include "core/fingerprint.h"
#include "core/subject_state.h"

namespace consentd {

// A sharded, memory-bounded map subject -> SubjectState. Thread-safe;
// readers of different shards never touch the same lock.
//
// Compact entries: a subject is held in one 64-byte slot, keyed by a 128-bit
// keyed fingerprint of its id (core/fingerprint.h) rather than the id, with
// its version, its latest decision's time and policy, and up to six standing
// choices made by up to three decisions. A state that does not fit (more
// choices, older decisions, huge numbers) is kept whole in a small side
// table, bounded too. Slots sit in buckets of eight; a subject may live in
// either of two buckets, and an entry may move to its other bucket to make
// room (cuckoo hashing), which keeps the table nearly full before anything
// must go. When both are full, the table grows (by a quarter, up to its
// share of max_bytes) once fifteen sixteenths are in use, and otherwise the
// least recently used entry of the two buckets is evicted. So the memory
// held follows what is cached (64 to 85 bytes a subject while growing),
// never exceeds max_bytes, and is 64 bytes a subject when the cache is
// full.
//
// Coherence: an entry is only ever replaced by a newer consent_version, and
// notifications only remove older entries, so read-through fills,
// write-through updates and notifications can interleave in any order. A
// fill carries a token taken before its database read; a change applied to
// the subject since (or to the few other subjects sharing its counter, or a
// Clear) makes the fill a no-op, so a read that started before an
// invalidation never caches its older result, unless that change was the
// only one and the fill is at least as new as it (a writer's own
// notification arriving before its write-through). Entries are served only
// while the cache is trusted (see TrustUntil): after the change notifications
// may have been lost, answers read through.
class ConsentCache {
 public:
  // Taken before reading (or writing) a subject in PostgreSQL.
  struct FillToken {
    uint64_t generation = 0;
  };
  struct Stats {
    size_t entries = 0;
    // Memory held: the tables' slots and counters, and the side table.
    size_t bytes = 0;
    uint64_t evictions = 0;
  };
  static constexpr size_t kSlotBytes = 64;

  // `max_bytes` bounds the memory of the entries. `clock` tells time for
  // TrustUntil and must outlive the cache. A new cache is trusted forever until
  // Distrust or TrustUntil is called.
  ConsentCache(size_t max_bytes, Clock* clock);
  ~ConsentCache();
  ConsentCache(const ConsentCache&) = delete;
  ConsentCache& operator=(const ConsentCache&) = delete;

  // Calls `fn` with the cached state of `subject` and returns true; false
  // on a miss or while the cache is not trusted. `fn` runs without any lock
  // held, on a copy.
  bool Read(absl::string_view subject,
            absl::FunctionRef<void(const SubjectState&)> fn);

  FillToken BeginFill(absl::string_view subject) const;

  // Stores `state` read (or written) after `token` was taken, unless the
  // cache is not trusted, something changed the subject since the token,
  // or a newer version is cached. Returns true if stored.
  bool Fill(absl::string_view subject, const SubjectState& state,
            FillToken token);

  // A change committed for `subject` at `version` (from a notification).
  // Fills in flight for the subject are dropped, and a cached entry older
  // than `version` is removed. Returns true when an entry was removed.
  bool Invalidate(absl::string_view subject, int64_t version);

  // Drops the entry of `subject` and any fill in flight for it.
  void Erase(absl::string_view subject) { Invalidate(subject, INT64_MAX); }

  // Drops every entry and every fill in flight, and gives back the memory.
  void Clear();

  // Entries may be served until `deadline` (by the clock).
  void TrustUntil(absl::Time deadline);
  // From now on, serve no entry (until TrustUntil).
  void Distrust() { TrustUntil(absl::InfinitePast()); }
  bool Trusted() const;

  Stats GetStats() const;
  size_t max_bytes() const { return max_bytes_; }

 private:
  struct Slot;
  struct Changes;
  struct Shard;

  Shard& ShardFor(const Fingerprint& fp) const;

  const size_t max_bytes_;
  Clock* const clock_;
  const Fingerprinter fingerprint_;
  std::atomic<int64_t> trusted_until_micros_;
  size_t shard_count_ = 0;
  std::unique_ptr<Shard[]> shards_;
};

}  // namespace consentd

#endif  // CONSENTD_CORE_CONSENT_CACHE_H_
