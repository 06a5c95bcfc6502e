#include "iptc/js_values.h"

#include <string_view>

#include "arguments.h"
#include "iptc/family.h"

namespace bridgewall::iptc {

namespace {

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
  for (uint32_t i = 0; i < changes.Length(); ++i) {
    TableChange& change = result.emplace_back();
    ReadItem(kOperation, "changes[" + std::to_string(i) + "]", -1, [&] {
      Napi::Object object = AsObject(changes.Get(i), "the change");
      change.ip_version = IpVersionFromJs(object.Get("family"));
      change.table = TableNameFromJs(object.Get("table"));
      if (Has(object, "fingerprint")) change.expected_fingerprint = ReadString(object, "fingerprint");
      change.operations = ReadBytes(object, "operations");
    });
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
