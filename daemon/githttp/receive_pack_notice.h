// The full-disk notice of a push over HTTP. Over SSH hephyd says
// "hephyd: no space left on DATA_DIR (N MiB free)" on the channel's stderr
// when git ran out of space (index-pack's own words name a file; the pusher
// needs to know it is hephyd's disk). Smart HTTP has no stderr: the line goes
// in receive-pack's answer instead, as a packet of the sideband's progress
// band just before the answer's last flush packet, where git shows it as
// "remote: hephyd: ...". A client that asked for no sideband gets git's
// answer as it is.
#pragma once

#include <atomic>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

namespace hephy {

class ReceivePackNotice {
 public:
  explicit ReceivePackNotice(std::filesystem::path data_dir) : data_dir_(std::move(data_dir)) {}

  // The request's bytes, in order: its first packet says whether the client
  // takes a sideband. Cheap once that packet has passed. May be called on
  // another thread than Forward; git answers only once it has read that
  // packet.
  void FeedRequest(std::string_view bytes);

  // Passes git's answer on to `out`, in order, adding the notice before its
  // flush packet when the answer said the disk was full. False when `out`
  // was. A packet header split between reads waits for its second part.
  bool Forward(std::string_view bytes, const std::function<bool(std::string_view)>& out);

 private:
  std::filesystem::path data_dir_;
  std::string request_start_;  // the first packet, until it is whole
  bool request_read_ = false;
  // Set from the thread that feeds the request, read by the one forwarding.
  std::atomic<bool> sideband_ = false;

  std::string held_;  // a packet header of the answer, until it is whole
  size_t payload_left_ = 0;
  std::string scan_;  // the answer's last bytes, for words split across reads
  bool no_space_ = false;
  bool told_ = false;
};

}  // namespace hephy
