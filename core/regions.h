// Which regime applies in a region. The table is configuration (a file in the
// repo, overridable with --regions_file); the most specific entry wins
// ("US-CA" over "US"), and a region without an entry, or no region at all,
// gets the default regime, opt-in.
#ifndef CONSENTD_CORE_REGIONS_H_
#define CONSENTD_CORE_REGIONS_H_

#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/evaluation.h"

namespace consentd {

// Immutable after construction; thread-safe to read.
class RegionTable {
 public:
  // An empty table: every region gets the default regime (opt-in).
  RegionTable() = default;

  // Parses the text form: one entry a line, `<REGION> <opt_in|opt_out>`,
  // '#' starts a comment, blank lines are ignored. Region codes follow
  // ValidateRegionCode. A malformed line is InvalidArgument naming the line.
  static absl::StatusOr<RegionTable> Parse(absl::string_view text);

  // The regime of `region` (already validated): the entry for the region,
  // else the entry for its country, else opt-in.
  Regime Lookup(absl::string_view region) const;

  size_t size() const { return regimes_.size(); }

 private:
  absl::flat_hash_map<std::string, Regime> regimes_;
};

}  // namespace consentd

#endif  // CONSENTD_CORE_REGIONS_H_
