#include "core/consent_cache.h"

#include "absl/hash/hash.h"

namespace consentd {

ConsentCache::Shard& ConsentCache::ShardFor(absl::string_view subject) const {
  return shards_[absl::HashOf(subject) % kShards];
}

bool ConsentCache::Read(
    absl::string_view subject,
    absl::FunctionRef<void(const SubjectState&)> fn) const {
  Shard& shard = ShardFor(subject);
  absl::ReaderMutexLock lock(&shard.mu);
  auto it = shard.entries.find(subject);
  if (it == shard.entries.end()) return false;
  fn(it->second);
  return true;
}

bool ConsentCache::Put(absl::string_view subject, const SubjectState& state) {
  Shard& shard = ShardFor(subject);
  absl::MutexLock lock(&shard.mu);
  auto [it, inserted] = shard.entries.try_emplace(subject, state);
  if (inserted) return true;
  if (it->second.consent_version > state.consent_version) return false;
  it->second = state;
  return true;
}

void ConsentCache::Erase(absl::string_view subject) {
  Shard& shard = ShardFor(subject);
  absl::MutexLock lock(&shard.mu);
  shard.entries.erase(subject);
}

size_t ConsentCache::Size() const {
  size_t n = 0;
  for (const Shard& shard : shards_) {
    absl::ReaderMutexLock lock(&shard.mu);
    n += shard.entries.size();
  }
  return n;
}

}  // namespace consentd
