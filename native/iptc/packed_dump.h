// Writes a table as it is read into the bytes of the dump layout (described
// once, in src/native/iptc.ts), on the worker thread that reads it: chain by
// chain, rule by rule, with every rule's decoded record in the layout the
// operations use. It writes what it is given and decides nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "byte_writer.h"
#include "iptc/rule.h"

namespace bridgewall::iptc {

// The bytes of one table's dump, handed to JavaScript as they are.
using PackedDump = std::vector<uint8_t>;

// One match's record, and one target's, in the dump layout: also how the
// xt extensions that iptables-nft rules carry are handed back decoded
// (xt_extensions.h). `address_length` as DumpWriter's.
void WriteMatchRecord(ByteWriter& out, const Match& match);
void WriteTargetRecord(ByteWriter& out, const Target& target, size_t address_length);

class DumpWriter {
 public:
  // `address_length`: 4 for an ipv4 table, 16 for an ipv6 one; `rules` and
  // `entry_bytes`: how many rules the table has and the bytes of their
  // entries, so that the buffer is reserved once. Writes the chain count's place.
  DumpWriter(size_t address_length, size_t rules, size_t entry_bytes);

  // Starts a chain; `policy` is null for a user chain, whose counters are 0.
  void Chain(const char* name, const char* policy, uint64_t packets, uint64_t bytes);

  // Starts a rule of the current chain: its counters and a copy of its
  // `size` entry bytes, returned (valid until the next write) for the caller
  // to clear what is no part of the rule. Its record follows with RuleRecord.
  uint8_t* Rule(uint64_t packets, uint64_t bytes, const void* entry, uint16_t size);
  void RuleRecord(const iptc::Rule& rule);

  // Fills in the counts and appends the fingerprint.
  PackedDump Finish(const std::string& fingerprint);

 private:
  void EndChain();

  ByteWriter out_;
  size_t address_length_;
  uint32_t chains_ = 0;
  size_t rule_count_at_ = 0;
  uint32_t rules_ = 0;
};

}  // namespace bridgewall::iptc
