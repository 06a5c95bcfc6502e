// Reads the operations of a table change from the bytes src/iptc/encode.ts
// packs them in (the layout is described once, in src/native/iptc.ts), one
// at a time, on a worker thread. Every read is bounds-checked and every value
// checked against iptables' own limits, so a malformed buffer can only fail
// (EINVAL of iptc.transaction, naming the change and operation and carrying
// the operation's index counted across all changes), never be misread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "byte_reader.h"
#include "iptc/rule.h"

namespace bridgewall::iptc {

class OperationCursor {
 public:
  // `position`: the change's place in its transaction; `first_index`: the
  // transaction-wide index of its first operation; `operation`: the call
  // whose EINVAL a malformed operation is. Reads the count.
  OperationCursor(const TableChange& change, size_t position, long first_index,
                  const char* operation = "iptc.transaction");

  // Reads the next operation into `op`, reusing its storage. False once all
  // are read, after checking that no byte follows them.
  bool Next(Operation& op);

  // The transaction-wide index of the operation last read.
  long index() const { return first_index_ + static_cast<long>(read_) - 1; }
  // The transaction-wide index of the next change's first operation.
  long end_index() const { return first_index_ + static_cast<long>(count_); }

 private:
  ByteReader in_;
  size_t address_length_;
  std::string field_;
  const char* operation_;
  long first_index_;
  uint32_t count_ = 0;
  uint32_t read_ = 0;
};

// Reads every operation of `transaction`, so that a malformed one fails
// before the transaction takes the lock or changes any table.
void CheckOperations(const Transaction& transaction);

}  // namespace bridgewall::iptc
