// Replays the seed corpus and every regression input of the fuzz targets in
// the regular (non-fuzzing) build, so that what fuzzing once found stays
// fixed. Usage: fuzz_replay DIR... (each DIR named after its target).
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>

extern "C" int FuzzRequestValidation(const uint8_t* data, size_t size);
extern "C" int FuzzPolicyJson(const uint8_t* data, size_t size);
extern "C" int FuzzCookieMatcher(const uint8_t* data, size_t size);
extern "C" int FuzzConfigFiles(const uint8_t* data, size_t size);

int main(int argc, char** argv) {
  const std::map<std::string, int (*)(const uint8_t*, size_t)> targets = {
      {"request_validation", FuzzRequestValidation},
      {"policy_json", FuzzPolicyJson},
      {"cookie_matcher", FuzzCookieMatcher},
      {"config_files", FuzzConfigFiles}};
  int inputs = 0;
  for (int i = 1; i < argc; ++i) {
    const std::filesystem::path dir(argv[i]);
    auto target = targets.find(dir.filename().string());
    if (target == targets.end()) {
      std::cerr << "no fuzz target named " << dir.filename() << "\n";
      return 2;
    }
    if (!std::filesystem::exists(dir)) continue;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
      std::ifstream in(entry.path(), std::ios::binary);
      std::stringstream bytes;
      bytes << in.rdbuf();
      const std::string input = bytes.str();
      target->second(reinterpret_cast<const uint8_t*>(input.data()),
                     input.size());
      ++inputs;
    }
  }
  std::cout << "replayed " << inputs << " inputs\n";
  return inputs > 0 ? 0 : 1;
}
