// Fuzz target: the parsers of configuration and notification text: the
// tokens file, the region table, the audit keys file and change
// notification payloads. The first byte picks the parser.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/access.h"
#include "core/regions.h"
#include "storage/audit_keys.h"
#include "storage/changes.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 4) {
    case 0: {
      absl::StatusOr<consentd::TokenTable> t =
          consentd::TokenTable::Parse(text);
      if (t.ok()) t->Find(std::string(32, '\0'));
      break;
    }
    case 1: {
      absl::StatusOr<consentd::RegionTable> t =
          consentd::RegionTable::Parse(text);
      if (t.ok()) t->Lookup("US-CA");
      break;
    }
    case 2: {
      absl::StatusOr<consentd::Change> c = consentd::DecodeChange(text);
      if (c.ok() && c->kind == consentd::Change::Kind::kDecision &&
          c->subject_id.empty()) {
        __builtin_trap();
      }
      break;
    }
    case 3: {
      absl::StatusOr<consentd::AuditKeys> k = consentd::AuditKeys::Parse(text);
      if (k.ok()) {
        // Every parsed file signs, links and derives pseudonyms.
        const std::string& id = k->signing_key_id();
        absl::StatusOr<std::string> mac =
            k->EventMac(id, "decision", k->Pseudonym("s"), "a", 1, "{}");
        if (!mac.ok() || !k->ChainMac(id, "", 1, 1, *mac).ok()) {
          __builtin_trap();
        }
        (void)k->Fingerprint("ip", "127.0.0.1");
      }
      break;
    }
  }
  return 0;
}
