// The web page's stylesheet and script, embedded in hephyd when it is built
// (cmake/embed_assets.cmake reads daemon/web/assets/): nothing is fetched
// from elsewhere, and the page works offline. Each is served at
// /assets/HASH/NAME, HASH from its content, so that its URL changes with it
// and browsers may keep it for a year.
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace hephy {

struct WebAsset {
  std::string_view name;          // "style.css"
  std::string_view content_type;  // "text/css; charset=utf-8"
  std::string_view hash;          // 16 hex digits of the content's SHA-256
  std::string_view bytes;
};

// Every embedded asset (defined in the generated web_assets_data.cc).
std::span<const WebAsset> WebAssets();

// "/assets/HASH/NAME" of the asset `name`. Throws Error for an unknown name.
std::string AssetPath(std::string_view name);

// The asset at `path` ("/assets/HASH/NAME"), or nullptr: an unknown name,
// or a hash that is not the asset's (an old page asking for an older one).
const WebAsset* FindAsset(std::string_view path);

}  // namespace hephy
