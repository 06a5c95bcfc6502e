// One nftables transaction as plain C++ data, read from JavaScript on the main
// thread and encoded into netlink messages on a worker.
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "nft/expressions.h"

namespace bridgewall {

enum class BatchOp { kAdd, kCreate, kInsert, kReplace, kDelete, kFlush };

struct TableMessage {
  BatchOp op;
  uint32_t family;
  std::string name;
  uint32_t flags = 0;
};

struct ChainMessage {
  BatchOp op;
  uint32_t family;
  std::string table;
  std::string name;
  bool base = false;  // a base chain has a hook, a priority and a type
  uint32_t hook = 0;
  int32_t priority = 0;
  std::string type;
  bool has_policy = false;
  uint32_t policy = 0;
};

struct RuleMessage {
  BatchOp op;
  uint32_t family;
  std::string table;
  std::string chain;
  bool has_handle = false;    // the rule to delete or replace
  uint64_t handle = 0;
  bool has_position = false;  // insert before / add after this rule handle
  uint64_t position = 0;
  std::string exprs;  // packed, as ReadPackedExprs checked them
  bool has_comment = false;
  std::string comment;
  // NFTA_RULE_COMPAT: the protocol nft_compat extensions of the rule are checked
  // against (xt's proto and its inversion), as iptables-nft sends it.
  bool has_compat = false;
  uint32_t compat_proto = 0;
  uint32_t compat_flags = 0;
};

struct Verdict {
  int32_t code;
  std::string chain;
};

// What a set is, in a batch and when read back.
struct SetFields {
  std::string name;
  uint32_t flags = 0;
  uint32_t key_type = 0;
  uint32_t key_len = 0;
  bool has_data = false;
  uint32_t data_type = 0;
  uint32_t data_len = 0;
  bool has_comment = false;
  std::string comment;
  // Declared with a counter expression (nft's `counter` in a set): every element gets its own.
  bool counter = false;
};

// Elements travel as packed bytes, in a batch and when read back: `count`
// keys of the set's key length, and for data maps `count` values of its data
// length; verdict maps list verdicts. Elements of interval sets with a
// concatenated key also have `count` closing keys (NFTA_SET_ELEM_KEY_END), as nft
// writes ranges there.
struct PackedElements {
  size_t count = 0;
  std::string keys;
  std::string key_ends;
  std::string data;
  std::vector<Verdict> verdicts;
  // Read back only, for a set declared with a counter: packets then bytes of each element, big endian.
  std::vector<uint64_t> counters;
};

struct SetMessage : SetFields {
  BatchOp op = BatchOp::kAdd;
  uint32_t family = 0;
  std::string table;
  uint32_t id = 0;
  bool has_policy = false;
  uint32_t policy = 0;
  // nft's byte order hints (1 host, 2 big endian) so `nft list` prints keys right; 0 = none.
  uint32_t key_byteorder = 0;
  uint32_t data_byteorder = 0;
  // NFTA_SET_DESC_CONCAT: the byte length of each field of a concatenated key,
  // which an interval set needs (nft sends it for `flags interval`); empty: none.
  std::vector<uint8_t> concat;
};

struct ElementsMessage : PackedElements {
  BatchOp op = BatchOp::kAdd;
  uint32_t family = 0;
  std::string table;
  std::string set;
  uint32_t key_len = 0;
  uint32_t data_len = 0;
};

using BatchMessage = std::variant<TableMessage, ChainMessage, RuleMessage, SetMessage, ElementsMessage>;

struct Batch {
  std::vector<BatchMessage> messages;
  bool has_generation = false;  // commit only if the ruleset is still at this generation
  uint32_t generation = 0;
};

Batch ReadBatch(const Napi::Array& messages, const Napi::Value& generation);

// Rules one table's consecutive messages add (add, create, insert): the
// kernel gives each a handle from the table's counter as it reads the
// message, so the handles of a segment run from its first rule's to its last
// rule's, one each, unless something else took one in between. Only the first
// and last are echoed (NLM_F_ECHO); the commit checks that the span matches.
struct RuleSegment {
  std::vector<long> objects;  // batch objects, in message order
  uint32_t first_seq = 0;
  uint32_t last_seq = 0;
};

// The encoded transaction and, for every netlink message in it, the index of
// the batch object it came from (element lists span several messages).
struct EncodedBatch {
  std::vector<char> bytes;
  uint32_t first_seq = 0;
  std::vector<long> object_of_message;  // by seq - first_seq
  std::vector<RuleSegment> rule_segments;
};

// Encodes begin, messages and end with consecutive sequence numbers from
// `first_seq`; object_of_message.size() + 2 numbers are used.
EncodedBatch EncodeBatch(const Batch& batch, uint32_t first_seq);

}  // namespace bridgewall
