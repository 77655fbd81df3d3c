// A temporary directory for one test, removed with everything in it at the
// end (kept when HEPHY_KEEP_TEST_DIRS is set, for debugging).
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>

namespace hephy {

class TestDir {
 public:
  TestDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "hephy-test-XXXXXX").string();
    path_ = mkdtemp(pattern.data());
  }
  ~TestDir() {
    if (std::getenv("HEPHY_KEEP_TEST_DIRS") == nullptr) {
      std::error_code ec;
      std::filesystem::remove_all(path_, ec);
    }
  }
  TestDir(const TestDir&) = delete;
  TestDir& operator=(const TestDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace hephy
