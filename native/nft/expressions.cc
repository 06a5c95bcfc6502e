#include "nft/expressions.h"

#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <linux/netfilter/x_tables.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include "byte_reader.h"
#include "nft/limits.h"

namespace bridgewall {

namespace {

struct AttrEntry {
  const char* type;
  const char* name;
  uint16_t id;
  ExprAttr::Kind kind;
};

// Every expression the Docker semantics need, and the attributes the kernel
// reports back for them. The JavaScript names are the camelCase of libnftnl's.
constexpr AttrEntry kAttrs[] = {
    {"payload", "dreg", NFTNL_EXPR_PAYLOAD_DREG, ExprAttr::kU32},
    {"payload", "base", NFTNL_EXPR_PAYLOAD_BASE, ExprAttr::kU32},
    {"payload", "offset", NFTNL_EXPR_PAYLOAD_OFFSET, ExprAttr::kU32},
    {"payload", "len", NFTNL_EXPR_PAYLOAD_LEN, ExprAttr::kU32},
    {"meta", "key", NFTNL_EXPR_META_KEY, ExprAttr::kU32},
    {"meta", "dreg", NFTNL_EXPR_META_DREG, ExprAttr::kU32},
    {"meta", "sreg", NFTNL_EXPR_META_SREG, ExprAttr::kU32},
    {"cmp", "sreg", NFTNL_EXPR_CMP_SREG, ExprAttr::kU32},
    {"cmp", "op", NFTNL_EXPR_CMP_OP, ExprAttr::kU32},
    {"cmp", "data", NFTNL_EXPR_CMP_DATA, ExprAttr::kBytes},
    {"range", "sreg", NFTNL_EXPR_RANGE_SREG, ExprAttr::kU32},
    {"range", "op", NFTNL_EXPR_RANGE_OP, ExprAttr::kU32},
    {"range", "from", NFTNL_EXPR_RANGE_FROM_DATA, ExprAttr::kBytes},
    {"range", "to", NFTNL_EXPR_RANGE_TO_DATA, ExprAttr::kBytes},
    {"bitwise", "sreg", NFTNL_EXPR_BITWISE_SREG, ExprAttr::kU32},
    {"bitwise", "dreg", NFTNL_EXPR_BITWISE_DREG, ExprAttr::kU32},
    {"bitwise", "len", NFTNL_EXPR_BITWISE_LEN, ExprAttr::kU32},
    {"bitwise", "mask", NFTNL_EXPR_BITWISE_MASK, ExprAttr::kBytes},
    {"bitwise", "xor", NFTNL_EXPR_BITWISE_XOR, ExprAttr::kBytes},
    {"immediate", "dreg", NFTNL_EXPR_IMM_DREG, ExprAttr::kU32},
    {"immediate", "data", NFTNL_EXPR_IMM_DATA, ExprAttr::kBytes},
    {"immediate", "verdict", NFTNL_EXPR_IMM_VERDICT, ExprAttr::kS32},
    {"immediate", "chain", NFTNL_EXPR_IMM_CHAIN, ExprAttr::kString},
    {"lookup", "sreg", NFTNL_EXPR_LOOKUP_SREG, ExprAttr::kU32},
    {"lookup", "dreg", NFTNL_EXPR_LOOKUP_DREG, ExprAttr::kU32},
    {"lookup", "set", NFTNL_EXPR_LOOKUP_SET, ExprAttr::kString},
    {"lookup", "setId", NFTNL_EXPR_LOOKUP_SET_ID, ExprAttr::kU32},
    {"lookup", "flags", NFTNL_EXPR_LOOKUP_FLAGS, ExprAttr::kU32},
    {"byteorder", "sreg", NFTNL_EXPR_BYTEORDER_SREG, ExprAttr::kU32},
    {"byteorder", "dreg", NFTNL_EXPR_BYTEORDER_DREG, ExprAttr::kU32},
    {"byteorder", "op", NFTNL_EXPR_BYTEORDER_OP, ExprAttr::kU32},
    {"byteorder", "len", NFTNL_EXPR_BYTEORDER_LEN, ExprAttr::kU32},
    {"byteorder", "size", NFTNL_EXPR_BYTEORDER_SIZE, ExprAttr::kU32},
    {"counter", "packets", NFTNL_EXPR_CTR_PACKETS, ExprAttr::kU64},
    {"counter", "bytes", NFTNL_EXPR_CTR_BYTES, ExprAttr::kU64},
    {"ct", "key", NFTNL_EXPR_CT_KEY, ExprAttr::kU32},
    {"ct", "dreg", NFTNL_EXPR_CT_DREG, ExprAttr::kU32},
    {"ct", "dir", NFTNL_EXPR_CT_DIR, ExprAttr::kU8},
    {"fib", "flags", NFTNL_EXPR_FIB_FLAGS, ExprAttr::kU32},
    {"fib", "result", NFTNL_EXPR_FIB_RESULT, ExprAttr::kU32},
    {"fib", "dreg", NFTNL_EXPR_FIB_DREG, ExprAttr::kU32},
    {"nat", "natType", NFTNL_EXPR_NAT_TYPE, ExprAttr::kU32},
    {"nat", "family", NFTNL_EXPR_NAT_FAMILY, ExprAttr::kU32},
    {"nat", "regAddrMin", NFTNL_EXPR_NAT_REG_ADDR_MIN, ExprAttr::kU32},
    {"nat", "regAddrMax", NFTNL_EXPR_NAT_REG_ADDR_MAX, ExprAttr::kU32},
    {"nat", "regProtoMin", NFTNL_EXPR_NAT_REG_PROTO_MIN, ExprAttr::kU32},
    {"nat", "regProtoMax", NFTNL_EXPR_NAT_REG_PROTO_MAX, ExprAttr::kU32},
    {"nat", "flags", NFTNL_EXPR_NAT_FLAGS, ExprAttr::kU32},
    {"masq", "flags", NFTNL_EXPR_MASQ_FLAGS, ExprAttr::kU32},
    {"masq", "regProtoMin", NFTNL_EXPR_MASQ_REG_PROTO_MIN, ExprAttr::kU32},
    {"masq", "regProtoMax", NFTNL_EXPR_MASQ_REG_PROTO_MAX, ExprAttr::kU32},
    // nft_compat: an xt match or target, as iptables-nft writes what it keeps as extensions.
    {"match", "name", NFTNL_EXPR_MT_NAME, ExprAttr::kXtName},
    {"match", "rev", NFTNL_EXPR_MT_REV, ExprAttr::kU32},
    {"match", "info", NFTNL_EXPR_MT_INFO, ExprAttr::kXtInfo},
    {"target", "name", NFTNL_EXPR_TG_NAME, ExprAttr::kXtName},
    {"target", "rev", NFTNL_EXPR_TG_REV, ExprAttr::kU32},
    {"target", "info", NFTNL_EXPR_TG_INFO, ExprAttr::kXtInfo},
};

static_assert(kMaxXtNameBytes == XT_EXTENSION_MAXNAMELEN - 1, "xt names as the kernel bounds them");

// The expression types in the order of their first entry: a type's code is its index.
const std::vector<std::string>& ExprTypes() {
  static const std::vector<std::string> types = [] {
    std::vector<std::string> list;
    for (const auto& entry : kAttrs) {
      if (std::find(list.begin(), list.end(), entry.type) == list.end()) list.push_back(entry.type);
    }
    return list;
  }();
  return types;
}

const char* KindName(ExprAttr::Kind kind) {
  switch (kind) {
    case ExprAttr::kU8: return "u8";
    case ExprAttr::kU32: return "u32";
    case ExprAttr::kS32: return "s32";
    case ExprAttr::kU64: return "u64";
    case ExprAttr::kString: return "string";
    case ExprAttr::kBytes: return "bytes";
    case ExprAttr::kXtName: return "xtName";
    case ExprAttr::kXtInfo: return "xtInfo";
  }
  return "";
}

// An attribute of the entry's identity, its value still to be filled in.
ExprAttr AttrOf(const AttrEntry& entry) {
  ExprAttr attr;
  attr.id = entry.id;
  attr.name = entry.name;
  attr.kind = entry.kind;
  return attr;
}

// Field names are the attribute's own: ReadPackedExprs prefixes the
// expression's place to a failure only, so that reading builds no strings.
std::string ReadPackedBytes(ByteReader& in, const char* field, size_t max_bytes) {
  uint16_t length = in.U16(field);
  if (length > max_bytes) {
    throw MalformedBytes(std::string(field) + " must be at most " + std::to_string(max_bytes) + " bytes");
  }
  const uint8_t* bytes = in.Take(length, field);
  return std::string(reinterpret_cast<const char*>(bytes), length);
}

ExprAttr ReadPackedAttr(ByteReader& in, const AttrEntry& entry) {
  ExprAttr attr = AttrOf(entry);
  const char* field = entry.name;
  switch (entry.kind) {
    case ExprAttr::kString:
      attr.text = ReadPackedName(in, field, kMaxNameBytes);
      break;
    case ExprAttr::kXtName:
      attr.text = ReadPackedName(in, field, kMaxXtNameBytes);
      break;
    case ExprAttr::kBytes:
      attr.text = ReadPackedBytes(in, field, kMaxValueBytes);
      break;
    case ExprAttr::kXtInfo:
      attr.text = ReadPackedBytes(in, field, kMaxXtInfoBytes);
      break;
    case ExprAttr::kU8:
      attr.number = in.U8(field);
      break;
    case ExprAttr::kU32:
    case ExprAttr::kS32:
      attr.number = in.U32(field);
      break;
    case ExprAttr::kU64: {
      uint64_t low = in.U32(field);
      attr.number = low | static_cast<uint64_t>(in.U32(field)) << 32;
      break;
    }
  }
  return attr;
}

// Into `spec`, which a walk reuses for each expression: its attribute list
// keeps its storage, so reading a rule allocates nearly nothing.
void ReadPackedExpr(ByteReader& in, ExprSpec& spec) {
  const auto& types = ExprTypes();
  uint8_t type = in.U8("type");
  if (type >= types.size()) throw MalformedBytes("type: unknown expression code " + std::to_string(type));
  spec.type = types[type];
  spec.attrs.clear();
  uint8_t count = in.U8("attribute count");
  for (uint8_t i = 0; i < count; i++) {
    uint8_t code = in.U8("attribute code");
    if (code >= std::size(kAttrs) || spec.type != kAttrs[code].type) {
      throw MalformedBytes("attribute code: " + std::to_string(code) + " is no attribute of " + spec.type);
    }
    spec.attrs.push_back(ReadPackedAttr(in, kAttrs[code]));
  }
}

}  // namespace

std::string ReadPackedText(ByteReader& in, const char* field, size_t max_bytes) {
  uint8_t length = in.U8(field);
  const uint8_t* bytes = in.Take(length, field);
  std::string text(reinterpret_cast<const char*>(bytes), length);
  if (text.size() > max_bytes || text.find('\0') != std::string::npos) {
    throw MalformedBytes(std::string(field) + " must be at most " + std::to_string(max_bytes) + " bytes without NUL");
  }
  return text;
}

std::string ReadPackedName(ByteReader& in, const char* field, size_t max_bytes) {
  std::string name = ReadPackedText(in, field, max_bytes);
  if (name.empty()) throw MalformedBytes(std::string(field) + " must not be empty");
  return name;
}

namespace {

// The one walk of a rule's packed expressions, checking each as it is read,
// for ReadPackedExprs (which checks only) and AddPackedExprs (which builds).
template <typename Each>
void ForEachPackedExpr(ByteReader& in, Each each) {
  uint16_t count = in.U16("exprs count");
  if (count > kMaxExprs) throw MalformedBytes("exprs must hold at most " + std::to_string(kMaxExprs) + " expressions");
  ExprSpec spec;
  for (uint16_t i = 0; i < count; i++) {
    try {
      ReadPackedExpr(in, spec);
    } catch (const MalformedBytes& error) {
      // Each failure starts with its field: "exprs[3].data must be at most 64 bytes".
      throw MalformedBytes("exprs[" + std::to_string(i) + "]." + error.what());
    }
    each(spec);
  }
}

}  // namespace

std::string ReadPackedExprs(ByteReader& in) {
  size_t start = in.offset();
  ForEachPackedExpr(in, [](const ExprSpec&) {});
  return std::string(reinterpret_cast<const char*>(in.At(start)), in.offset() - start);
}

Napi::Object ExprLayoutToJs(Napi::Env env) {
  const auto& types = ExprTypes();
  Napi::Array type_names = Napi::Array::New(env, types.size());
  for (size_t i = 0; i < types.size(); i++) type_names.Set(i, types[i]);
  Napi::Array attributes = Napi::Array::New(env, std::size(kAttrs));
  for (size_t i = 0; i < std::size(kAttrs); i++) {
    Napi::Object attribute = Napi::Object::New(env);
    attribute.Set("type", kAttrs[i].type);
    attribute.Set("name", kAttrs[i].name);
    attribute.Set("kind", KindName(kAttrs[i].kind));
    attributes.Set(i, attribute);
  }
  Napi::Object layout = Napi::Object::New(env);
  layout.Set("types", type_names);
  layout.Set("attributes", attributes);
  return layout;
}

namespace {

// libnftnl keeps the info pointer it is given and frees it with the
// expression (match.c, target.c), so it gets a copy of its own.
void SetXtInfo(nftnl_expr* expr, const ExprAttr& attr) {
  void* info = std::malloc(attr.text.empty() ? 1 : attr.text.size());
  if (info == nullptr) {
    nftnl_expr_free(expr);
    throw std::bad_alloc();
  }
  std::memcpy(info, attr.text.data(), attr.text.size());
  nftnl_expr_set_data(expr, attr.id, info, attr.text.size());
}

// Builds the libnftnl expression on a worker thread; the caller owns it.
nftnl_expr* BuildExpr(const ExprSpec& spec) {
  nftnl_expr* expr = nftnl_expr_alloc(spec.type.c_str());
  if (expr == nullptr) throw std::bad_alloc();
  for (const auto& attr : spec.attrs) {
    switch (attr.kind) {
      case ExprAttr::kU8:
        nftnl_expr_set_u8(expr, attr.id, static_cast<uint8_t>(attr.number));
        break;
      case ExprAttr::kU32:
      case ExprAttr::kS32:
        nftnl_expr_set_u32(expr, attr.id, static_cast<uint32_t>(attr.number));
        break;
      case ExprAttr::kU64:
        nftnl_expr_set_u64(expr, attr.id, attr.number);
        break;
      case ExprAttr::kString:
      case ExprAttr::kXtName:
        nftnl_expr_set_str(expr, attr.id, attr.text.c_str());
        break;
      case ExprAttr::kBytes:
        nftnl_expr_set_data(expr, attr.id, attr.text.data(), attr.text.size());
        break;
      case ExprAttr::kXtInfo:
        SetXtInfo(expr, attr);
        break;
    }
  }
  return expr;
}

}  // namespace

void AddPackedExprs(nftnl_rule* rule, const std::string& packed) {
  ByteReader in(reinterpret_cast<const uint8_t*>(packed.data()), packed.size());
  ForEachPackedExpr(in, [rule](const ExprSpec& spec) { nftnl_rule_add_expr(rule, BuildExpr(spec)); });
}

ExprSpec DecodeExpr(const nftnl_expr* expr) {
  ExprSpec spec;
  spec.type = nftnl_expr_get_str(expr, NFTNL_EXPR_NAME);
  for (const auto& entry : kAttrs) {
    if (spec.type != entry.type || !nftnl_expr_is_set(expr, entry.id)) continue;
    ExprAttr attr = AttrOf(entry);
    switch (entry.kind) {
      case ExprAttr::kU8:
        attr.number = nftnl_expr_get_u8(expr, entry.id);
        break;
      case ExprAttr::kU32:
      case ExprAttr::kS32:
        attr.number = nftnl_expr_get_u32(expr, entry.id);
        break;
      case ExprAttr::kU64:
        attr.number = nftnl_expr_get_u64(expr, entry.id);
        break;
      case ExprAttr::kString:
      case ExprAttr::kXtName:
        attr.text = nftnl_expr_get_str(expr, entry.id);
        break;
      case ExprAttr::kBytes:
      case ExprAttr::kXtInfo: {
        uint32_t len = 0;
        const void* data = nftnl_expr_get(expr, entry.id, &len);
        attr.text.assign(static_cast<const char*>(data), len);
        break;
      }
    }
    spec.attrs.push_back(std::move(attr));
  }
  return spec;
}

Napi::Object ExprToJs(Napi::Env env, const ExprSpec& spec) {
  Napi::Object object = Napi::Object::New(env);
  object.Set("type", spec.type);
  for (const auto& attr : spec.attrs) {
    switch (attr.kind) {
      case ExprAttr::kU8:
      case ExprAttr::kU32:
        object.Set(attr.name, static_cast<double>(attr.number));
        break;
      case ExprAttr::kS32:
        object.Set(attr.name, static_cast<double>(static_cast<int32_t>(attr.number)));
        break;
      case ExprAttr::kU64:
        object.Set(attr.name, Napi::BigInt::New(env, attr.number));
        break;
      case ExprAttr::kString:
      case ExprAttr::kXtName:
        object.Set(attr.name, attr.text);
        break;
      case ExprAttr::kBytes:
      case ExprAttr::kXtInfo:
        object.Set(attr.name, Napi::Buffer<uint8_t>::Copy(env, reinterpret_cast<const uint8_t*>(attr.text.data()),
                                                         attr.text.size()));
        break;
    }
  }
  return object;
}

}  // namespace bridgewall
