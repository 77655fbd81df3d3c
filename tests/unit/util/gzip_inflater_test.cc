#include "util/gzip_inflater.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <string>
#include <string_view>

#include "error_of.h"

namespace hephy {
namespace {

// `data` as one gzip member, the way git's and curl's zlib write it.
std::string Gzip(std::string_view data) {
  z_stream s{};
  EXPECT_EQ(deflateInit2(&s, Z_BEST_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY),
            Z_OK);
  std::string out(deflateBound(&s, data.size()), '\0');
  s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  s.avail_in = static_cast<uInt>(data.size());
  s.next_out = reinterpret_cast<Bytef*>(out.data());
  s.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&s, Z_FINISH), Z_STREAM_END);
  out.resize(s.total_out);
  deflateEnd(&s);
  return out;
}

// An upload-pack negotiation's worth of text: 300 KB of "want"/"have"
// lines, more than four chunks once decoded.
std::string Negotiation() {
  std::string text;
  for (int i = 0; text.size() < 300'000; ++i) {
    text += "0032have " + std::to_string(i * 2654435761u) +
            std::string(20, "0123456789abcdef"[i % 16]) + "\n";
  }
  return text;
}

struct Decoded {
  std::string bytes;
  size_t largest_chunk = 0;
};

// Feeds `gzip` in pieces of `step` bytes, then finishes.
Decoded Inflate(std::string_view gzip, size_t step, std::optional<uint64_t> limit = std::nullopt) {
  GzipInflater inflater(limit);
  Decoded d;
  const auto sink = [&](std::string_view chunk) {
    d.bytes += chunk;
    d.largest_chunk = std::max(d.largest_chunk, chunk.size());
  };
  for (size_t at = 0; at < gzip.size(); at += step) inflater.Feed(gzip.substr(at, step), sink);
  inflater.Finish();
  EXPECT_EQ(inflater.total_out(), d.bytes.size());
  return d;
}

TEST(GzipInflater, DecodesABodyFedByteByByte) {
  const std::string text = Negotiation();
  const Decoded d = Inflate(Gzip(text), 1);
  EXPECT_EQ(d.bytes, text);
  EXPECT_LE(d.largest_chunk, GzipInflater::kChunk);
}

TEST(GzipInflater, DecodesABodyFedAtOnceInChunksOfAtMost64KiB) {
  const std::string text = Negotiation();
  const Decoded d = Inflate(Gzip(text), 1 << 20);
  EXPECT_EQ(d.bytes, text);
  EXPECT_EQ(d.largest_chunk, GzipInflater::kChunk);
}

TEST(GzipInflater, DecodesAnEmptyBody) { EXPECT_EQ(Inflate(Gzip(""), 7).bytes, ""); }

TEST(GzipInflater, RefusesWhatIsNotGzip) {
  const std::string plain = "0032want 0123456789abcdef0123456789abcdef01234567\n";
  EXPECT_EQ(ErrorOf([&] { Inflate(plain, 4096); }),
            "request body is not valid gzip: incorrect header check");
}

TEST(GzipInflater, RefusesACorruptChecksum) {
  std::string gzip = Gzip(Negotiation());
  gzip[gzip.size() - 6] ^= 0x01;  // the CRC-32 of the trailer
  EXPECT_EQ(ErrorOf([&] { Inflate(gzip, 4096); }),
            "request body is not valid gzip: incorrect data check");
}

TEST(GzipInflater, RefusesCorruptCompressedData) {
  std::string gzip = Gzip(Negotiation());
  for (size_t i = 10; i < 40; ++i) gzip[i] = static_cast<char>(0xff);
  EXPECT_TRUE(
      ErrorOf([&] { Inflate(gzip, 4096); }).starts_with("request body is not valid gzip: "));
}

TEST(GzipInflater, RefusesATruncatedBodyAtItsEnd) {
  const std::string text = Negotiation();
  const std::string gzip = Gzip(text);
  GzipInflater inflater;
  std::string decoded;
  inflater.Feed(std::string_view(gzip).substr(0, gzip.size() - 4),
                [&](std::string_view chunk) { decoded += chunk; });
  EXPECT_EQ(decoded, text);  // everything but the length of the trailer came
  EXPECT_EQ(ErrorOf([&] { inflater.Finish(); }),
            "request body is not valid gzip: the stream ends early");
}

TEST(GzipInflater, RefusesAnEmptyBody) {
  GzipInflater inflater;
  EXPECT_EQ(ErrorOf([&] { inflater.Finish(); }),
            "request body is not valid gzip: the body is empty");
}

TEST(GzipInflater, RefusesDataAfterTheMember) {
  EXPECT_EQ(ErrorOf([&] { Inflate(Gzip("0000") + "x", 4096); }),
            "request body is not valid gzip: data after the end of the gzip stream");
  // A second member too: git writes one.
  EXPECT_EQ(ErrorOf([&] { Inflate(Gzip("0000") + Gzip("0000"), 1); }),
            "request body is not valid gzip: data after the end of the gzip stream");
}

TEST(GzipInflater, StopsABombAtTheLimitBeforeTheSinkSeesMore) {
  const std::string gzip = Gzip(std::string(1 << 20, '\0'));
  EXPECT_LT(gzip.size(), 2048u);
  GzipInflater inflater(64 * 1024);
  size_t seen = 0;
  EXPECT_EQ(
      ErrorOf([&] { inflater.Feed(gzip, [&](std::string_view chunk) { seen += chunk.size(); }); }),
      "request body larger than 65536 bytes once decompressed");
  EXPECT_LE(seen, 64u * 1024);
}

TEST(GzipInflater, TakesABodyOfExactlyTheLimit) {
  const std::string text(100'000, 'x');
  EXPECT_EQ(Inflate(Gzip(text), 333, text.size()).bytes, text);
  EXPECT_EQ(ErrorOf([&] { Inflate(Gzip(text), 333, text.size() - 1); }),
            "request body larger than 99999 bytes once decompressed");
}

}  // namespace
}  // namespace hephy
