#include "core/consent_cache.h"

#include <limits>
#include <optional>

#include "absl/hash/hash.h"

namespace consentd {
namespace {

// A hash table slot: the key and value, plus one control byte.
constexpr size_t kSlotBytes =
    sizeof(std::pair<const std::string, SubjectState>) + 1;
// Strings up to this many bytes live inside std::string (libstdc++ SSO).
constexpr size_t kInlineKeyBytes = 15;
// What malloc adds to each allocation, roughly.
constexpr size_t kMallocOverhead = 16;

size_t TableBytes(size_t capacity) { return capacity * kSlotBytes; }

// The capacity of a table after it grows from `capacity` (absl's tables hold
// up to 7/8 of 2^k-1 slots and double when full).
size_t CapacityAfterInsert(size_t size, size_t capacity) {
  if (capacity == 0) return 1;
  if (size + 1 <= capacity - capacity / 8) return capacity;
  return capacity * 2 + 1;
}

}  // namespace

size_t EntryHeapBytes(absl::string_view subject, const SubjectState& state) {
  size_t bytes = 0;
  if (subject.size() > kInlineKeyBytes)
    bytes += subject.size() + 1 + kMallocOverhead;
  if (state.choices.capacity() > 4) {  // Beyond the inline capacity.
    bytes +=
        state.choices.capacity() * sizeof(CategoryChoice) + kMallocOverhead;
  }
  return bytes;
}

ConsentCache::ConsentCache(size_t max_bytes, Clock* clock)
    : max_bytes_(max_bytes),
      generation_budget_(max_bytes / kShards / 2),
      clock_(clock),
      trusted_until_micros_(std::numeric_limits<int64_t>::max()) {}

ConsentCache::Shard& ConsentCache::ShardFor(absl::string_view subject) const {
  return shards_[absl::HashOf(subject) % kShards];
}

bool ConsentCache::Trusted() const {
  return absl::ToUnixMicros(clock_->Now()) <
         trusted_until_micros_.load(std::memory_order_acquire);
}

void ConsentCache::TrustUntil(absl::Time deadline) {
  trusted_until_micros_.store(
      deadline == absl::InfiniteFuture() ? std::numeric_limits<int64_t>::max()
      : deadline == absl::InfinitePast() ? std::numeric_limits<int64_t>::min()
                                         : absl::ToUnixMicros(deadline),
      std::memory_order_release);
}

SubjectState* ConsentCache::Find(Shard& shard, absl::string_view subject,
                                 Map** generation) {
  if (auto it = shard.young.find(subject); it != shard.young.end()) {
    *generation = &shard.young;
    return &it->second;
  }
  if (auto it = shard.old.find(subject); it != shard.old.end()) {
    *generation = &shard.old;
    return &it->second;
  }
  return nullptr;
}

void ConsentCache::PutYoung(Shard& shard, absl::string_view subject,
                            const SubjectState& state) {
  if (auto it = shard.young.find(subject); it != shard.young.end()) {
    shard.young_heap -= EntryHeapBytes(subject, it->second);
    it->second = state;
    shard.young_heap += EntryHeapBytes(subject, state);
    return;
  }
  const size_t heap = EntryHeapBytes(subject, state);
  const size_t projected = TableBytes(CapacityAfterInsert(
                               shard.young.size(), shard.young.capacity())) +
                           shard.young_heap + heap;
  if (projected > generation_budget_) {
    // Drop the old generation; the young one becomes old.
    shard.evictions.fetch_add(shard.old.size(), std::memory_order_relaxed);
    shard.old = std::move(shard.young);
    shard.old_heap = shard.young_heap;
    shard.young = Map();
    shard.young_heap = 0;
  }
  shard.young.emplace(subject, state);
  shard.young_heap += heap;
}

bool ConsentCache::Read(absl::string_view subject,
                        absl::FunctionRef<void(const SubjectState&)> fn) {
  if (!Trusted()) return false;
  Shard& shard = ShardFor(subject);
  std::optional<SubjectState> copy;
  {
    absl::ReaderMutexLock lock(&shard.mu);
    if (auto it = shard.young.find(subject); it != shard.young.end()) {
      copy = it->second;
    }
  }
  if (!copy) {
    // In the old generation, if anywhere: move it back to the young one.
    absl::MutexLock lock(&shard.mu);
    auto it = shard.old.find(subject);
    if (it == shard.old.end()) {
      // It may have moved to the young generation meanwhile.
      auto young = shard.young.find(subject);
      if (young == shard.young.end()) return false;
      copy = young->second;
    } else {
      copy = std::move(it->second);
      shard.old_heap -= EntryHeapBytes(subject, *copy);
      shard.old.erase(it);
      PutYoung(shard, subject, *copy);
    }
  }
  fn(*copy);
  return true;
}

ConsentCache::FillToken ConsentCache::BeginFill(
    absl::string_view subject) const {
  return FillToken{
      ShardFor(subject).generation.load(std::memory_order_acquire)};
}

bool ConsentCache::Fill(absl::string_view subject, const SubjectState& state,
                        FillToken token) {
  if (!Trusted()) return false;
  Shard& shard = ShardFor(subject);
  absl::MutexLock lock(&shard.mu);
  if (shard.generation.load(std::memory_order_relaxed) != token.generation) {
    return false;
  }
  Map* generation = nullptr;
  if (SubjectState* cached = Find(shard, subject, &generation)) {
    if (cached->consent_version > state.consent_version) return false;
    if (generation == &shard.old) {
      shard.old_heap -= EntryHeapBytes(subject, *cached);
      shard.old.erase(shard.old.find(subject));
    }
  }
  PutYoung(shard, subject, state);
  return true;
}

bool ConsentCache::Invalidate(absl::string_view subject, int64_t version) {
  Shard& shard = ShardFor(subject);
  absl::MutexLock lock(&shard.mu);
  shard.generation.fetch_add(1, std::memory_order_acq_rel);
  Map* generation = nullptr;
  SubjectState* cached = Find(shard, subject, &generation);
  if (cached == nullptr || cached->consent_version >= version) return false;
  size_t& heap = generation == &shard.young ? shard.young_heap : shard.old_heap;
  heap -= EntryHeapBytes(subject, *cached);
  generation->erase(generation->find(subject));
  return true;
}

void ConsentCache::Clear() {
  for (Shard& shard : shards_) {
    absl::MutexLock lock(&shard.mu);
    shard.generation.fetch_add(1, std::memory_order_acq_rel);
    shard.young = Map();
    shard.old = Map();
    shard.young_heap = 0;
    shard.old_heap = 0;
  }
}

ConsentCache::Stats ConsentCache::GetStats() const {
  Stats stats;
  for (Shard& shard : shards_) {
    absl::ReaderMutexLock lock(&shard.mu);
    stats.entries += shard.young.size() + shard.old.size();
    stats.bytes += TableBytes(shard.young.capacity()) +
                   TableBytes(shard.old.capacity()) + shard.young_heap +
                   shard.old_heap;
    stats.evictions += shard.evictions.load(std::memory_order_relaxed);
  }
  return stats;
}

}  // namespace consentd
