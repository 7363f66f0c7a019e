#include "server/config.h"

#include <arpa/inet.h>

#include <cstdlib>
#include <iostream>

#include "absl/strings/match.h"
#include "absl/strings/strip.h"
#include "config/embedded.h"

namespace consentd {

bool IsLoopback(absl::string_view listen) {
  if (absl::StartsWith(listen, "unix:")) return true;
  const size_t colon = listen.rfind(':');
  absl::string_view host = listen.substr(0, colon);
  if (absl::ConsumePrefix(&host, "[")) absl::ConsumeSuffix(&host, "]");
  if (host == "localhost" || host == "::1") return true;
  in_addr v4;
  return inet_pton(AF_INET, std::string(host).c_str(), &v4) == 1 &&
         (ntohl(v4.s_addr) >> 24) == 127;
}

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
