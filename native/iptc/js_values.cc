#include "iptc/js_values.h"

// After libiptc's headers (iptc/family.h), which bring linux/if.h.
#include "iptc/family.h"

#include <linux/netfilter/x_tables.h>
#include <linux/netfilter/xt_comment.h>
#include <net/if.h>

#include <cstring>
#include <string_view>

#include "arguments.h"

namespace bridgewall::iptc {

namespace {

// iptables' own limits: user chains (so a jump's target name holds them
// whole), interface names and comments, each without its NUL.
constexpr size_t kMaxChainBytes = XT_EXTENSION_MAXNAMELEN - 1;
constexpr size_t kMaxInterfaceBytes = IFNAMSIZ - 1;
constexpr size_t kMaxCommentBytes = XT_MAX_COMMENT_LEN - 1;

// The tables of both families. Asked for any other, the kernel would try to
// load a module of that name.
constexpr std::string_view kTables[] = {"filter", "nat", "raw", "mangle", "security"};

// Maps the string tags of the private binding to enum values.
template <typename Enum, size_t N>
Enum FromTag(const Napi::Value& value, const std::pair<std::string_view, Enum> (&tags)[N], const char* field) {
  std::string tag = AsString(value, field);
  for (const auto& [name, result] : tags) {
    if (tag == name) return result;
  }
  throw Napi::TypeError::New(value.Env(), std::string("unknown ") + field + " " + tag);
}

template <typename Enum, size_t N>
const char* ToTag(Enum value, const std::pair<std::string_view, Enum> (&tags)[N]) {
  for (const auto& [name, tag_value] : tags) {
    if (tag_value == value) return name.data();
  }
  return "";
}

constexpr std::pair<std::string_view, IpVersion> kIpVersions[] = {
    {"ipv4", IpVersion::kIpv4},
    {"ipv6", IpVersion::kIpv6},
};

constexpr std::pair<std::string_view, Operation::Kind> kOperationKinds[] = {
    {"newChain", Operation::Kind::kNewChain},   {"flushChain", Operation::Kind::kFlushChain},
    {"deleteChain", Operation::Kind::kDeleteChain}, {"setPolicy", Operation::Kind::kSetPolicy},
    {"append", Operation::Kind::kAppend},       {"insert", Operation::Kind::kInsert},
    {"replace", Operation::Kind::kReplace},     {"deleteAt", Operation::Kind::kDeleteAt},
    {"deleteRule", Operation::Kind::kDeleteRule},
};

constexpr std::pair<std::string_view, Verdict> kVerdicts[] = {
    {"ACCEPT", Verdict::kAccept},
    {"DROP", Verdict::kDrop},
    {"RETURN", Verdict::kReturn},
};

// A built-in chain's policy is a verdict, but only these two.
constexpr std::pair<std::string_view, Verdict> kPolicies[] = {
    {"ACCEPT", Verdict::kAccept},
    {"DROP", Verdict::kDrop},
};

constexpr std::pair<std::string_view, PortProtocol> kPortProtocols[] = {
    {"tcp", PortProtocol::kTcp},
    {"udp", PortProtocol::kUdp},
    {"sctp", PortProtocol::kSctp},
};

constexpr std::pair<std::string_view, NatKind> kNatKinds[] = {
    {"DNAT", NatKind::kDestination},
    {"SNAT", NatKind::kSource},
};

// ---------------------------------------------------------------------------
// JavaScript to C++

bool Flag(const Napi::Object& object, const char* key) { return object.Get(key).ToBoolean().Value(); }

// Exactly the family's length: a 4-byte address in an IPv6 rule, or the
// first 4 bytes of an IPv6 address in an IPv4 one, would match another address.
Address AddressFromJs(const Napi::Value& value, const char* field, size_t length) {
  std::string bytes = AsBytes(value, field);
  if (bytes.size() != length) {
    throw Napi::RangeError::New(value.Env(), std::string(field) + " must be " + std::to_string(length) + " bytes");
  }
  Address address{};
  std::memcpy(address.data(), bytes.data(), length);
  return address;
}

// [first, last]: ports beyond 65535 would wrap into others, and a range
// running backwards matches nothing.
std::optional<PortRange> PortsFromJs(const Napi::Object& object, const char* key) {
  if (!Has(object, key)) return std::nullopt;
  Napi::Array pair = ReadArray(object, key);
  if (pair.Length() != 2) throw Napi::RangeError::New(object.Env(), std::string(key) + " must be [first, last]");
  PortRange range{AsInt<uint16_t>(pair.Get(0u), key), AsInt<uint16_t>(pair.Get(1u), key)};
  if (range.first > range.last) {
    throw Napi::RangeError::New(object.Env(), std::string(key) + " must not start above its last port");
  }
  return range;
}

std::optional<AddressMatch> AddressMatchFromJs(const Napi::Object& rule, const char* key, size_t length) {
  if (!Has(rule, key)) return std::nullopt;
  auto object = ReadObject(rule, key);
  return AddressMatch{AddressFromJs(object.Get("address"), "address", length),
                      AddressFromJs(object.Get("mask"), "mask", length), Flag(object, "negated")};
}

// Empty only in rules read back (`! -i ""` is no rule iptables writes), which
// may be written again as they are.
std::optional<InterfaceMatch> InterfaceMatchFromJs(const Napi::Object& rule, const char* key) {
  if (!Has(rule, key)) return std::nullopt;
  auto object = ReadObject(rule, key);
  return InterfaceMatch{ReadText(object, "name", kMaxInterfaceBytes), Flag(object, "negated")};
}

Match MatchFromJs(const Napi::Object& object) {
  std::string kind = ReadString(object, "kind");
  if (kind == "addrtype") {
    return AddrtypeMatch{ReadInt<uint16_t>(object, "sourceTypes"), Flag(object, "sourceNegated"),
                         ReadInt<uint16_t>(object, "destinationTypes"), Flag(object, "destinationNegated")};
  }
  if (kind == "conntrack") return ConntrackMatch{ReadInt<uint16_t>(object, "states"), Flag(object, "negated")};
  if (kind == "mark") {
    return MarkMatch{ReadInt<uint32_t>(object, "mark"), ReadInt<uint32_t>(object, "mask"), Flag(object, "negated")};
  }
  if (kind == "comment") return CommentMatch{ReadText(object, "comment", kMaxCommentBytes)};
  return PortMatch{FromTag(object.Get("kind"), kPortProtocols, "match"), PortsFromJs(object, "source"),
                   Flag(object, "sourceNegated"), PortsFromJs(object, "destination"), Flag(object, "destinationNegated")};
}

Target TargetFromJs(const Napi::Object& object, size_t address_length) {
  std::string kind = ReadString(object, "kind");
  if (kind == "verdict") return VerdictTarget{FromTag(object.Get("verdict"), kVerdicts, "verdict")};
  if (kind == "jump") return JumpTarget{ReadName(object, "chain", kMaxChainBytes), Flag(object, "goto")};
  if (kind == "MASQUERADE") return MasqueradeTarget{PortsFromJs(object, "ports")};
  NatKind nat = FromTag(object.Get("kind"), kNatKinds, "target");
  std::optional<Address> address;
  if (Has(object, "address")) address = AddressFromJs(object.Get("address"), "address", address_length);
  return NatTarget{nat, address, PortsFromJs(object, "ports")};
}

Rule RuleFromJs(const Napi::Object& object, size_t address_length) {
  Rule rule;
  rule.source = AddressMatchFromJs(object, "source", address_length);
  rule.destination = AddressMatchFromJs(object, "destination", address_length);
  rule.in_interface = InterfaceMatchFromJs(object, "inInterface");
  rule.out_interface = InterfaceMatchFromJs(object, "outInterface");
  if (Has(object, "protocol")) {
    auto protocol = ReadObject(object, "protocol");
    rule.protocol = ProtocolMatch{ReadInt<uint8_t>(protocol, "number"), Flag(protocol, "negated")};
  }
  auto matches = ReadArray(object, "matches");
  for (uint32_t i = 0; i < matches.Length(); ++i) {
    rule.matches.push_back(MatchFromJs(AsObject(matches.Get(i), "matches[" + std::to_string(i) + "]")));
  }
  rule.target = TargetFromJs(ReadObject(object, "target"), address_length);
  return rule;
}

// Each kind of operation with the fields it needs, so none is left at a
// default that would mean something (an empty rule accepts every packet).
Operation OperationFromJs(const Napi::Object& object, size_t address_length) {
  using Kind = Operation::Kind;
  Operation op;
  op.kind = FromTag(object.Get("op"), kOperationKinds, "op");
  op.chain = ReadName(object, "chain", kMaxChainBytes);
  if (op.kind == Kind::kSetPolicy) op.policy = FromTag(object.Get("policy"), kPolicies, "policy");
  if (op.kind == Kind::kInsert || op.kind == Kind::kReplace || op.kind == Kind::kDeleteAt) {
    op.index = ReadInt<uint32_t>(object, "index");
  }
  if (op.kind == Kind::kAppend || op.kind == Kind::kInsert || op.kind == Kind::kReplace || op.kind == Kind::kDeleteRule) {
    op.rule = RuleFromJs(ReadObject(object, "rule"), address_length);
  }
  return op;
}

// ---------------------------------------------------------------------------
// C++ to JavaScript

Napi::Buffer<uint8_t> BytesToJs(Napi::Env env, const uint8_t* data, size_t length) {
  return Napi::Buffer<uint8_t>::Copy(env, data, length);
}

Napi::Array PortsToJs(Napi::Env env, const PortRange& ports) {
  Napi::Array pair = Napi::Array::New(env, 2);
  pair.Set(0u, ports.first);
  pair.Set(1u, ports.last);
  return pair;
}

void SetPorts(Napi::Object& object, const char* key, const std::optional<PortRange>& ports) {
  if (ports) object.Set(key, PortsToJs(object.Env(), *ports));
}

struct MatchToJs {
  Napi::Env env;

