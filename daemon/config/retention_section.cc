// retention: how long build records and logs are kept, and how many dated
// images of each unit (daemon/build/pruner.h).
#include "config/config_sections.h"

namespace hephy {

void ReadRetentionSection(const ConfigReader& r, Node node, Key key, RetentionConfig& retention) {
  r.Map(node, key,
        {{"builds_days",
          [&](Node v, Key vk) {
            retention.builds_days = r.NonNegativeInt(v, vk, "age keeps no build");
          }},
         {"builds_keep",
          [&](Node v, Key vk) {
            retention.builds_keep = r.NonNegativeInt(v, vk, "the count keeps no build");
          }},
         {"images_keep",
          [&](Node v, Key vk) {
            retention.images_keep = r.NonNegativeInt(v, vk, "images are never pruned");
          }},
         {"daily", [&](Node v, Key vk) { retention.daily = r.Bool(v, vk); }}});
}

}  // namespace hephy
