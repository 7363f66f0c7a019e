#include "storage/audit_keys.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace consentd {
namespace {

constexpr size_t kMinSecretBytes = 32;

// Appends a length-prefixed field, so that no two field lists encode alike.
void AppendField(std::string& out, absl::string_view field) {
  const uint32_t n = static_cast<uint32_t>(field.size());
  for (int shift = 24; shift >= 0; shift -= 8) {
    out.push_back(static_cast<char>((n >> shift) & 0xFF));
  }
  out.append(field.data(), field.size());
}

std::string Hmac(absl::string_view key, absl::string_view data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac,
       &len);
  return std::string(reinterpret_cast<const char*>(mac), len);
}

}  // namespace

std::string Sha256(absl::string_view data) {
  // Every authenticated call hashes its token: the digest is fetched once
  // and each thread keeps its context, where the one-shot SHA256() fetches
  // and allocates both per call (a few percent of a CheckCookie's CPU).
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  struct ContextFree {
    void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
  };
  thread_local const std::unique_ptr<EVP_MD_CTX, ContextFree> ctx(
      EVP_MD_CTX_new());
  unsigned char digest[SHA256_DIGEST_LENGTH];
  unsigned int len = 0;
  if (md == nullptr || ctx == nullptr ||
      EVP_DigestInit_ex(ctx.get(), md, nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), data.data(), data.size()) != 1 ||
      EVP_DigestFinal_ex(ctx.get(), digest, &len) != 1 ||
      len != sizeof(digest)) {
    // Not reachable with a working libcrypto; never an empty digest.
    SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(),
           digest);
  }
  return std::string(reinterpret_cast<const char*>(digest), sizeof(digest));
}

std::string Sha256Hex(absl::string_view data) {
  return absl::BytesToHexString(Sha256(data));
}

absl::StatusOr<AuditKeys> AuditKeys::Parse(absl::string_view text) {
  AuditKeys keys;
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
          absl::StrCat(where, ": expected \"<key_id> <hex secret>\""));
    }
    for (char c : words[0]) {
      if (!absl::ascii_isalnum(c) && c != '-' && c != '_' && c != '.') {
        return absl::InvalidArgumentError(absl::StrCat(
            where, ": key id may contain only letters, digits, '-', '_', '.'"));
      }
    }
    bool hex = words[1].size() % 2 == 0;
    for (char c : words[1]) hex = hex && absl::ascii_isxdigit(c);
    if (!hex) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": the secret must be hexadecimal"));
    }
    std::string secret = absl::HexStringToBytes(words[1]);
    if (secret.size() < kMinSecretBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": the secret must be at least ", kMinSecretBytes,
                       " bytes (", 2 * kMinSecretBytes, " hex digits)"));
    }
    if (secret.find_first_not_of(secret[0]) == std::string::npos) {
      // 00…00 or ff…ff: a placeholder, not a secret. Anyone could recompute
      // the pseudonyms and forge the log's MACs.
      return absl::InvalidArgumentError(absl::StrCat(
          where,
          ": the secret is one byte repeated: make a random one with "
          "`openssl rand -hex 32`"));
    }
    if (keys.Find(words[0]) != nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": duplicate key id ", words[0]));
    }
    keys.keys_.emplace_back(std::string(words[0]), std::move(secret));
  }
  if (keys.keys_.empty()) {
    return absl::InvalidArgumentError("no key in the file");
  }
  return keys;
}

AuditKeys AuditKeys::ForTesting() {
  return *Parse(
      "test 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
}

const std::string* AuditKeys::Find(absl::string_view key_id) const {
  for (const auto& [id, secret] : keys_) {
    if (id == key_id) return &secret;
  }
  return nullptr;
}

std::string AuditKeys::Pseudonym(absl::string_view subject_id) const {
  std::string data;
  AppendField(data, "subject");
  AppendField(data, subject_id);
  return absl::BytesToHexString(Hmac(keys_.front().second, data));
}

std::string AuditKeys::Fingerprint(absl::string_view kind,
                                   absl::string_view value) const {
  std::string data;
  AppendField(data, kind);
  AppendField(data, value);
  return absl::BytesToHexString(Hmac(keys_.front().second, data));
}

absl::StatusOr<std::string> AuditKeys::EventMac(
    absl::string_view key_id, absl::string_view action,
    absl::string_view pseudonym, absl::string_view actor,
    int64_t recorded_at_us, absl::string_view payload) const {
  const std::string* secret = Find(key_id);
  if (secret == nullptr) {
    return absl::NotFoundError(absl::StrCat("unknown audit key ", key_id));
  }
  std::string data;
  AppendField(data, "event");
  AppendField(data, action);
  AppendField(data, pseudonym);
  AppendField(data, actor);
  AppendField(data, absl::StrCat(recorded_at_us));
  AppendField(data, payload);
  return Hmac(*secret, data);
}

absl::StatusOr<std::string> AuditKeys::ChainMac(
    absl::string_view key_id, absl::string_view previous_mac, int64_t sequence,
    int64_t event_id, absl::string_view event_mac) const {
  const std::string* secret = Find(key_id);
  if (secret == nullptr) {
    return absl::NotFoundError(absl::StrCat("unknown audit key ", key_id));
  }
  std::string data;
  AppendField(data, "chain");
  AppendField(data, previous_mac);
  AppendField(data, absl::StrCat(sequence));
  AppendField(data, absl::StrCat(event_id));
  AppendField(data, event_mac);
  return Hmac(*secret, data);
}

}  // namespace consentd