  Napi::Object operator()(const PortMatch& match) const {
    Napi::Object object = Napi::Object::New(env);
    object.Set("kind", ToTag(match.protocol, kPortProtocols));
    SetPorts(object, "source", match.source);
    object.Set("sourceNegated", match.source_negated);
    SetPorts(object, "destination", match.destination);
    object.Set("destinationNegated", match.destination_negated);
    return object;
  }
  Napi::Object operator()(const AddrtypeMatch& match) const {
    Napi::Object object = Napi::Object::New(env);
    object.Set("kind", "addrtype");
    object.Set("sourceTypes", match.source_types);
    object.Set("sourceNegated", match.source_negated);
    object.Set("destinationTypes", match.destination_types);
    object.Set("destinationNegated", match.destination_negated);
    return object;
  }
  Napi::Object operator()(const ConntrackMatch& match) const {
    Napi::Object object = Napi::Object::New(env);
    object.Set("kind", "conntrack");
    object.Set("states", match.states);
    object.Set("negated", match.negated);
    return object;
  }
  Napi::Object operator()(const MarkMatch& match) const {
    Napi::Object object = Napi::Object::New(env);
    object.Set("kind", "mark");
    object.Set("mark", match.mark);
    object.Set("mask", match.mask);
    object.Set("negated", match.negated);
    return object;
  }
  Napi::Object operator()(const CommentMatch& match) const {
    Napi::Object object = Napi::Object::New(env);
    object.Set("kind", "comment");
    object.Set("comment", match.comment);
    return object;
  }
  Napi::Object operator()(const UnsupportedMatch& match) const { return Unsupported(env, match.name, match.revision); }

