// libFuzzer target: the path and query of a request to hephyd's HTTP API,
// as it reads the route and the parameters. Bad input is an ApiError.
#include "api/api_request.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto text = hephy::Text(data, size);
  const auto question = text.find('?');
  try {
    hephy::ParseRoute(text.substr(0, question));
  } catch (const hephy::ApiError&) {
  }
  if (question == std::string_view::npos) return 0;
  try {
    const auto params = hephy::ParseQuery(text.substr(question + 1));
    hephy::ParseLimit(hephy::Param(params, "limit"));
  } catch (const hephy::ApiError&) {
  }
  try {
    hephy::ParseRepeatedQuery(text.substr(question + 1));
  } catch (const hephy::ApiError&) {
  }
  return 0;
}
