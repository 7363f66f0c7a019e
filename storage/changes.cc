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
  return absl::InvalidArgumentError(absl::StrCat(
      "malformed change notification: ", payload.substr(0, 80)));
}

}  // namespace

std::string EncodeDecisionChange(absl::string_view subject,
                                 const SubjectState& state, absl::Time sent_at) {
  const int64_t sent_us = absl::ToUnixMicros(sent_at);
  std::string out = absl::StrCat("d ", sent_us, " ", state.consent_version, " ",
                                 state.latest_policy_seq, " ",
                                 absl::ToUnixMicros(state.latest_decided_at),
                                 " ", state.choices.size(), " ");
  CategoryInterner& interner = CategoryInterner::Global();
  for (const CategoryChoice& c : state.choices) {
    absl::StrAppend(&out, interner.Name(c.category), " ", c.granted ? 1 : 0,
                    " ", c.policy_seq, " ", absl::ToUnixMicros(c.decided_at),
                    " ");
  }
  out.append(subject.data(), subject.size());
  if (out.size() <= kMaxNotifyPayload) return out;
  return absl::StrCat("i ", sent_us, " ", state.consent_version, " ", subject);
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
  if (!NextInt(rest, &change.version)) return Malformed(payload);
  if (kind == "d") {
    SubjectState state;
    state.consent_version = change.version;
    int64_t latest_us, n;
    if (!NextInt(rest, &state.latest_policy_seq) || !NextInt(rest, &latest_us) ||
        !NextInt(rest, &n) || n < 0 || n > 1024) {
      return Malformed(payload);
    }
    state.latest_decided_at = absl::FromUnixMicros(latest_us);
    CategoryInterner& interner = CategoryInterner::Global();
    for (int64_t i = 0; i < n; ++i) {
      absl::string_view category;
      int64_t granted, seq, decided_us;
      if (!NextWord(rest, &category) || !NextInt(rest, &granted) ||
          !NextInt(rest, &seq) || !NextInt(rest, &decided_us)) {
        return Malformed(payload);
      }
      state.choices.push_back(CategoryChoice{interner.Intern(category),
                                             granted != 0, seq,
                                             absl::FromUnixMicros(decided_us)});
    }
    change.state = std::move(state);
  } else if (kind != "i") {
    return Malformed(payload);
  }
  if (rest.empty()) return Malformed(payload);
  change.subject_id = std::string(rest);
  return change;
}

}  // namespace consentd
