// Decodes a gzip-encoded HTTP request body (Content-Encoding: gzip, as git
// sends large upload-pack negotiations) as it arrives, in bounded memory: the
// decoded bytes are handed on in chunks of at most kChunk, never gathered
// here, and an optional limit stops a small body that decodes to gigabytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>

// zlib's stream state, kept out of this header.
struct z_stream_s;

namespace hephy {

class GzipInflater {
 public:
  // The largest piece one call of a sink receives.
  static constexpr size_t kChunk = 64 * 1024;

  // `max_output`: the most bytes the body may decode to; none without it.
  explicit GzipInflater(std::optional<uint64_t> max_output = std::nullopt);
  ~GzipInflater();
  GzipInflater(const GzipInflater&) = delete;
  GzipInflater& operator=(const GzipInflater&) = delete;

  // Decodes `in`, the next compressed bytes, calling `sink` with what they
  // decode to, in order. One gzip member is a body: bytes after its end are
  // an error. Throws Error "request body is not valid gzip: REASON", or
  // "request body larger than N bytes once decompressed" before a sink
  // would see byte N+1. After a throw the inflater is of no further use.
  void Feed(std::string_view in, const std::function<void(std::string_view)>& sink);

  // The body has ended: throws Error "request body is not valid gzip: ..."
  // unless the gzip member (with its checksum) ended with it.
  void Finish() const;

  // Bytes decoded so far.
  uint64_t total_out() const { return total_out_; }

 private:
  void FeedPiece(std::string_view in, const std::function<void(std::string_view)>& sink);

  std::unique_ptr<z_stream_s> stream_;
  std::unique_ptr<unsigned char[]> out_;
  std::optional<uint64_t> max_output_;
  uint64_t total_out_ = 0;
  bool ended_ = false;
};

}  // namespace hephy
