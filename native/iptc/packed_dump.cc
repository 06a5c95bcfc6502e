#include "iptc/packed_dump.h"

#include <variant>

#include "iptc/packed_codes.h"

namespace bridgewall::iptc {

namespace {

// A rule's record takes fewer bytes than its entry and a few dozen, so the
// estimate holds every dump but those of huge chain names; pages reserved but
// never written cost nothing.
constexpr size_t kRuleBytes = 64;
constexpr size_t kTableBytes = 4096;

template <typename Code>
uint8_t CodeOf(Code code) {
  return static_cast<uint8_t>(code);
}

void WritePorts(ByteWriter& out, const PortRange& ports) {
  out.U16(ports.first);
  out.U16(ports.last);
}

void WriteAddress(ByteWriter& out, const Address& address, size_t length) {
  out.U8(static_cast<uint8_t>(length));
  out.Bytes(address.data(), length);
}

struct MatchWriter {
  ByteWriter& out;

  void operator()(const PortMatch& match) const {
    constexpr MatchCode kCodes[] = {MatchCode::kTcp, MatchCode::kUdp, MatchCode::kSctp};
    out.U8(CodeOf(kCodes[static_cast<size_t>(match.protocol)]));
    out.U8((match.source ? kPortSource : 0) | (match.destination ? kPortDestination : 0) |
           (match.source_negated ? kPortSourceNegated : 0) | (match.destination_negated ? kPortDestinationNegated : 0));
    if (match.source) WritePorts(out, *match.source);
    if (match.destination) WritePorts(out, *match.destination);
  }
  void operator()(const AddrtypeMatch& match) const {
    out.U8(CodeOf(MatchCode::kAddrtype));
    out.U16(match.source_types);
    out.U16(match.destination_types);
    out.U8((match.source_negated ? kAddrtypeSourceNegated : 0) |
           (match.destination_negated ? kAddrtypeDestinationNegated : 0));
  }
  void operator()(const ConntrackMatch& match) const {
    out.U8(CodeOf(MatchCode::kConntrack));
    out.U16(match.states);
    out.U8(match.negated ? 1 : 0);
  }
  void operator()(const MarkMatch& match) const {
    out.U8(CodeOf(MatchCode::kMark));
    out.U32(match.mark);
    out.U32(match.mask);
    out.U8(match.negated ? 1 : 0);
  }
  void operator()(const CommentMatch& match) const {
    out.U8(CodeOf(MatchCode::kComment));
    out.Text(match.comment);
  }
  void operator()(const UnsupportedMatch& match) const {
    out.U8(CodeOf(MatchCode::kUnsupported));
    out.Text(match.name);
    out.U8(match.revision);
  }
};

struct TargetWriter {
  ByteWriter& out;
  size_t address_length;

  void operator()(const VerdictTarget& target) const {
    constexpr TargetCode kCodes[] = {TargetCode::kAccept, TargetCode::kDrop, TargetCode::kReturn};
    out.U8(CodeOf(kCodes[static_cast<size_t>(target.verdict)]));
  }
  void operator()(const JumpTarget& target) const {
    out.U8(CodeOf(TargetCode::kJump));
    out.Text(target.chain);
    out.U8(target.go_to ? 1 : 0);
  }
  void operator()(const NatTarget& target) const {
    out.U8(CodeOf(target.kind == NatKind::kDestination ? TargetCode::kDnat : TargetCode::kSnat));
    out.U8((target.address ? kNatAddress : 0) | (target.ports ? kNatPorts : 0));
    if (target.address) WriteAddress(out, *target.address, address_length);
    if (target.ports) WritePorts(out, *target.ports);
  }
  void operator()(const MasqueradeTarget& target) const {
    out.U8(CodeOf(TargetCode::kMasquerade));
    out.U8(target.ports ? kNatPorts : 0);
    if (target.ports) WritePorts(out, *target.ports);
  }
  void operator()(const UnsupportedTarget& target) const {
    out.U8(CodeOf(TargetCode::kUnsupported));
    out.Text(target.name);
    out.U8(target.revision);
  }
};

}  // namespace

void WriteMatchRecord(ByteWriter& out, const Match& match) { std::visit(MatchWriter{out}, match); }

void WriteTargetRecord(ByteWriter& out, const Target& target, size_t address_length) {
  std::visit(TargetWriter{out, address_length}, target);
}

DumpWriter::DumpWriter(size_t address_length, size_t rules, size_t entry_bytes)
    : out_(kTableBytes + rules * kRuleBytes + 2 * entry_bytes), address_length_(address_length) {
  out_.U32(0);
}

void DumpWriter::Chain(const char* name, const char* policy, uint64_t packets, uint64_t bytes) {
  EndChain();
  ++chains_;
  out_.Text(name);
  out_.U8(policy != nullptr ? 1 : 0);
  if (policy != nullptr) out_.Text(policy);
  out_.U64(packets);
  out_.U64(bytes);
  rule_count_at_ = out_.size();
  out_.U32(0);
}

uint8_t* DumpWriter::Rule(uint64_t packets, uint64_t bytes, const void* entry, uint16_t size) {
  ++rules_;
  out_.U64(packets);
  out_.U64(bytes);
  out_.U32(size);
  size_t at = out_.size();
  out_.Bytes(entry, size);
  return out_.At(at);
}

void DumpWriter::RuleRecord(const iptc::Rule& rule) {
  WriteTargetRecord(out_, rule.target, address_length_);
  uint8_t present = 0;
  uint8_t negated = 0;
  auto part = [&](bool has, bool is_negated, uint8_t bit) {
    if (has) present |= bit;
    if (has && is_negated) negated |= bit;
  };
  part(rule.source.has_value(), rule.source && rule.source->negated, kRuleSource);
  part(rule.destination.has_value(), rule.destination && rule.destination->negated, kRuleDestination);
  part(rule.in_interface.has_value(), rule.in_interface && rule.in_interface->negated, kRuleInInterface);
  part(rule.out_interface.has_value(), rule.out_interface && rule.out_interface->negated, kRuleOutInterface);
  part(rule.protocol.has_value(), rule.protocol && rule.protocol->negated, kRuleProtocol);
  out_.U8(present);
  out_.U8(negated);
  for (const auto* match : {&rule.source, &rule.destination}) {
    if (!*match) continue;
    WriteAddress(out_, (*match)->address, address_length_);
    out_.Bytes((*match)->mask.data(), address_length_);
  }
  if (rule.in_interface) out_.Text(rule.in_interface->name);
  if (rule.out_interface) out_.Text(rule.out_interface->name);
  if (rule.protocol) out_.U16(rule.protocol->number);
  out_.U32(static_cast<uint32_t>(rule.matches.size()));
  for (const Match& match : rule.matches) WriteMatchRecord(out_, match);
}

PackedDump DumpWriter::Finish(const std::string& fingerprint) {
  EndChain();
  out_.SetU32(0, chains_);
  out_.Text(fingerprint);
  return out_.Finish();
}

void DumpWriter::EndChain() {
  if (chains_ > 0) out_.SetU32(rule_count_at_, rules_);
  rules_ = 0;
}

}  // namespace bridgewall::iptc
