#include "util/gzip_inflater.h"

#include <zlib.h>

#include <algorithm>
#include <string>

#include "hephy/error.h"

namespace hephy {
namespace {

[[noreturn]] void NotGzip(const std::string& reason) {
  throw Error("request body is not valid gzip: " + reason);
}

}  // namespace

GzipInflater::GzipInflater(std::optional<uint64_t> max_output)
    : stream_(std::make_unique<z_stream>()),
      out_(std::make_unique<unsigned char[]>(kChunk)),
      max_output_(max_output) {
  // 16 + MAX_WBITS: a gzip header and trailer, and nothing else (not the
  // zlib format, which Content-Encoding: deflate would be).
  if (inflateInit2(stream_.get(), 16 + MAX_WBITS) != Z_OK) {
    throw Error("cannot start a gzip decoder: " +
                std::string(stream_->msg != nullptr ? stream_->msg : "out of memory"));
  }
}

GzipInflater::~GzipInflater() { inflateEnd(stream_.get()); }

void GzipInflater::Feed(std::string_view in, const std::function<void(std::string_view)>& sink) {
  // zlib counts input in 32 bits.
  constexpr size_t kMaxPiece = size_t{1} << 30;
  do {
    FeedPiece(in.substr(0, kMaxPiece), sink);
    in.remove_prefix(std::min(in.size(), kMaxPiece));
  } while (!in.empty());
}

void GzipInflater::FeedPiece(std::string_view in,
                             const std::function<void(std::string_view)>& sink) {
  stream_->next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  stream_->avail_in = static_cast<uInt>(in.size());
  for (;;) {
    if (ended_) {
      // git writes one member; a second one, or anything else, is not what
      // the client meant to send.
      if (stream_->avail_in > 0) NotGzip("data after the end of the gzip stream");
      return;
    }
    stream_->next_out = out_.get();
    stream_->avail_out = kChunk;
    const int rc = inflate(stream_.get(), Z_NO_FLUSH);
    if (rc == Z_NEED_DICT) NotGzip("it needs a preset dictionary");
    if (rc == Z_DATA_ERROR || rc == Z_STREAM_ERROR || rc == Z_MEM_ERROR) {
      NotGzip(stream_->msg != nullptr ? stream_->msg
              : rc == Z_MEM_ERROR     ? "out of memory"
                                      : "corrupt");
    }
    const size_t produced = kChunk - stream_->avail_out;
    if (max_output_ && total_out_ + produced > *max_output_) {
      throw Error("request body larger than " + std::to_string(*max_output_) +
                  " bytes once decompressed");
    }
    total_out_ += produced;
    if (produced > 0) sink(std::string_view(reinterpret_cast<const char*>(out_.get()), produced));
    if (rc == Z_STREAM_END) {
      ended_ = true;
      continue;
    }
    // Z_BUF_ERROR: no progress possible until more input comes. Output space
    // left over means all input was consumed and nothing more is pending.
    if (rc == Z_BUF_ERROR || stream_->avail_out > 0) return;
  }
}

void GzipInflater::Finish() const {
  if (!ended_) {
    NotGzip(total_out_ == 0 && stream_->total_in == 0 ? "the body is empty"
                                                      : "the stream ends early");
  }
}

}  // namespace hephy
