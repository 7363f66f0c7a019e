#include "core/consent_cache.h"

#include <algorithm>
#include <limits>

namespace consentd {
namespace {

constexpr size_t kWays = 8;  // Slots per bucket.
constexpr size_t kInlineChoices = 6;
constexpr size_t kStamps = 3;  // The latest decision's, and two more.
constexpr size_t kMaxShards = 256;
constexpr size_t kInitialBuckets = 2;
// A state with no decision has no latest time (absl::InfinitePast()).
constexpr int64_t kNoTime = std::numeric_limits<int64_t>::min();
// An older decision's stamp: its time as microseconds before the latest
// decision (48 bits: nearly 9 years) and its policy seq relative to the
// latest's (16 bits, signed).
constexpr int64_t kMaxStampDelta = (int64_t{1} << 48) - 1;
// A choice: category key (13 bits), granted (bit 13), stamp (bits 14-15).
constexpr uint16_t kMaxCategory = (1 << 13) - 1;
constexpr uint16_t kGrantedBit = 1 << 13;
constexpr int kStampShift = 14;
// Slot meta: number of choices (bits 0-2), of older stamps (bits 3-4),
// whether the state lives in the side table (bit 5).
constexpr uint8_t kChoicesMask = 0x07;
constexpr int kExtraShift = 3;
constexpr uint8_t kExtraMask = 0x18;
constexpr uint8_t kOverflow = 0x20;

// The microseconds of `t` if they say exactly `t`.
bool ExactMicros(absl::Time t, int64_t* micros) {
  if (t == absl::InfinitePast() || t == absl::InfiniteFuture()) return false;
  *micros = absl::ToUnixMicros(t);
  return absl::FromUnixMicros(*micros) == t;
}

}  // namespace

// One cached subject: 64 bytes, a cache line.
struct ConsentCache::Slot {
  uint64_t fp_hi = 0;
  uint64_t fp_lo = 0;
  // The latest decision (kNoTime: none).
  int64_t latest_micros = 0;
  uint32_t latest_seq = 0;
  uint32_t version = 0;
  // Older decisions' stamps (see kMaxStampDelta).
  uint64_t extra[kStamps - 1] = {0, 0};
  uint16_t choices[kInlineChoices] = {};
  // The shard's tick when last used (for eviction).
  uint16_t tick = 0;
  uint8_t meta = 0;
  uint8_t used = 0;

  Fingerprint fingerprint() const { return Fingerprint{fp_hi, fp_lo}; }

  // Fills this slot's state fields from `state`; false (and the slot
  // unspecified) when the state does not fit exactly.
  bool Encode(const SubjectState& state) {
    if (state.consent_version < 0 ||
        state.consent_version > std::numeric_limits<uint32_t>::max() ||
        state.latest_policy_seq < 0 ||
        state.latest_policy_seq > std::numeric_limits<uint32_t>::max() ||
        state.choices.size() > kInlineChoices) {
      return false;
    }
    version = static_cast<uint32_t>(state.consent_version);
    latest_seq = static_cast<uint32_t>(state.latest_policy_seq);
    if (state.latest_decided_at == absl::InfinitePast()) {
      latest_micros = kNoTime;
    } else if (!ExactMicros(state.latest_decided_at, &latest_micros)) {
      return false;
    }
    int64_t stamp_micros[kStamps] = {latest_micros};
    int64_t stamp_seq[kStamps] = {state.latest_policy_seq};
    size_t stamps = 1;
    for (size_t k = 0; k < state.choices.size(); ++k) {
      const CategoryChoice& c = state.choices[k];
      int64_t micros = 0;
      if (c.category > kMaxCategory || !ExactMicros(c.decided_at, &micros)) {
        return false;
      }
      size_t stamp = 0;
      while (stamp < stamps && (stamp_micros[stamp] != micros ||
                                stamp_seq[stamp] != c.policy_seq)) {
        ++stamp;
      }
      if (stamp == stamps) {
        const int64_t seq_delta = c.policy_seq - state.latest_policy_seq;
        if (stamps == kStamps || latest_micros == kNoTime ||
            micros > latest_micros || latest_micros - micros > kMaxStampDelta ||
            seq_delta < std::numeric_limits<int16_t>::min() ||
            seq_delta > std::numeric_limits<int16_t>::max()) {
          return false;
        }
        extra[stamps - 1] =
            static_cast<uint64_t>(latest_micros - micros) |
            (static_cast<uint64_t>(static_cast<uint16_t>(seq_delta)) << 48);
        stamp_micros[stamps] = micros;
        stamp_seq[stamps] = c.policy_seq;
        ++stamps;
      }
      choices[k] = static_cast<uint16_t>(
          c.category | (c.granted ? kGrantedBit : 0) | (stamp << kStampShift));
    }
    meta = static_cast<uint8_t>(state.choices.size() |
                                ((stamps - 1) << kExtraShift));
    return true;
  }

