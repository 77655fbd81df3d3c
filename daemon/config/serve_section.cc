// serve: how `hephyd serve` drains on shutdown and when it refuses pushes.
#include "config/config_sections.h"

namespace hephy {

void ReadServeSection(const ConfigReader& r, Node node, Key key, ServeConfig& serve) {
  r.Map(node, key,
        {{"drain_timeout",
          [&](Node v, Key vk) { serve.drain_timeout = r.Duration(v, vk, "stop at once"); }},
         {"min_free_space", [&](Node v, Key vk) {
            const std::string text = r.Scalar(v, vk);
            serve.min_free_space = r.Size(
                v, vk, text, "kmgt",
                "expected 0 (never refuse) or a size such as 512m or 2g, got '" + text + "'");
          }}});
}

}  // namespace hephy
