#include "hephy/executor.h"

#include "buildah_executor.h"
#include "hephy/error.h"

namespace hephy {

std::unique_ptr<Executor> MakeExecutor(const Config& config, BuildContexts* /*contexts*/) {
  if (config.builder.executor == "buildah") {
    return std::make_unique<BuildahExecutor>(config.builder.buildah, config.BuildsDir());
  }
  throw Error("builder.executor: '" + config.builder.executor +
              "' is not available in this version of hephyd (use buildah)");
}

}  // namespace hephy
