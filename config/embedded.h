// Configuration files of this folder compiled into the binaries, so that the
// defaults ship with consentd itself.
#ifndef CONSENTD_CONFIG_EMBEDDED_H_
#define CONSENTD_CONFIG_EMBEDDED_H_

#include "absl/strings/string_view.h"

namespace consentd {

// config/regions.txt: the default region table (see RegionTable::Parse).
absl::string_view DefaultRegionTable();

}  // namespace consentd

#endif  // CONSENTD_CONFIG_EMBEDDED_H_
