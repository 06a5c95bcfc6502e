// Plain C++ description of one iptables rule and of the operations of a
// transaction. JavaScript values are copied into these on the main thread (a
// transaction's operations as the bytes they are packed in, which workers
// read); worker threads see nothing else. Every
// value here was checked as it was read (js_values.cc, packed_operations.cc),
// so nothing is defaulted or checked again below this line.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace bridgewall::iptc {

enum class IpVersion { kIpv4, kIpv6 };

// Network byte order; IPv4 uses the first 4 bytes, as nf_inet_addr does.
using Address = std::array<uint8_t, 16>;

struct PortRange {
  uint16_t first = 0;
  uint16_t last = 0xFFFF;
};

struct AddressMatch {
  Address address{};
  Address mask{};
  bool negated = false;
};

struct InterfaceMatch {
  std::string name;  // a trailing '+' matches every interface with that prefix
  bool negated = false;
};

struct ProtocolMatch {
  uint16_t number = 0;
  bool negated = false;
};

enum class PortProtocol { kTcp, kUdp, kSctp };

struct PortMatch {
  PortProtocol protocol = PortProtocol::kTcp;
  std::optional<PortRange> source;
  bool source_negated = false;
  std::optional<PortRange> destination;
  bool destination_negated = false;
};

// Bit sets of (1 << RTN_*) as the addrtype match stores them.
struct AddrtypeMatch {
  uint16_t source_types = 0;
  bool source_negated = false;
  uint16_t destination_types = 0;
  bool destination_negated = false;
};

// Bit set of XT_CONNTRACK_STATE_* values.
struct ConntrackMatch {
  uint16_t states = 0;
  bool negated = false;
};

struct MarkMatch {
  uint32_t mark = 0;
  uint32_t mask = 0;
  bool negated = false;
};

struct CommentMatch {
  std::string comment;
};

// A match this library does not model, seen only when reading.
struct UnsupportedMatch {
  std::string name;
  uint8_t revision = 0;
};

using Match = std::variant<PortMatch, AddrtypeMatch, ConntrackMatch, MarkMatch, CommentMatch, UnsupportedMatch>;

enum class Verdict { kAccept, kDrop, kReturn };

struct VerdictTarget {
  Verdict verdict = Verdict::kAccept;
};

struct JumpTarget {
  std::string chain;
  bool go_to = false;  // -g: RETURN from the chain returns past the caller
};

enum class NatKind { kDestination, kSource };

struct NatTarget {
  NatKind kind = NatKind::kDestination;
  std::optional<Address> address;
  std::optional<PortRange> ports;
};

struct MasqueradeTarget {
  std::optional<PortRange> ports;
};

struct UnsupportedTarget {
  std::string name;
  uint8_t revision = 0;
};

using Target = std::variant<VerdictTarget, JumpTarget, NatTarget, MasqueradeTarget, UnsupportedTarget>;

struct Rule {
  std::optional<AddressMatch> source;
  std::optional<AddressMatch> destination;
  std::optional<InterfaceMatch> in_interface;
  std::optional<InterfaceMatch> out_interface;
  std::optional<ProtocolMatch> protocol;
  std::vector<Match> matches;
  Target target;
};

struct Operation {
  enum class Kind { kNewChain, kFlushChain, kDeleteChain, kSetPolicy, kAppend, kInsert, kReplace, kDeleteAt, kDeleteRule };
  Kind kind = Kind::kAppend;
  std::string chain;
  unsigned int index = 0;  // 0-based rule position for insert, replace and deleteAt
  Verdict policy = Verdict::kAccept;
  Rule rule;
};

// The bytes of a table change's operations, as src/native/iptc.ts lays them
// out: copied from JavaScript as they are, read one operation at a time on
// the worker (packed_operations.h).
using PackedOperations = std::string;

// The operations for one table, and the fingerprint of the table they were
// computed from: when the table no longer has it, the change is refused.
struct TableChange {
  IpVersion ip_version = IpVersion::kIpv4;
  std::string table;
  PackedOperations operations;
  std::optional<std::string> expected_fingerprint;
};

// Changes to several tables (of either family) committed all or nothing.
struct Transaction {
  std::vector<TableChange> tables;
  std::string lock_path;
  unsigned int lock_timeout_ms = 0;
};

}  // namespace bridgewall::iptc
