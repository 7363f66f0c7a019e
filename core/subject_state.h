// What is known of one subject: its latest consent_version and, per category,
// the choice that currently stands (a decision may name only some categories;
// the others keep their earlier value).
#ifndef CONSENTD_CORE_SUBJECT_STATE_H_
#define CONSENTD_CORE_SUBJECT_STATE_H_

#include <cstdint>

#include "absl/container/inlined_vector.h"
#include "absl/time/time.h"
#include "core/policy_catalog.h"

namespace consentd {

// The standing choice for one category.
struct CategoryChoice {
  CategoryKey category = 0;
  bool granted = false;
  // Seq of the policy the choice was made under (see PublishedPolicy::seq).
  int64_t policy_seq = 0;
  // When the decision that made this choice was recorded.
  absl::Time decided_at;
};

// A value type; a subject never seen has version 0 and no choices.
struct SubjectState {
  int64_t consent_version = 0;
  // The latest decision's policy seq and time (0 / InfinitePast when none).
  int64_t latest_policy_seq = 0;
  absl::Time latest_decided_at = absl::InfinitePast();
  absl::InlinedVector<CategoryChoice, 4> choices;

  const CategoryChoice* Find(CategoryKey category) const {
    for (const CategoryChoice& c : choices) {
      if (c.category == category) return &c;
    }
    return nullptr;
  }
};

}  // namespace consentd

#endif  // CONSENTD_CORE_SUBJECT_STATE_H_
