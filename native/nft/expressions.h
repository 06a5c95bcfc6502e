// nftables expressions as plain data: a type name and typed attributes.
// One table maps each JavaScript attribute name to its libnftnl attribute, so
// encoding, decoding and validation are driven by the same entries.
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>
#include <vector>

#include "byte_reader.h"

struct nftnl_expr;
struct nftnl_rule;

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

// A rule's packed expressions (src/native/nft.ts lays them out): a count,
// then each a type code and its attributes by code, codes being indexes into
// the layout ExprLayoutToJs gives JavaScript. ReadPackedExprs checks them on
// the JavaScript thread and returns their bytes, count included: unknown
// codes, attributes of another type, values past their attribute's bounds
// (nft/limits.h), more than kMaxExprs expressions and bytes cut short throw
// MalformedBytes naming them. AddPackedExprs builds those bytes into a rule
// on a worker thread. The bytes are kept rather than the parsed expressions:
// parsed, a bulk of 30,000 rules held some 60 MB that each commit faulted in
// on the JavaScript thread and freed again.
std::string ReadPackedExprs(ByteReader& in);
void AddPackedExprs(nftnl_rule* rule, const std::string& packed);
// A packed text (a u8 length and its bytes) of at most `max_bytes` bytes
// without NUL, as the kernel keeps it NUL-terminated; a name is not empty too.
std::string ReadPackedText(ByteReader& in, const char* field, size_t max_bytes);
std::string ReadPackedName(ByteReader& in, const char* field, size_t max_bytes);
// { types, attributes: [{ type, name, kind }] }: what the codes of the packed layout stand for.
Napi::Object ExprLayoutToJs(Napi::Env env);
// Decodes a kernel expression into plain data on a worker thread.
ExprSpec DecodeExpr(const nftnl_expr* expr);
Napi::Object ExprToJs(Napi::Env env, const ExprSpec& spec);

}  // namespace bridgewall
