#include "githttp/receive_pack_notice.h"

#include "hephy/hook_protocol.h"
#include "util/disk_space.h"

namespace hephy {
namespace {

// Longer than any of the words SaysNoSpaceLeft looks for.
constexpr size_t kScanKept = 64;

}  // namespace

void ReceivePackNotice::FeedRequest(std::string_view bytes) {
  if (request_read_) return;
  request_start_.append(bytes.substr(0, 4 + hook::kMaxPayload));
  const int length = hook::PacketLength(request_start_);
  if (length < 0 || (length > 0 && length < 4)) {
    request_read_ = true;  // not a command list: leave the answer alone
    return;
  }
  if (request_start_.size() < static_cast<size_t>(length)) return;
  // "OLD NEW REF\0report-status side-band-64k ...": capabilities follow the NUL.
  const std::string_view first(request_start_.data(), static_cast<size_t>(length));
  const size_t nul = first.find('\0');
  sideband_ =
      nul != std::string_view::npos && first.find(" side-band", nul) != std::string_view::npos;
  request_read_ = true;
  request_start_.clear();
  request_start_.shrink_to_fit();
}

bool ReceivePackNotice::Forward(std::string_view bytes,
                                const std::function<bool(std::string_view)>& out) {
  if (!no_space_) {
    scan_.append(bytes);
    no_space_ = SaysNoSpaceLeft(scan_);
    if (scan_.size() > kScanKept) scan_.erase(0, scan_.size() - kScanKept);
  }
  if (!sideband_ || told_) return out(bytes);
  // Walk the packets to the answer's flush packet. A header split between
  // two reads is held back, so that the notice can still go before it.
  std::string data = std::move(held_);
  held_.clear();
  data.append(bytes);
  size_t at = 0;
  while (at < data.size()) {
    if (payload_left_ > 0) {
      const size_t n = std::min(payload_left_, data.size() - at);
      payload_left_ -= n;
      at += n;
      continue;
    }
    if (data.size() - at < 4) {
      held_ = data.substr(at);
      return out(std::string_view(data).substr(0, at));
    }
    const int length = hook::PacketLength(std::string_view(data).substr(at, 4));
    if (length < 0 || (length > 0 && length < 4)) {
      told_ = true;  // not packets: leave them alone
      return out(data);
    }
    if (length == 0) {
      told_ = true;
      if (!out(std::string_view(data).substr(0, at))) return false;
      if (no_space_ && !out(hook::Packet("\x02" + NoSpaceLeftMessage(data_dir_) + "\n"))) {
        return false;
      }
      return out(std::string_view(data).substr(at));
    }
    at += 4;
    payload_left_ = static_cast<size_t>(length) - 4;
  }
  return out(data);
}

}  // namespace hephy
