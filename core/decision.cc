#include "core/decision.h"

namespace consentd {

absl::string_view SourceName(ConsentSource source) {
  switch (source) {
    case ConsentSource::kBanner:
      return "banner";
    case ConsentSource::kPreferencesCenter:
      return "preferences_center";
    case ConsentSource::kApi:
      return "api";
    case ConsentSource::kSupport:
      return "support";
    case ConsentSource::kImport:
      return "import";
    case ConsentSource::kLink:
      return "link";
    case ConsentSource::kUnspecified:
      break;
  }
  return "";
}

}  // namespace consentd
