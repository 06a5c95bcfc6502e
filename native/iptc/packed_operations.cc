#include "iptc/packed_operations.h"

// After libiptc's headers (iptc/family.h), which bring linux/if.h.
#include "iptc/family.h"

#include <linux/netfilter/x_tables.h>
#include <linux/netfilter/xt_comment.h>
#include <net/if.h>

#include <cerrno>
#include <cstring>
#include <iterator>

#include "byte_reader.h"
#include "error.h"
#include "iptc/packed_codes.h"

namespace bridgewall::iptc {

namespace {

// iptables' own limits: user chains (so a jump's target name holds them
// whole), interface names and comments, each without its NUL.
constexpr size_t kMaxChainBytes = XT_EXTENSION_MAXNAMELEN - 1;
constexpr size_t kMaxInterfaceBytes = IFNAMSIZ - 1;
constexpr size_t kMaxCommentBytes = XT_MAX_COMMENT_LEN - 1;

// The codes of the layout, each the index of its value plus one.
constexpr Operation::Kind kOperationCodes[] = {
    Operation::Kind::kNewChain, Operation::Kind::kFlushChain, Operation::Kind::kDeleteChain,
    Operation::Kind::kSetPolicy, Operation::Kind::kAppend,    Operation::Kind::kInsert,
    Operation::Kind::kReplace,  Operation::Kind::kDeleteAt,   Operation::Kind::kDeleteRule,
};

[[noreturn]] void Malformed(const std::string& message) { throw MalformedBytes(message); }

// Reads the records of one change's operations (see src/native/iptc.ts).
class OperationReader {
 public:
  OperationReader(ByteReader& in, size_t address_length) : in_(in), address_length_(address_length) {}

  // Each kind of operation with the fields it needs, so none is left at a
  // default that would mean something (an empty rule accepts every packet).
  // Every field its kind uses is set, so nothing of the operation before remains.
  void Read(Operation& op) {
    using Kind = Operation::Kind;
    uint8_t code = in_.U8("the operation code");
    if (code == 0 || code > std::size(kOperationCodes)) Malformed("unknown operation code " + std::to_string(code));
    op.kind = kOperationCodes[code - 1];
    op.chain = Name("the chain", kMaxChainBytes);
    op.policy = op.kind == Kind::kSetPolicy ? Policy() : Verdict::kAccept;
    bool indexed = op.kind == Kind::kInsert || op.kind == Kind::kReplace || op.kind == Kind::kDeleteAt;
    op.index = indexed ? in_.U32("the rule index") : 0;
    if (op.kind == Kind::kAppend || op.kind == Kind::kInsert || op.kind == Kind::kReplace || op.kind == Kind::kDeleteRule) {
      ReadRule(op.rule);
    }
  }

 private:
  // A string the kernel keeps NUL-terminated in `max_bytes` bytes and the NUL:
  // a longer one would be cut or overflow, an embedded NUL cut it short unseen.
  std::string Text(const char* what, size_t max_bytes) {
    size_t length = in_.U8(what);
    if (length > max_bytes) {
      Malformed(std::string(what) + " has " + std::to_string(length) + " bytes, more than " + std::to_string(max_bytes));
    }
    const char* bytes = reinterpret_cast<const char*>(in_.Take(length, what));
    if (std::memchr(bytes, '\0', length) != nullptr) Malformed(std::string(what) + " holds a NUL");
    return std::string(bytes, length);
  }

  // A non-empty Text: the name of a chain.
  std::string Name(const char* what, size_t max_bytes) {
    std::string name = Text(what, max_bytes);
    if (name.empty()) Malformed(std::string(what) + " is empty");
    return name;
  }

  bool Flag(const char* what) {
    uint8_t value = in_.U8(what);
    if (value > 1) Malformed(std::string(what) + " is " + std::to_string(value) + ", not 0 or 1");
    return value == 1;
  }

  // A bit set holding no bits but `known`.
  uint8_t Bits(const char* what, uint8_t known) {
    uint8_t bits = in_.U8(what);
    if ((bits & ~known) != 0) Malformed(std::string(what) + " has unknown bits " + std::to_string(bits & ~known));
    return bits;
  }

