#include "push/push_commands.h"

#include "hephy/hook_protocol.h"

namespace hephy {
namespace {

bool IsObjectId(std::string_view id) {
  return (id.size() == 40 || id.size() == 64) &&
         id.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

}  // namespace

void PushCommandReader::Feed(std::string_view bytes) {
  if (state_ != State::kReading) return;
  buffer_.append(bytes);
  size_t at = 0;
  while (state_ == State::kReading && buffer_.size() - at >= 4) {
    const int length = hook::PacketLength(std::string_view(buffer_).substr(at, 4));
    if (length == 0) {
      state_ = State::kDone;
    } else if (length < 4) {
      state_ = State::kFailed;
    } else if (buffer_.size() - at < static_cast<size_t>(length)) {
      break;  // the rest of the packet is still to come
    } else {
      Parse(std::string_view(buffer_).substr(at + 4, length - 4));
      at += length;
    }
  }
  if (state_ != State::kReading) {
    buffer_.clear();
    buffer_.shrink_to_fit();
  } else {
    buffer_.erase(0, at);
  }
}

void PushCommandReader::Parse(std::string_view payload) {
  payload = payload.substr(0, payload.find('\0'));  // the first command carries capabilities
  if (payload.ends_with('\n')) payload.remove_suffix(1);
  if (payload.starts_with("shallow ")) return;
  const size_t first = payload.find(' ');
  const size_t second = first == std::string_view::npos ? first : payload.find(' ', first + 1);
  if (second == std::string_view::npos) {
    state_ = State::kFailed;  // push-cert, or not git at all
    return;
  }
  RefUpdate update{std::string(payload.substr(0, first)),
                   std::string(payload.substr(first + 1, second - first - 1)),
                   std::string(payload.substr(second + 1))};
  if (!IsObjectId(update.old_id) || !IsObjectId(update.new_id) || update.ref.empty()) {
    state_ = State::kFailed;
    return;
  }
  updates_.push_back(std::move(update));
}

std::optional<std::vector<RefUpdate>> PushCommandReader::Updates() const {
  if (state_ != State::kDone) return std::nullopt;
  return updates_;
}

}  // namespace hephy
