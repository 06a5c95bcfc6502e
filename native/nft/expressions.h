// nftables expressions as plain data: a type name and typed attributes.
// One table maps each JavaScript attribute name to its libnftnl attribute, so
// encoding, decoding and validation are driven by the same entries.
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>
#include <vector>

struct nftnl_expr;

namespace bridgewall {

struct ExprAttr {
  uint16_t id = 0;       // NFTNL_EXPR_* attribute
  const char* name = nullptr;
  // kXtName and kXtInfo: an xt extension's name and info (nft_compat), with their own limits.
  enum Kind { kU8, kU32, kS32, kU64, kString, kBytes, kXtName, kXtInfo } kind = kU32;
  uint64_t number = 0;
  std::string text;      // kString and kXtName, and kBytes and kXtInfo as raw bytes
};

struct ExprSpec {
  std::string type;      // libnftnl expression name: "meta", "cmp", "payload", ...
  std::vector<ExprAttr> attrs;
};

// Reads one expression object ({ type, ...attributes }) on the main thread.
// Unknown types or attributes, and values out of their attribute's range
// (nft/limits.h), throw a TypeError or RangeError naming them.
ExprSpec ReadExpr(const Napi::Value& value, const std::string& field);
// Builds the libnftnl expression on a worker thread; the caller owns it.
nftnl_expr* BuildExpr(const ExprSpec& spec);
// Decodes a kernel expression into plain data on a worker thread.
ExprSpec DecodeExpr(const nftnl_expr* expr);
Napi::Object ExprToJs(Napi::Env env, const ExprSpec& spec);

}  // namespace bridgewall
