#include "core/regions.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "core/validation.h"

namespace consentd {

absl::StatusOr<RegionTable> RegionTable::Parse(absl::string_view text) {
  RegionTable table;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    if (size_t hash = line.find('#'); hash != absl::string_view::npos) {
      line = line.substr(0, hash);
    }
    std::vector<absl::string_view> words =
        absl::StrSplit(line, absl::ByAnyChar(" \t\r"), absl::SkipEmpty());
    if (words.empty()) continue;
    const std::string where = absl::StrCat("line ", line_number);
    if (words.size() != 2) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": expected \"<REGION> <opt_in|opt_out>\""));
    }
    if (absl::Status s = ValidateRegionCode(words[0], where + ": region");
        !s.ok()) {
      return s;
    }
    Regime regime;
    if (words[1] == "opt_in") {
      regime = Regime::kOptIn;
    } else if (words[1] == "opt_out") {
      regime = Regime::kOptOut;
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ": regime must be opt_in or opt_out, got \"", words[1], "\""));
    }
    if (!table.regimes_.emplace(words[0], regime).second) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": duplicate region ", words[0]));
    }
  }
  return table;
}

Regime RegionTable::Lookup(absl::string_view region) const {
  if (region.empty()) return Regime::kOptIn;
  if (auto it = regimes_.find(region); it != regimes_.end()) {
    return it->second;
  }
  if (region.size() > 2) {
    if (auto it = regimes_.find(region.substr(0, 2)); it != regimes_.end()) {
      return it->second;
    }
  }
  return Regime::kOptIn;
}

}  // namespace consentd
