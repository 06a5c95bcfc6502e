// Reading a table back from the kernel: its chains, rules, sets and elements,
// as plain data on the worker and as JavaScript objects on the main thread.
#pragma once

#include <napi.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "nft/batch.h"
#include "nft/expressions.h"
#include "nft/socket.h"

namespace bridgewall {

struct DumpedTable {
  std::string name;
  uint32_t family = 0;
  uint32_t flags = 0;
  uint64_t handle = 0;
};

struct DumpedChain {
  std::string name;
  uint64_t handle = 0;
  bool base = false;
  uint32_t hook = 0;
  int32_t priority = 0;
  std::string type;
  bool has_policy = false;
  uint32_t policy = 0;
  uint32_t use = 0;
};

struct DumpedRule {
  std::string chain;
  uint64_t handle = 0;
  // A rule whose handle the caller knows (it decoded the rule before, and a
  // handle names one rule for its table's life) comes without expressions:
  // only its counter, if it has one.
  bool known = false;
  bool has_counter = false;
  uint64_t packets = 0;
  uint64_t bytes = 0;
  std::vector<ExprSpec> exprs;
  bool has_comment = false;
  std::string comment;
};

struct DumpedSet : SetFields, PackedElements {
  uint64_t handle = 0;
};

struct TableDump {
  bool exists = false;
  uint32_t generation = 0;
  // False when the ruleset changed while it was read, or a set's walk gave an
  // element twice (RepeatsAnElement): the caller reads again.
  bool consistent = true;
  DumpedTable table;
  std::vector<DumpedChain> chains;
  std::vector<DumpedRule> rules;
  std::vector<DumpedSet> sets;
};

uint32_t ReadGeneration(NetlinkSocket& socket);
// `known`: handles of rules the caller decoded before (sorted), dumped without their expressions.
TableDump ReadTable(NetlinkSocket& socket, uint32_t family, const std::string& name,
                    const std::vector<uint64_t>& known = {});
std::vector<DumpedTable> ReadTables(NetlinkSocket& socket, uint32_t family);

Napi::Object TableDumpToJs(Napi::Env env, const TableDump& dump);
Napi::Object TableToJs(Napi::Env env, const DumpedTable& table);

}  // namespace bridgewall