  static Napi::Object Unsupported(Napi::Env env, const std::string& name, uint8_t revision) {
    Napi::Object object = Napi::Object::New(env);
    object.Set("kind", "unsupported");
    object.Set("name", name);
    object.Set("revision", revision);
    return object;
  }
};

struct TargetToJs {
  Napi::Env env;
  size_t address_length;

  Napi::Object operator()(const VerdictTarget& target) const {
    Napi::Object object = Napi::Object::New(env);
    object.Set("kind", "verdict");
    object.Set("verdict", ToTag(target.verdict, kVerdicts));
    return object;
  }
  Napi::Object operator()(const JumpTarget& target) const {
    Napi::Object object = Napi::Object::New(env);
    object.Set("kind", "jump");
    object.Set("chain", target.chain);
    object.Set("goto", target.go_to);
    return object;
  }
  Napi::Object operator()(const NatTarget& target) const {
    Napi::Object object = Napi::Object::New(env);
    object.Set("kind", ToTag(target.kind, kNatKinds));
    if (target.address) object.Set("address", BytesToJs(env, target.address->data(), address_length));
    SetPorts(object, "ports", target.ports);
    return object;
  }
  Napi::Object operator()(const MasqueradeTarget& target) const {
    Napi::Object object = Napi::Object::New(env);
    object.Set("kind", "MASQUERADE");
    SetPorts(object, "ports", target.ports);
    return object;
  }
  Napi::Object operator()(const UnsupportedTarget& target) const {
    return MatchToJs::Unsupported(env, target.name, target.revision);
  }
};

void SetAddressMatch(Napi::Object& object, const char* key, const std::optional<AddressMatch>& match,
                     size_t address_length) {
  if (!match) return;
  Napi::Env env = object.Env();
  Napi::Object value = Napi::Object::New(env);
  value.Set("address", BytesToJs(env, match->address.data(), address_length));
  value.Set("mask", BytesToJs(env, match->mask.data(), address_length));
  value.Set("negated", match->negated);
  object.Set(key, value);
}

void SetInterfaceMatch(Napi::Object& object, const char* key, const std::optional<InterfaceMatch>& match) {
  if (!match) return;
  Napi::Object value = Napi::Object::New(object.Env());
  value.Set("name", match->name);
  value.Set("negated", match->negated);
  object.Set(key, value);
}

Napi::Object RuleToJs(Napi::Env env, const Rule& rule, size_t address_length) {
  Napi::Object object = Napi::Object::New(env);
  SetAddressMatch(object, "source", rule.source, address_length);
  SetAddressMatch(object, "destination", rule.destination, address_length);
  SetInterfaceMatch(object, "inInterface", rule.in_interface);
  SetInterfaceMatch(object, "outInterface", rule.out_interface);
  if (rule.protocol) {
    Napi::Object protocol = Napi::Object::New(env);
    protocol.Set("number", rule.protocol->number);
    protocol.Set("negated", rule.protocol->negated);
    object.Set("protocol", protocol);
  }
  Napi::Array matches = Napi::Array::New(env, rule.matches.size());
  for (uint32_t i = 0; i < rule.matches.size(); ++i) matches.Set(i, std::visit(MatchToJs{env}, rule.matches[i]));
  object.Set("matches", matches);
  object.Set("target", std::visit(TargetToJs{env, address_length}, rule.target));
  return object;
}

Napi::Object ChainToJs(Napi::Env env, const DumpedChain& chain, size_t address_length) {
  Napi::Object object = Napi::Object::New(env);
  object.Set("name", chain.name);
  object.Set("builtin", chain.builtin);
  if (chain.policy) object.Set("policy", *chain.policy);
  object.Set("packets", Napi::BigInt::New(env, chain.packets));
  object.Set("bytes", Napi::BigInt::New(env, chain.bytes));
  Napi::Array rules = Napi::Array::New(env, chain.rules.size());
  for (uint32_t i = 0; i < chain.rules.size(); ++i) {
    const DumpedRule& dumped = chain.rules[i];
    Napi::Object rule = Napi::Object::New(env);
    rule.Set("rule", RuleToJs(env, dumped.rule, address_length));
    rule.Set("packets", Napi::BigInt::New(env, dumped.packets));
    rule.Set("bytes", Napi::BigInt::New(env, dumped.bytes));
    rule.Set("raw", BytesToJs(env, dumped.raw.data(), dumped.raw.size()));
    rules.Set(i, rule);
  }
  object.Set("rules", rules);
  return object;
}

}  // namespace

IpVersion IpVersionFromJs(const Napi::Value& value) { return FromTag(value, kIpVersions, "family"); }

std::string TableNameFromJs(const Napi::Value& value) {
  std::string table = AsString(value, "table");
  for (std::string_view known : kTables) {
    if (table == known) return table;
  }
  throw Napi::TypeError::New(value.Env(), "unknown table " + table);
}

std::vector<TableChange> TableChangesFromJs(const Napi::Value& value) {
  constexpr const char* kOperation = "iptc.transaction";
  Napi::Array changes = AsArray(value, "changes");
  std::vector<TableChange> result;
  result.reserve(changes.Length());
  long index = 0;  // operations count across all tables, as the transaction's errors do
  for (uint32_t i = 0; i < changes.Length(); ++i) {
    std::string field = "changes[" + std::to_string(i) + "]";
    TableChange& change = result.emplace_back();
    Napi::Array operations = ReadItem(kOperation, field, -1, [&] {
      Napi::Object object = AsObject(changes.Get(i), "the change");
      change.ip_version = IpVersionFromJs(object.Get("family"));
      change.table = TableNameFromJs(object.Get("table"));
      if (Has(object, "fingerprint")) change.expected_fingerprint = ReadString(object, "fingerprint");
      return ReadArray(object, "operations");
    });
    size_t address_length = change.ip_version == IpVersion::kIpv4 ? Ipv4::kAddressLength : Ipv6::kAddressLength;
    change.operations.reserve(operations.Length());
    for (uint32_t j = 0; j < operations.Length(); ++j, ++index) {
      std::string operation_field = field + ".operations[" + std::to_string(j) + "]";
      change.operations.push_back(ReadItem(kOperation, operation_field, index, [&] {
        return OperationFromJs(AsObject(operations.Get(j), "the operation"), address_length);
      }));
    }
  }
  return result;
}

Napi::Object TableDumpToJs(Napi::Env env, const TableDump& dump, IpVersion ip_version) {
  size_t address_length = ip_version == IpVersion::kIpv4 ? Ipv4::kAddressLength : Ipv6::kAddressLength;
  Napi::Array chains = Napi::Array::New(env, dump.chains.size());
  for (uint32_t i = 0; i < dump.chains.size(); ++i) chains.Set(i, ChainToJs(env, dump.chains[i], address_length));
  Napi::Object object = Napi::Object::New(env);
  object.Set("chains", chains);
  object.Set("fingerprint", Napi::String::New(env, dump.fingerprint));
  return object;
}

}  // namespace bridgewall::iptc
