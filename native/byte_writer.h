// Appends little-endian integers, runs of bytes and short texts to a buffer
// that grows as needed: the writing half of byte_reader.h. A text longer than
// its u8 length can say throws std::length_error rather than be cut.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace bridgewall {

class ByteWriter {
 public:
  // `estimate`: the bytes expected, so that most writes never grow the buffer.
  explicit ByteWriter(size_t estimate) { bytes_.reserve(estimate); }

  // How many bytes are written: the offset of the next write.
  size_t size() const { return bytes_.size(); }

  void U8(uint8_t value) { bytes_.push_back(value); }
  void U16(uint16_t value) { Little(value, 2); }
  void U32(uint32_t value) { Little(value, 4); }
  void U64(uint64_t value) { Little(value, 8); }

  void Bytes(const void* data, size_t count) {
    const auto* bytes = static_cast<const uint8_t*>(data);
    bytes_.insert(bytes_.end(), bytes, bytes + count);
  }

  // A u8 byte length and the bytes of `text`.
  void Text(std::string_view text) {
    if (text.size() > UINT8_MAX) {
      throw std::length_error("a text of " + std::to_string(text.size()) + " bytes has no u8 length");
    }
    U8(static_cast<uint8_t>(text.size()));
    Bytes(text.data(), text.size());
  }

  // The bytes written from `offset` on, to change in place; valid until the next write.
  uint8_t* At(size_t offset) {
    if (offset > bytes_.size()) throw std::out_of_range("offset " + std::to_string(offset) + " is past the bytes written");
    return bytes_.data() + offset;
  }

  // Overwrites the u32 written at `offset`: a count known only once what follows it is written.
  void SetU32(size_t offset, uint32_t value) {
    for (size_t i = 0; i < 4; ++i) bytes_.at(offset + i) = static_cast<uint8_t>(value >> (8 * i));
  }

  std::vector<uint8_t> Finish() { return std::move(bytes_); }

 private:
  void Little(uint64_t value, size_t count) {
    for (size_t i = 0; i < count; ++i) bytes_.push_back(static_cast<uint8_t>(value >> (8 * i)));
  }

  std::vector<uint8_t> bytes_;
};

}  // namespace bridgewall