  // A built-in chain's policy is a verdict, but only these two.
  Verdict Policy() {
    uint8_t code = in_.U8("the policy");
    if (code == static_cast<uint8_t>(TargetCode::kAccept)) return Verdict::kAccept;
    if (code == static_cast<uint8_t>(TargetCode::kDrop)) return Verdict::kDrop;
    Malformed("the policy code " + std::to_string(code) + " is neither ACCEPT nor DROP");
  }

  // Exactly the family's length: a 4-byte address in an IPv6 rule, or the
  // first 4 bytes of an IPv6 address in an IPv4 one, would match another address.
  size_t AddressLength(const char* what) {
    size_t length = in_.U8(what);
    if (length != address_length_) {
      Malformed(std::string(what) + " has " + std::to_string(length) + " bytes where the family's have " +
                std::to_string(address_length_));
    }
    return length;
  }

  Address AddressBytes(const char* what) {
    Address address{};
    std::memcpy(address.data(), in_.Take(address_length_, what), address_length_);
    return address;
  }

  // A u16 in the layout, as the entry holds it, but iptables names no protocol past 255.
  uint16_t Protocol() {
    uint16_t number = in_.U16("the protocol");
    if (number > UINT8_MAX) Malformed("the protocol " + std::to_string(number) + " is above 255");
    return number;
  }

  // A range running backwards matches nothing.
  PortRange Ports(const char* what) {
    PortRange range{in_.U16(what), in_.U16(what)};
    if (range.first > range.last) {
      Malformed(std::string(what) + " run backwards, from " + std::to_string(range.first) + " to " +
                std::to_string(range.last));
    }
    return range;
  }

  std::optional<AddressMatch> ReadAddressMatch(uint8_t present, uint8_t negated, uint8_t bit, const char* what) {
    if (!(present & bit)) return std::nullopt;
    AddressLength(what);
    AddressMatch match{AddressBytes(what), AddressBytes(what), (negated & bit) != 0};
    return match;
  }

  // Empty only in rules read back (`! -i ""` is no rule iptables writes),
  // which may be written again as they are.
  std::optional<InterfaceMatch> ReadInterface(uint8_t present, uint8_t negated, uint8_t bit, const char* what) {
    if (!(present & bit)) return std::nullopt;
    return InterfaceMatch{Text(what, kMaxInterfaceBytes), (negated & bit) != 0};
  }

  // Into `rule`, reusing its list of matches.
  void ReadRule(Rule& rule) {
    constexpr uint8_t kParts = kRuleSource | kRuleDestination | kRuleInInterface | kRuleOutInterface | kRuleProtocol;
    rule.target = ReadTarget();
    uint8_t present = Bits("the rule's parts", kParts);
    uint8_t negated = Bits("the rule's negated parts", kParts);
    if ((negated & ~present) != 0) Malformed("the rule negates parts it does not have");
    rule.source = ReadAddressMatch(present, negated, kRuleSource, "the source");
    rule.destination = ReadAddressMatch(present, negated, kRuleDestination, "the destination");
    rule.in_interface = ReadInterface(present, negated, kRuleInInterface, "the in-interface");
    rule.out_interface = ReadInterface(present, negated, kRuleOutInterface, "the out-interface");
    rule.protocol.reset();
    if (present & kRuleProtocol) rule.protocol = ProtocolMatch{Protocol(), (negated & kRuleProtocol) != 0};
    // Not reserved: a count past the end fails on reading the first match that is not there.
    uint32_t count = in_.U32("the match count");
    rule.matches.clear();
    for (uint32_t i = 0; i < count; ++i) rule.matches.push_back(ReadMatch());
  }

  Match ReadMatch() {
    uint8_t code = in_.U8("the match code");
    switch (static_cast<MatchCode>(code)) {
      case MatchCode::kTcp: return ReadPortMatch(PortProtocol::kTcp);
      case MatchCode::kUdp: return ReadPortMatch(PortProtocol::kUdp);
      case MatchCode::kSctp: return ReadPortMatch(PortProtocol::kSctp);
      case MatchCode::kAddrtype: {
        AddrtypeMatch match;
        match.source_types = in_.U16("the addrtype source types");
        match.destination_types = in_.U16("the addrtype destination types");
        uint8_t negated = Bits("the addrtype negations", kAddrtypeSourceNegated | kAddrtypeDestinationNegated);
        match.source_negated = (negated & kAddrtypeSourceNegated) != 0;
        match.destination_negated = (negated & kAddrtypeDestinationNegated) != 0;
        return match;
      }
      case MatchCode::kConntrack: {
        uint16_t states = in_.U16("the conntrack states");
        return ConntrackMatch{states, Flag("the conntrack negation")};
      }
      case MatchCode::kMark: {
        uint32_t mark = in_.U32("the mark");
        uint32_t mask = in_.U32("the mark mask");
        return MarkMatch{mark, mask, Flag("the mark negation")};
      }
      case MatchCode::kComment: return CommentMatch{Text("the comment", kMaxCommentBytes)};
      case MatchCode::kUnsupported: break;  // read back only, never written
    }
    Malformed("unknown match code " + std::to_string(code));
  }