  SubjectState Decode() const {
    SubjectState state;
    state.consent_version = version;
    state.latest_policy_seq = latest_seq;
    state.latest_decided_at = latest_micros == kNoTime
                                  ? absl::InfinitePast()
                                  : absl::FromUnixMicros(latest_micros);
    int64_t stamp_micros[kStamps] = {latest_micros};
    int64_t stamp_seq[kStamps] = {latest_seq};
    const size_t stamps = 1 + ((meta & kExtraMask) >> kExtraShift);
    for (size_t s = 1; s < stamps; ++s) {
      stamp_micros[s] =
          latest_micros - static_cast<int64_t>(extra[s - 1] & kMaxStampDelta);
      stamp_seq[s] =
          latest_seq +
          static_cast<int16_t>(static_cast<uint16_t>(extra[s - 1] >> 48));
    }
    const size_t n = meta & kChoicesMask;
    for (size_t k = 0; k < n; ++k) {
      const uint16_t c = choices[k];
      const size_t stamp = c >> kStampShift;
      state.choices.push_back(CategoryChoice{
          static_cast<CategoryKey>(c & kMaxCategory), (c & kGrantedBit) != 0,
          stamp_seq[stamp], absl::FromUnixMicros(stamp_micros[stamp])});
    }
    return state;
  }
};

// The changes of the subjects that share one counter (by fingerprint): how
// many (generation), and the last one, so that a fill can tell whether the
// only change since its token is one it is at least as new as (the writer's
// own notification racing its write-through, most often). A shard's
// counters are fixed when the cache is made, so tables grow without
// disturbing fills in flight.
struct ConsentCache::Changes {
  uint64_t generation = 0;
  // fp.lo of the last change's subject and its version (none: max).
  uint64_t last_lo = 0;
  int64_t last_version = std::numeric_limits<int64_t>::max();
};

struct alignas(64) ConsentCache::Shard {
  mutable absl::Mutex mu;
  // buckets * kWays slots.
  std::unique_ptr<Slot[]> slots ABSL_GUARDED_BY(mu);
  // Counters of changes, fill tokens compare them; `counters` of them.
  std::unique_ptr<Changes[]> changes ABSL_GUARDED_BY(mu);
  size_t counters = 0;
  size_t buckets ABSL_GUARDED_BY(mu) = 0;
  // Every counter is at most this.
  uint64_t max_generation ABSL_GUARDED_BY(mu) = 0;
  size_t entries ABSL_GUARDED_BY(mu) = 0;
  uint16_t tick ABSL_GUARDED_BY(mu) = 0;
  // States that do not fit a slot, by fingerprint.
  absl::flat_hash_map<Fingerprint, SubjectState> side ABSL_GUARDED_BY(mu);
  size_t side_bytes ABSL_GUARDED_BY(mu) = 0;
  // Set at construction.
  size_t max_buckets = 0;
  size_t side_budget = 0;
  std::atomic<uint64_t> evictions{0};

