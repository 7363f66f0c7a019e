# Writes OUTPUT: a C++ file defining `absl::string_view consentd::FUNCTION()`
# that returns the contents of INPUT. Run with cmake -P at build time.
file(READ ${INPUT} text)
string(FIND "${text}" ")consentd_embed\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${INPUT} contains the embedding delimiter")
endif()
file(WRITE ${OUTPUT}.tmp "// Generated from ${INPUT} by cmake/embed_file.cmake.
#include \"${HEADER}\"

namespace consentd {

absl::string_view ${FUNCTION}() {
  static constexpr char kText[] = R\"consentd_embed(${text})consentd_embed\";
  return absl::string_view(kText, sizeof(kText) - 1);
}

}  // namespace consentd
")
file(COPY_FILE ${OUTPUT}.tmp ${OUTPUT} ONLY_IF_DIFFERENT)
