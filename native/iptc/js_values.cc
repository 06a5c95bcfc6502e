#include "iptc/js_values.h"

#include <cstring>
#include <string_view>

#include "iptc/family.h"

namespace bridgewall::iptc {

namespace {

// Maps the string tags of the private binding to enum values.
template <typename Enum, size_t N>
Enum FromTag(const Napi::Value& value, const std::pair<std::string_view, Enum> (&tags)[N], const char* what) {
  std::string tag = value.As<Napi::String>().Utf8Value();
  for (const auto& [name, result] : tags) {
    if (tag == name) return result;
  }
  throw Napi::TypeError::New(value.Env(), std::string("unknown ") + what + " " + tag);
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

bool Has(const Napi::Object& object, const char* key) { return !object.Get(key).IsUndefined(); }
bool Flag(const Napi::Object& object, const char* key) { return object.Get(key).ToBoolean().Value(); }
uint32_t Uint32(const Napi::Object& object, const char* key) { return object.Get(key).As<Napi::Number>().Uint32Value(); }
std::string String(const Napi::Object& object, const char* key) { return object.Get(key).As<Napi::String>().Utf8Value(); }

Address AddressFromJs(const Napi::Value& value) {
  auto buffer = value.As<Napi::Buffer<uint8_t>>();
  if (buffer.Length() != 4 && buffer.Length() != 16) {
    throw Napi::TypeError::New(value.Env(), "an address must be 4 or 16 bytes");
  }
  Address address{};
  std::memcpy(address.data(), buffer.Data(), buffer.Length());
  return address;
}

std::optional<PortRange> PortsFromJs(const Napi::Object& object, const char* key) {
  if (!Has(object, key)) return std::nullopt;
  auto pair = object.Get(key).As<Napi::Array>();
  return PortRange{static_cast<uint16_t>(pair.Get(0u).As<Napi::Number>().Uint32Value()),
                   static_cast<uint16_t>(pair.Get(1u).As<Napi::Number>().Uint32Value())};
}

std::optional<AddressMatch> AddressMatchFromJs(const Napi::Object& rule, const char* key) {
  if (!Has(rule, key)) return std::nullopt;
  auto object = rule.Get(key).As<Napi::Object>();
  return AddressMatch{AddressFromJs(object.Get("address")), AddressFromJs(object.Get("mask")), Flag(object, "negated")};
}

std::optional<InterfaceMatch> InterfaceMatchFromJs(const Napi::Object& rule, const char* key) {
  if (!Has(rule, key)) return std::nullopt;
  auto object = rule.Get(key).As<Napi::Object>();
  return InterfaceMatch{String(object, "name"), Flag(object, "negated")};
}

Match MatchFromJs(const Napi::Object& object) {
  std::string kind = String(object, "kind");
  if (kind == "addrtype") {
    return AddrtypeMatch{static_cast<uint16_t>(Uint32(object, "sourceTypes")), Flag(object, "sourceNegated"),
                         static_cast<uint16_t>(Uint32(object, "destinationTypes")), Flag(object, "destinationNegated")};
  }
  if (kind == "conntrack") return ConntrackMatch{static_cast<uint16_t>(Uint32(object, "states")), Flag(object, "negated")};
  if (kind == "mark") return MarkMatch{Uint32(object, "mark"), Uint32(object, "mask"), Flag(object, "negated")};
  if (kind == "comment") return CommentMatch{String(object, "comment")};
  return PortMatch{FromTag(object.Get("kind"), kPortProtocols, "match"), PortsFromJs(object, "source"),
                   Flag(object, "sourceNegated"), PortsFromJs(object, "destination"), Flag(object, "destinationNegated")};
}

Target TargetFromJs(const Napi::Object& object) {
  std::string kind = String(object, "kind");
  if (kind == "verdict") return VerdictTarget{FromTag(object.Get("verdict"), kVerdicts, "verdict")};
  if (kind == "jump") return JumpTarget{String(object, "chain"), Flag(object, "goto")};
  if (kind == "MASQUERADE") return MasqueradeTarget{PortsFromJs(object, "ports")};
  std::optional<Address> address;
  if (Has(object, "address")) address = AddressFromJs(object.Get("address"));
  return NatTarget{FromTag(object.Get("kind"), kNatKinds, "target"), address, PortsFromJs(object, "ports")};
}

Rule RuleFromJs(const Napi::Object& object) {
  Rule rule;
  rule.source = AddressMatchFromJs(object, "source");
  rule.destination = AddressMatchFromJs(object, "destination");
  rule.in_interface = InterfaceMatchFromJs(object, "inInterface");
  rule.out_interface = InterfaceMatchFromJs(object, "outInterface");
  if (Has(object, "protocol")) {
    auto protocol = object.Get("protocol").As<Napi::Object>();
    rule.protocol = ProtocolMatch{static_cast<uint16_t>(Uint32(protocol, "number")), Flag(protocol, "negated")};
  }
  auto matches = object.Get("matches").As<Napi::Array>();
  for (uint32_t i = 0; i < matches.Length(); ++i) rule.matches.push_back(MatchFromJs(matches.Get(i).As<Napi::Object>()));
  rule.target = TargetFromJs(object.Get("target").As<Napi::Object>());
  return rule;
}

Operation OperationFromJs(const Napi::Object& object) {
  Operation op;
  op.kind = FromTag(object.Get("op"), kOperationKinds, "operation");
  op.chain = String(object, "chain");
  if (Has(object, "index")) op.index = Uint32(object, "index");
  if (Has(object, "policy")) op.policy = FromTag(object.Get("policy"), kVerdicts, "policy");
  if (Has(object, "rule")) op.rule = RuleFromJs(object.Get("rule").As<Napi::Object>());
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

IpVersion IpVersionFromJs(Napi::Value value) { return FromTag(value, kIpVersions, "family"); }

std::vector<TableChange> TableChangesFromJs(Napi::Array changes) {
  std::vector<TableChange> result;
  result.reserve(changes.Length());
  for (uint32_t i = 0; i < changes.Length(); ++i) {
    Napi::Object object = changes.Get(i).As<Napi::Object>();
    TableChange& change = result.emplace_back();
    change.ip_version = IpVersionFromJs(object.Get("family"));
    change.table = object.Get("table").As<Napi::String>().Utf8Value();
    Napi::Array operations = object.Get("operations").As<Napi::Array>();
    change.operations.reserve(operations.Length());
    for (uint32_t j = 0; j < operations.Length(); ++j) {
      change.operations.push_back(OperationFromJs(operations.Get(j).As<Napi::Object>()));
    }
    Napi::Value fingerprint = object.Get("fingerprint");
    if (!fingerprint.IsUndefined()) change.expected_fingerprint = fingerprint.As<Napi::String>().Utf8Value();
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
