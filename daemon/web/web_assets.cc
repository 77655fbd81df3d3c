#include "web/web_assets.h"

#include "hephy/error.h"

namespace hephy {

std::string AssetPath(std::string_view name) {
  for (const WebAsset& asset : WebAssets()) {
    if (asset.name == name) {
      return "/assets/" + std::string(asset.hash) + "/" + std::string(asset.name);
    }
  }
  throw Error("no embedded web asset '" + std::string(name) + "'");
}

const WebAsset* FindAsset(std::string_view path) {
  for (const WebAsset& asset : WebAssets()) {
    if (path == AssetPath(asset.name)) return &asset;
  }
  return nullptr;
}

}  // namespace hephy
