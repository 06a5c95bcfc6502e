// Copies the private binding's JavaScript descriptors (src/native/iptc.ts)
// into the plain structs of rule.h on the main thread, and dumps back into
// JavaScript. The TypeScript layer has validated every value; malformed input
// can only come from misuse of the private binding and throws a TypeError.
#pragma once

#include <napi.h>

#include <vector>

#include "iptc/rule.h"

namespace bridgewall::iptc {

IpVersion IpVersionFromJs(Napi::Value value);
// [{ family, table, operations, fingerprint? }, ...]
std::vector<TableChange> TableChangesFromJs(Napi::Array changes);
Napi::Object TableDumpToJs(Napi::Env env, const TableDump& dump, IpVersion ip_version);

}  // namespace bridgewall::iptc