  // The slot holding `fp`, or nullptr.
  Slot* Find(const Fingerprint& fp) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  // An empty slot in one of `fp`'s buckets (perhaps after moving another
  // entry to its other bucket), or nullptr.
  Slot* FindRoom(const Fingerprint& fp) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  // A slot for a new entry `fp`: an empty one, after growing the table, or
  // the least recently used of its two buckets (evicted).
  Slot* Place(const Fingerprint& fp) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  void Grow() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  // Empties `slot` (and its side-table entry).
  void Release(Slot& slot) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  Changes& ChangesOf(const Fingerprint& fp) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  // The version of the state `slot` holds (-1 if lost).
  int64_t CachedVersion(const Slot& slot) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);

  // Replaces the table by one of `n` empty buckets.
  void Resize(size_t n) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    slots = std::make_unique<Slot[]>(n * kWays);
    buckets = n;
  }
  // Every fill in flight becomes a no-op (no counter value seen before is
  // seen again).
  void ForgetChanges() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    ++max_generation;
    for (size_t i = 0; i < counters; ++i) {
      changes[i] = Changes();
      changes[i].generation = max_generation;
    }
  }
  size_t Bucket1(const Fingerprint& fp) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    return fp.lo % buckets;
  }
  size_t Bucket2(const Fingerprint& fp) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    const size_t b = fp.hi % buckets;
    return b != Bucket1(fp) ? b : (b + 1) % buckets;
  }
  Slot* BucketAt(size_t b) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    return &slots[b * kWays];
  }
};

namespace {

size_t SideEntryBytes(const SubjectState& state) {
  size_t bytes = sizeof(std::pair<const Fingerprint, SubjectState>) + 1;
  if (state.choices.size() > 4) {  // Beyond the inline capacity.
    bytes += state.choices.capacity() * sizeof(CategoryChoice) + 16;
  }
  return bytes;
}

constexpr size_t kBucketBytes = kWays * ConsentCache::kSlotBytes;
// Change counters per shard: about one per bucket of a full table, within
// these bounds.
constexpr size_t kMinCounters = 16;
constexpr size_t kMaxCounters = 1024;

}  // namespace

ConsentCache::ConsentCache(size_t max_bytes, Clock* clock)
    : max_bytes_(max_bytes),
      clock_(clock),
      trusted_until_micros_(std::numeric_limits<int64_t>::max()) {
  static_assert(sizeof(Slot) == kSlotBytes);
  // A sixteenth for states that do not fit a slot; the rest for tables and
  // their change counters.
  const size_t side_total = max_bytes / 16;
  const size_t buckets_guess =
      std::max<size_t>(1, (max_bytes - side_total) / kBucketBytes);
  shard_count_ = std::clamp<size_t>(buckets_guess / 8, 1, kMaxShards);
  const size_t counters = std::clamp<size_t>(buckets_guess / shard_count_,
                                             kMinCounters, kMaxCounters);
  const size_t counter_bytes = shard_count_ * counters * sizeof(Changes);
  const size_t table_bytes = max_bytes > side_total + counter_bytes
                                 ? max_bytes - side_total - counter_bytes
                                 : kBucketBytes * shard_count_;
  shards_ = std::make_unique<Shard[]>(shard_count_);
  for (size_t i = 0; i < shard_count_; ++i) {
    Shard& shard = shards_[i];
    shard.max_buckets =
        std::max<size_t>(1, table_bytes / kBucketBytes / shard_count_);
    shard.side_budget = side_total / shard_count_;
    shard.counters = counters;
    absl::MutexLock lock(&shard.mu);
    shard.changes = std::make_unique<Changes[]>(counters);
    shard.ForgetChanges();
    shard.Resize(std::min(kInitialBuckets, shard.max_buckets));
  }
}

ConsentCache::~ConsentCache() = default;

