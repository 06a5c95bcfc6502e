// Reads little-endian integers and runs of bytes from a buffer the caller
// owns, checking every read against its end: a read that would pass it
// throws MalformedBytes instead, naming what was being read and where. Which
// values are valid is the caller's business; it throws MalformedBytes too.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace bridgewall {

class MalformedBytes : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class ByteReader {
 public:
  ByteReader(const uint8_t* data, size_t size) : data_(data), size_(size) {}

  // The next `count` bytes, valid as long as the buffer is.
  const uint8_t* Take(size_t count, const char* what) {
    if (count > size_ - offset_) {
      throw MalformedBytes(std::string(what) + " needs " + std::to_string(count) + " bytes at offset " +
                           std::to_string(offset_) + ", where " + std::to_string(size_ - offset_) + " remain");
    }
    const uint8_t* bytes = data_ + offset_;
    offset_ += count;
    return bytes;
  }

  uint8_t U8(const char* what) { return *Take(1, what); }

  uint16_t U16(const char* what) {
    const uint8_t* bytes = Take(2, what);
    return static_cast<uint16_t>(bytes[0] | bytes[1] << 8);
  }

  uint32_t U32(const char* what) {
    const uint8_t* bytes = Take(4, what);
    return static_cast<uint32_t>(bytes[0]) | static_cast<uint32_t>(bytes[1]) << 8 |
           static_cast<uint32_t>(bytes[2]) << 16 | static_cast<uint32_t>(bytes[3]) << 24;
  }

  size_t remaining() const { return size_ - offset_; }

  // Where the next read starts, and the bytes from such a place: what a
  // reader has read since it took its offset is At(offset), offset() - offset long.
  size_t offset() const { return offset_; }
  const uint8_t* At(size_t offset) const { return data_ + offset; }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t offset_ = 0;
};

}  // namespace bridgewall