  PortMatch ReadPortMatch(PortProtocol protocol) {
    constexpr uint8_t kFields = kPortSource | kPortDestination | kPortSourceNegated | kPortDestinationNegated;
    uint8_t fields = Bits("the port match's fields", kFields);
    PortMatch match;
    match.protocol = protocol;
    if (fields & kPortSource) match.source = Ports("the source ports");
    if (fields & kPortDestination) match.destination = Ports("the destination ports");
    match.source_negated = (fields & kPortSourceNegated) != 0;
    match.destination_negated = (fields & kPortDestinationNegated) != 0;
    return match;
  }

  Target ReadTarget() {
    uint8_t code = in_.U8("the target code");
    switch (static_cast<TargetCode>(code)) {
      case TargetCode::kAccept: return VerdictTarget{Verdict::kAccept};
      case TargetCode::kDrop: return VerdictTarget{Verdict::kDrop};
      case TargetCode::kReturn: return VerdictTarget{Verdict::kReturn};
      case TargetCode::kJump: {
        std::string chain = Name("the jump's chain", kMaxChainBytes);
        return JumpTarget{std::move(chain), Flag("the jump's goto")};
      }
      case TargetCode::kDnat:
      case TargetCode::kSnat: {
        NatTarget target;
        target.kind = code == static_cast<uint8_t>(TargetCode::kDnat) ? NatKind::kDestination : NatKind::kSource;
        uint8_t fields = Bits("the NAT target's fields", kNatAddress | kNatPorts);
        if (fields & kNatAddress) {
          AddressLength("the NAT address");
          target.address = AddressBytes("the NAT address");
        }
        if (fields & kNatPorts) target.ports = Ports("the NAT ports");
        return target;
      }
      case TargetCode::kMasquerade: {
        MasqueradeTarget target;
        if (Bits("the MASQUERADE target's fields", kNatPorts) & kNatPorts) target.ports = Ports("the MASQUERADE ports");
        return target;
      }
      case TargetCode::kUnsupported: break;  // read back only, never written
    }
    Malformed("unknown target code " + std::to_string(code));
  }

  ByteReader& in_;
  size_t address_length_;
};

}  // namespace

OperationCursor::OperationCursor(const TableChange& change, size_t position, long first_index, const char* operation)
    : in_(reinterpret_cast<const uint8_t*>(change.operations.data()), change.operations.size()),
      address_length_(change.ip_version == IpVersion::kIpv4 ? Ipv4::kAddressLength : Ipv6::kAddressLength),
      field_("changes[" + std::to_string(position) + "].operations"),
      operation_(operation),
      first_index_(first_index) {
  try {
    count_ = in_.U32("the operation count");
  } catch (const MalformedBytes& error) {
    Fail(EINVAL, operation_, field_ + ": " + error.what());
  }
}

bool OperationCursor::Next(Operation& op) {
  if (read_ == count_) {
    if (in_.remaining() != 0) {
      Fail(EINVAL, operation_, field_ + ": " + std::to_string(in_.remaining()) + " bytes after the last of " +
                                   std::to_string(count_) + " operations");
    }
    return false;
  }
  ++read_;
  try {
    OperationReader(in_, address_length_).Read(op);
  } catch (const MalformedBytes& error) {
    Fail(EINVAL, operation_, field_ + "[" + std::to_string(read_ - 1) + "]: " + error.what(), index());
  }
  return true;
}

void CheckOperations(const Transaction& transaction) {
  Operation op;
  long first_index = 0;
  for (size_t i = 0; i < transaction.tables.size(); ++i) {
    OperationCursor operations(transaction.tables[i], i, first_index);
    while (operations.Next(op)) {
    }
    first_index = operations.end_index();
  }
}

}  // namespace bridgewall::iptc