ConsentCache::Shard& ConsentCache::ShardFor(const Fingerprint& fp) const {
  return shards_[(fp.hi >> 32) % shard_count_];
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

ConsentCache::Changes& ConsentCache::Shard::ChangesOf(const Fingerprint& fp) {
  return changes[fp.lo % counters];
}

ConsentCache::Slot* ConsentCache::Shard::Find(const Fingerprint& fp) {
  for (size_t b : {Bucket1(fp), Bucket2(fp)}) {
    Slot* bucket = BucketAt(b);
    for (size_t w = 0; w < kWays; ++w) {
      if (bucket[w].used && bucket[w].fp_lo == fp.lo &&
          bucket[w].fp_hi == fp.hi) {
        return &bucket[w];
      }
    }
  }
  return nullptr;
}

int64_t ConsentCache::Shard::CachedVersion(const Slot& slot) {
  if (!(slot.meta & kOverflow)) return slot.version;
  auto it = side.find(slot.fingerprint());
  return it == side.end() ? -1 : it->second.consent_version;
}

void ConsentCache::Shard::Release(Slot& slot) {
  if (slot.meta & kOverflow) {
    auto it = side.find(slot.fingerprint());
    if (it != side.end()) {
      side_bytes -= SideEntryBytes(it->second);
      side.erase(it);
    }
  }
  slot = Slot();
  --entries;
}

ConsentCache::Slot* ConsentCache::Shard::FindRoom(const Fingerprint& fp) {
  // The emptier of the two buckets.
  Slot* empty[2] = {nullptr, nullptr};
  size_t vacant[2] = {0, 0};
  const size_t b[2] = {Bucket1(fp), Bucket2(fp)};
  for (int k = 0; k < 2; ++k) {
    Slot* bucket = BucketAt(b[k]);
    for (size_t w = 0; w < kWays; ++w) {
      if (bucket[w].used) continue;
      ++vacant[k];
      if (empty[k] == nullptr) empty[k] = &bucket[w];
    }
  }
  if (vacant[0] + vacant[1] > 0) {
    return vacant[0] >= vacant[1] ? empty[0] : empty[1];
  }
  // Both full: move one of their entries to its other bucket, if that has
  // room (cuckoo hashing, one step deep).
  for (int k = 0; k < 2; ++k) {
    Slot* bucket = BucketAt(b[k]);
    for (size_t w = 0; w < kWays; ++w) {
      const Fingerprint other_fp = bucket[w].fingerprint();
      const size_t b1 = Bucket1(other_fp);
      Slot* other = BucketAt(b1 == b[k] ? Bucket2(other_fp) : b1);
      for (size_t v = 0; v < kWays; ++v) {
        if (other[v].used) continue;
        other[v] = bucket[w];
        bucket[w] = Slot();
        return &bucket[w];
      }
    }
  }
  return nullptr;
}

void ConsentCache::Shard::Grow() {
  const size_t n =
      std::min(max_buckets, std::max(buckets + 1, buckets * 5 / 4));
  std::unique_ptr<Slot[]> old = std::move(slots);
  const size_t old_slots = buckets * kWays;
  Resize(n);
  for (size_t i = 0; i < old_slots; ++i) {
    if (!old[i].used) continue;
    if (Slot* room = FindRoom(old[i].fingerprint())) {
      *room = old[i];
    } else {  // Rare at the load growth leaves.
      Release(old[i]);
      evictions.fetch_add(1, std::memory_order_relaxed);
    }
  }
}

ConsentCache::Slot* ConsentCache::Shard::Place(const Fingerprint& fp) {
  if (Slot* room = FindRoom(fp)) return room;
  // No room: the table grows while it may (with cuckoo moves that is when
  // it is nearly full), then the least recently used of the two buckets
  // goes.
  if (buckets < max_buckets) {
    Grow();
    if (Slot* room = FindRoom(fp)) return room;
  }
  Slot* victim = nullptr;
  uint16_t oldest = 0;
  for (size_t bucket : {Bucket1(fp), Bucket2(fp)}) {
    Slot* ways = BucketAt(bucket);
    for (size_t w = 0; w < kWays; ++w) {
      const uint16_t age = static_cast<uint16_t>(tick - ways[w].tick);
      if (victim == nullptr || age > oldest) {
        victim = &ways[w];
        oldest = age;
      }
    }
  }
  Release(*victim);
  evictions.fetch_add(1, std::memory_order_relaxed);
  return victim;
}

bool ConsentCache::Read(absl::string_view subject,
                        absl::FunctionRef<void(const SubjectState&)> fn) {
  if (!Trusted()) return false;
  const Fingerprint fp = fingerprint_(subject);
  Shard& shard = ShardFor(fp);
  SubjectState copy;
  {
    absl::MutexLock lock(&shard.mu);
    Slot* slot = shard.Find(fp);
    if (slot == nullptr) return false;
    slot->tick = ++shard.tick;
    if (slot->meta & kOverflow) {
      auto it = shard.side.find(fp);
      if (it == shard.side.end()) return false;
      copy = it->second;
    } else {
      copy = slot->Decode();
    }
  }
  fn(copy);
  return true;
}

ConsentCache::FillToken ConsentCache::BeginFill(
    absl::string_view subject) const {
  const Fingerprint fp = fingerprint_(subject);
  Shard& shard = ShardFor(fp);
  absl::MutexLock lock(&shard.mu);
  return FillToken{shard.ChangesOf(fp).generation};
}

bool ConsentCache::Fill(absl::string_view subject, const SubjectState& state,
                        FillToken token) {
  if (!Trusted()) return false;
  const Fingerprint fp = fingerprint_(subject);
  Shard& shard = ShardFor(fp);
  absl::MutexLock lock(&shard.mu);
  const Changes& changes = shard.ChangesOf(fp);
  if (changes.generation != token.generation &&
      !(changes.generation == token.generation + 1 &&
        changes.last_lo == fp.lo &&
        changes.last_version <= state.consent_version)) {
    return false;  // Something changed since the token that this may predate.
  }
  Slot* slot = shard.Find(fp);
  if (slot != nullptr) {
    if (shard.CachedVersion(*slot) > state.consent_version) return false;
    shard.Release(*slot);
  } else {
    slot = shard.Place(fp);
  }
  Slot entry;
  if (!entry.Encode(state)) {
    const size_t bytes = SideEntryBytes(state);
    if (shard.side_bytes + bytes > shard.side_budget) return false;
    entry = Slot();
    entry.meta = kOverflow;
    shard.side[fp] = state;
    shard.side_bytes += bytes;
  }
  entry.fp_hi = fp.hi;
  entry.fp_lo = fp.lo;
  entry.used = 1;
  entry.tick = ++shard.tick;
  *slot = entry;
  ++shard.entries;
  return true;
}

bool ConsentCache::Invalidate(absl::string_view subject, int64_t version) {
  const Fingerprint fp = fingerprint_(subject);
  Shard& shard = ShardFor(fp);
  absl::MutexLock lock(&shard.mu);
  Changes& changes = shard.ChangesOf(fp);
  ++changes.generation;
  changes.last_lo = fp.lo;
  changes.last_version = version;
  shard.max_generation = std::max(shard.max_generation, changes.generation);
  Slot* slot = shard.Find(fp);
  if (slot == nullptr) return false;
  if (shard.CachedVersion(*slot) >= version) return false;
  shard.Release(*slot);
  return true;
}

void ConsentCache::Clear() {
  for (size_t i = 0; i < shard_count_; ++i) {
    Shard& shard = shards_[i];
    absl::MutexLock lock(&shard.mu);
    shard.Resize(std::min(kInitialBuckets, shard.max_buckets));
    shard.ForgetChanges();
    shard.entries = 0;
    shard.side.clear();
    shard.side_bytes = 0;
  }
}

ConsentCache::Stats ConsentCache::GetStats() const {
  Stats stats;
  for (size_t i = 0; i < shard_count_; ++i) {
    Shard& shard = shards_[i];
    absl::MutexLock lock(&shard.mu);
    stats.entries += shard.entries;
    stats.bytes += shard.buckets * kBucketBytes +
                   shard.counters * sizeof(Changes) + shard.side_bytes;
    stats.evictions += shard.evictions.load(std::memory_order_relaxed);
  }
  return stats;
}

}  // namespace consentd
