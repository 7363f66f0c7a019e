// Measures the memory of the consent cache per cached subject: fills a
// ConsentCache with N subjects (36-character ids, the four seed categories
// decided) and reports the process's RSS growth and the cache's own
// accounting, per subject.
//
//   build/.../tests/bench/cache_memory [N [MAX_BYTES]]
//
// N defaults to 1,000,000; MAX_BYTES to 1 GiB (room to spare: the tables
// grow to what N needs), or give the size of a cache that N fills.
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "core/clock.h"
#include "core/consent_cache.h"

namespace {

size_t RssBytes() {
  std::ifstream statm("/proc/self/statm");
  size_t pages_total = 0, pages_resident = 0;
  statm >> pages_total >> pages_resident;
  return pages_resident * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

// A UUID-shaped id: 36 characters.
std::string SubjectId(int i) {
  return absl::StrFormat("%08x-0000-4000-8000-%012x", i, i * 7919);
}

}  // namespace

int main(int argc, char** argv) {
  int n = 1000000;
  size_t max_bytes = size_t{1} << 30;
  if ((argc > 1 && !absl::SimpleAtoi(argv[1], &n)) ||
      (argc > 2 && !absl::SimpleAtoi(argv[2], &max_bytes))) {
    std::fprintf(stderr, "usage: %s [subjects [max_bytes]]\n", argv[0]);
    return 2;
  }
  consentd::SystemClock clock;
  consentd::ConsentCache cache(max_bytes, &clock);
  consentd::CategoryInterner& interner = consentd::CategoryInterner::Global();
  const consentd::CategoryKey categories[] = {
      interner.Intern("necessary"), interner.Intern("preferences"),
      interner.Intern("statistics"), interner.Intern("marketing")};
  // Whole microseconds, as times come from PostgreSQL.
  const absl::Time now = absl::FromUnixMicros(absl::ToUnixMicros(absl::Now()));

  const size_t before = RssBytes();
  for (int i = 0; i < n; ++i) {
    consentd::SubjectState state;
    state.consent_version = 1;
    state.latest_policy_seq = 1;
    state.latest_decided_at = now;
    for (consentd::CategoryKey c : categories) {
      state.choices.push_back(consentd::CategoryChoice{c, i % 2 == 0, 1, now});
    }
    const std::string id = SubjectId(i);
    cache.Fill(id, state, cache.BeginFill(id));
  }
  const size_t after = RssBytes();
  const consentd::ConsentCache::Stats stats = cache.GetStats();
  absl::PrintF("subjects cached:        %d (of %d)\n", stats.entries, n);
  absl::PrintF("RSS growth:             %.1f MiB, %.0f bytes per subject\n",
               (after - before) / 1048576.0,
               static_cast<double>(after - before) / stats.entries);
  absl::PrintF("cache accounting:       %.1f MiB, %.0f bytes per subject\n",
               stats.bytes / 1048576.0,
               static_cast<double>(stats.bytes) / stats.entries);
  absl::PrintF("process RSS:            %.1f MiB\n", after / 1048576.0);
  absl::PrintF(
      "{\"subjects\": %d, \"rss_bytes_per_subject\": %.0f, "
      "\"accounted_bytes_per_subject\": %.0f}\n",
      stats.entries, static_cast<double>(after - before) / stats.entries,
      static_cast<double>(stats.bytes) / stats.entries);
  return 0;
}
