#include "iptc/js_values.h"

#include <string_view>

#include "arguments.h"

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

constexpr std::pair<std::string_view, IpVersion> kIpVersions[] = {
    {"ipv4", IpVersion::kIpv4},
    {"ipv6", IpVersion::kIpv6},
};

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

}  // namespace bridgewall::iptc
