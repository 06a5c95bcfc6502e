#include "iptc/xt_extensions.h"

// After libiptc's headers (iptc/family.h), which bring linux/if.h.
#include "iptc/family.h"

#include <cerrno>
#include <string>
#include <vector>

#include "arguments.h"
#include "byte_writer.h"
#include "error.h"
#include "iptc/entry.h"
#include "iptc/js_values.h"
#include "iptc/packed_dump.h"
#include "iptc/packed_operations.h"

namespace bridgewall {

namespace {

constexpr const char* kOperation = "iptc.xtExtensions";

// An extension's record (src/native/iptc.ts, NativeXtExtensions): text
// name, u8 revision, u16 info length, info.
void WriteExtension(ByteWriter& out, const iptc::XtExtension& extension) {
  if (extension.info.size() > UINT16_MAX) {
    Fail(EINVAL, kOperation, "an info of " + std::to_string(extension.info.size()) + " bytes has no u16 length", -1);
  }
  out.Text(extension.name);
  out.U8(extension.revision);
  out.U16(static_cast<uint16_t>(extension.info.size()));
  out.Bytes(extension.info.data(), extension.info.size());
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

// iptcXtExtensions(family, operations): each append operation's extensions
// of the packed buffer (src/native/iptc.ts), packed one rule after the other
// (NativeXtExtensions there) rather than as objects: a bulk has tens of
// thousands of rules. Synchronous: building the infos is a copy per extension.
Napi::Value XtExtensionsFromJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  iptc::TableChange change = ReadArguments(env, kOperation, [&] {
    iptc::TableChange read;
    read.ip_version = iptc::IpVersionFromJs(info[0]);
    read.operations = AsBytes(info[1], "operations");
    return read;
  });
  std::vector<iptc::XtExtensions> rules = ReadArguments(env, kOperation, [&] { return ReadExtensions(change); });
  std::vector<uint8_t> bytes = ReadArguments(env, kOperation, [&] {
    ByteWriter out(rules.size() * 64);
    for (size_t i = 0; i < rules.size(); ++i) {
      if (rules[i].matches.size() > UINT8_MAX) Fail(EINVAL, kOperation, "a rule of more than 255 matches", static_cast<long>(i));
      out.U8(static_cast<uint8_t>(rules[i].matches.size()));
      for (const iptc::XtExtension& match : rules[i].matches) WriteExtension(out, match);
      out.U8(rules[i].target ? 1 : 0);
      if (rules[i].target) WriteExtension(out, *rules[i].target);
    }
    return out.Finish();
  });
  return Napi::Buffer<uint8_t>::Copy(env, bytes.data(), bytes.size());
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
