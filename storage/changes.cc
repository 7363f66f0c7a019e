#include "storage/changes.h"

#include <limits>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace consentd {
namespace {

// Splits off the next space-separated word of `rest`.
bool NextWord(absl::string_view& rest, absl::string_view* word) {
  const size_t space = rest.find(' ');
  if (space == absl::string_view::npos || space == 0) return false;
  *word = rest.substr(0, space);
  rest.remove_prefix(space + 1);
  return true;
}

bool NextInt(absl::string_view& rest, int64_t* value) {
  absl::string_view word;
  return NextWord(rest, &word) && absl::SimpleAtoi(word, value);
}

absl::Status Malformed(absl::string_view payload) {
  return absl::InvalidArgumentError(
      absl::StrCat("malformed change notification: ", payload.substr(0, 80)));
}

}  // namespace

std::string EncodeDecisionChange(absl::string_view subject, int64_t version,
                                 absl::Time sent_at) {
  return absl::StrCat("i ", absl::ToUnixMicros(sent_at), " ", version, " ",
                      subject);
}

std::string EncodeErasureChange(absl::string_view subject, absl::Time sent_at) {
  return absl::StrCat("i ", absl::ToUnixMicros(sent_at), " ",
                      std::numeric_limits<int64_t>::max(), " ", subject);
}

std::string EncodePolicyChange(int64_t seq, absl::Time sent_at) {
  return absl::StrCat("p ", absl::ToUnixMicros(sent_at), " ", seq);
}

absl::StatusOr<Change> DecodeChange(absl::string_view payload) {
  Change change;
  absl::string_view rest = payload;
  absl::string_view kind;
  int64_t sent_us;
  if (!NextWord(rest, &kind) || !NextInt(rest, &sent_us)) {
    return Malformed(payload);
  }
  change.sent_at = absl::FromUnixMicros(sent_us);
  if (kind == "p") {
    if (!absl::SimpleAtoi(rest, &change.policy_seq)) return Malformed(payload);
    change.kind = Change::Kind::kPolicy;
    return change;
  }
  change.kind = Change::Kind::kDecision;
  if (kind != "i" || !NextInt(rest, &change.version)) {
    return Malformed(payload);
  }
  if (rest.empty()) return Malformed(payload);
  change.subject_id = std::string(rest);
  return change;
}

}  // namespace consentd
