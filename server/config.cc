#include "server/config.h"

#include <cstdlib>
#include <iostream>

#include "config/embedded.h"

namespace consentd {

const RegionTable& BuiltInRegions() {
  static const RegionTable* const table = [] {
    absl::StatusOr<RegionTable> parsed =
        RegionTable::Parse(DefaultRegionTable());
    if (!parsed.ok()) {
      // Unreachable for a tested build: config/regions.txt is unit-tested.
      std::cerr << "config/regions.txt: " << parsed.status() << "\n";
      std::abort();
    }
    return new RegionTable(*std::move(parsed));
  }();
  return *table;
}

}  // namespace consentd
