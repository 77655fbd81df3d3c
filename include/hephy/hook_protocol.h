// The conversation between hephy-hook (git's pre-receive hook) and hephyd,
// over a Unix socket. Framing is git's pkt-line, defined here once: four hex
// digits giving the packet's length (the four included), then the payload;
// "0000" is a flush packet, which ends a request.
//
// Request (hook -> hephyd), one packet each, then a flush:
//   "app NAME", "user NAME", "key FINGERPRINT", "push-id ID",
//   "env NAME=VALUE" (GIT_QUARANTINE_PATH, GIT_OBJECT_DIRECTORY,
//   GIT_ALTERNATE_OBJECT_DIRECTORIES), "option TEXT" (each push option),
//   "update OLD NEW REF" (each ref update, as git gives them on stdin).
// `hephyd rebuild` sends the same kind of request over the same socket, with
// "trigger manual" and one "unit NAME" packet per unit asked for (none: every
// unit) instead of ref updates; the response is the same. `hephyd prune`
// sends "trigger prune", the caller as "user" and its flags as "option"s.
// Response (hephyd -> hook), streamed as it happens:
//   "line TEXT" (shown to the pusher), and last "status N" (the exit code).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace hephy::hook {

// The largest payload one packet carries (git's limit).
constexpr size_t kMaxPayload = 65516;

// One packet; payloads longer than kMaxPayload are cut.
std::string Packet(std::string_view payload);
// The length a packet's four-digit header gives, the header included (0 for
// a flush packet); -1 when they are not hex digits.
int PacketLength(std::string_view header);
inline constexpr std::string_view kFlush = "0000";

// Reads packets from a blocking descriptor.
class PacketReader {
 public:
  explicit PacketReader(int fd) : fd_(fd) {}
  // The next packet's payload; an empty optional for a flush packet. Throws
  // std::runtime_error on end of stream or a malformed header.
  std::optional<std::string> Next();

 private:
  bool Fill(size_t wanted);
  int fd_;
  std::string buffer_;
};

// Writes all of `bytes`; false when the peer is gone.
bool WriteAll(int fd, std::string_view bytes);

}  // namespace hephy::hook
