#include "iptc/xt_extensions.h"

// After libiptc's headers (iptc/family.h), which bring linux/if.h.
#include "iptc/family.h"

#include <cerrno>
#include <vector>

#include "arguments.h"
#include "error.h"
#include "iptc/entry.h"
#include "iptc/js_values.h"
#include "iptc/packed_dump.h"
#include "iptc/packed_operations.h"

namespace bridgewall {

namespace {

constexpr const char* kOperation = "iptc.xtExtensions";

Napi::Object ExtensionToJs(Napi::Env env, const iptc::XtExtension& extension) {
  Napi::Object object = Napi::Object::New(env);
  object.Set("name", extension.name);
  object.Set("revision", static_cast<double>(extension.revision));
  object.Set("info", Napi::Buffer<uint8_t>::Copy(env, extension.info.data(), extension.info.size()));
  return object;
}

// Every operation must append a rule: only rules have extensions.
std::vector<iptc::XtExtensions> ReadExtensions(const iptc::TableChange& change) {
  std::vector<iptc::XtExtensions> rules;
  iptc::Operation op;
  iptc::OperationCursor cursor(change, 0, 0, kOperation);
  while (cursor.Next(op)) {
    if (op.kind != iptc::Operation::Kind::kAppend) {
      Fail(EINVAL, kOperation, "operations[" + std::to_string(cursor.index()) + "] is no append", cursor.index());
    }
    rules.push_back(change.ip_version == iptc::IpVersion::kIpv4 ? iptc::EncodeXtExtensions<iptc::Ipv4>(op.rule)
                                                               : iptc::EncodeXtExtensions<iptc::Ipv6>(op.rule));
  }
  return rules;
}

// iptcXtExtensions(family, operations): [{ matches, target? }, ...], one per
// append operation of the packed buffer (src/native/iptc.ts), synchronously:
// building the infos is a copy per extension.
Napi::Value XtExtensionsFromJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  iptc::TableChange change = ReadArguments(env, kOperation, [&] {
    iptc::TableChange read;
    read.ip_version = iptc::IpVersionFromJs(info[0]);
    read.operations = AsBytes(info[1], "operations");
    return read;
  });
  std::vector<iptc::XtExtensions> rules = ReadArguments(env, kOperation, [&] { return ReadExtensions(change); });
  Napi::Array result = Napi::Array::New(env, rules.size());
  for (size_t i = 0; i < rules.size(); ++i) {
    Napi::Object rule = Napi::Object::New(env);
    Napi::Array matches = Napi::Array::New(env, rules[i].matches.size());
    for (size_t m = 0; m < rules[i].matches.size(); ++m) matches.Set(m, ExtensionToJs(env, rules[i].matches[m]));
    rule.Set("matches", matches);
    if (rules[i].target) rule.Set("target", ExtensionToJs(env, *rules[i].target));
    result.Set(i, rule);
  }
  return result;
}

constexpr const char* kDecodeOperation = "iptc.decodeXtExtensions";

struct XtItem {
  bool target = false;
  iptc::XtExtension extension;
};

// iptcDecodeXtExtensions(family, [{ target, name, revision, info }, ...]):
// each extension's record in the dump layout (src/native/iptc.ts), one after
// the other in one buffer, decoded as the same extension in a legacy entry.
Napi::Value DecodeXtExtensionsFromJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto [ip_version, items] = ReadArguments(env, kDecodeOperation, [&] {
    iptc::IpVersion version = iptc::IpVersionFromJs(info[0]);
    Napi::Array list = AsArray(info[1], "extensions");
    std::vector<XtItem> read(list.Length());
    for (uint32_t i = 0; i < list.Length(); ++i) {
      read[i] = ReadItem(kDecodeOperation, "extensions[" + std::to_string(i) + "]", i, [&] {
        Napi::Object object = AsObject(list.Get(i), "extension");
        XtItem item;
        item.target = object.Get("target").ToBoolean().Value();
        // The record carries the name with a u8 length; a NUL would cut it short into another extension's name.
        item.extension.name = ReadText(object, "name", UINT8_MAX);
        item.extension.revision = ReadInt<uint8_t>(object, "revision");
        std::string bytes = ReadBytes(object, "info");
        item.extension.info.assign(bytes.begin(), bytes.end());
        return item;
      });
    }
    return std::make_pair(version, std::move(read));
  });
  bool ipv4 = ip_version == iptc::IpVersion::kIpv4;
  ByteWriter out(items.size() * 32);
  for (const XtItem& item : items) {
    if (item.target) {
      iptc::WriteTargetRecord(out, ipv4 ? iptc::DecodeXtTarget<iptc::Ipv4>(item.extension)
                                        : iptc::DecodeXtTarget<iptc::Ipv6>(item.extension), ipv4 ? 4 : 16);
    } else {
      iptc::WriteMatchRecord(out, ipv4 ? iptc::DecodeXtMatch<iptc::Ipv4>(item.extension)
                                       : iptc::DecodeXtMatch<iptc::Ipv6>(item.extension));
    }
  }
  std::vector<uint8_t> bytes = out.Finish();
  return Napi::Buffer<uint8_t>::Copy(env, bytes.data(), bytes.size());
}

}  // namespace

void InitXtExtensions(Napi::Env env, Napi::Object exports) {
  exports.Set("iptcXtExtensions", Napi::Function::New<XtExtensionsFromJs>(env, "iptcXtExtensions"));
  exports.Set("iptcDecodeXtExtensions", Napi::Function::New<DecodeXtExtensionsFromJs>(env, "iptcDecodeXtExtensions"));
}

}  // namespace bridgewall
