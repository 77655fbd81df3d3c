// libFuzzer target: the lines of a container's log as the Kubernetes API
// streams them with timestamps (the text after each is the pusher's
// Dockerfile's to choose), across reopened streams: a form feed in the
// input starts the next stream.
#include <string>

#include "executors/kube_log_resume.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view rest = hephy::Text(data, size);
  hephy::KubeLogResume resume;
  resume.NextStream();
  while (!rest.empty()) {
    const size_t end = rest.find_first_of("\n\f");
    const std::string line(rest.substr(0, end));
    resume.Take(line);
    if (end == std::string_view::npos) break;
    if (rest[end] == '\f') resume.NextStream();
    rest.remove_prefix(end + 1);
  }
  return 0;
}
