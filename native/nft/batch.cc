#include "nft/batch.h"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include <map>
#include <memory>
#include <utility>

#include "arguments.h"
#include "byte_reader.h"
#include "error.h"
#include "nft/limits.h"
#include "nft/owned.h"

namespace bridgewall {

namespace {

// ---- Reading from JavaScript (main thread) ---------------------------------

BatchOp ReadOp(const Napi::Object& object) {
  std::string op = ReadString(object, "op");
  if (op == "add") return BatchOp::kAdd;
  if (op == "create") return BatchOp::kCreate;
  if (op == "insert") return BatchOp::kInsert;
  if (op == "replace") return BatchOp::kReplace;
  if (op == "delete") return BatchOp::kDelete;
  if (op == "flush") return BatchOp::kFlush;
  throw Napi::TypeError::New(object.Env(), "unknown op " + op);
}

std::string ReadComment(const Napi::Object& o) { return ReadText(o, "comment", kMaxCommentBytes); }

TableMessage ReadTable(const Napi::Object& o) {
  TableMessage m{ReadOp(o), ReadInt<uint32_t>(o, "family"), ReadName(o, "name", kMaxNameBytes)};
  if (Has(o, "flags")) m.flags = ReadInt<uint32_t>(o, "flags");
  return m;
}

ChainMessage ReadChain(const Napi::Object& o) {
  ChainMessage m{ReadOp(o), ReadInt<uint32_t>(o, "family"), ReadName(o, "table", kMaxNameBytes),
                 ReadName(o, "name", kMaxNameBytes)};
  if (Has(o, "hook")) {
    m.base = true;
    m.hook = ReadInt<uint32_t>(o, "hook");
    m.priority = ReadInt<int32_t>(o, "priority");
    m.type = ReadName(o, "type", kMaxNameBytes);
  }
  if (Has(o, "policy")) {
    m.has_policy = true;
    m.policy = ReadInt<uint32_t>(o, "policy");
  }
  return m;
}

BatchOp ReadRuleOp(ByteReader& in) {
  switch (in.U8("op")) {
    case 0: return BatchOp::kAdd;
    case 1: return BatchOp::kCreate;
    case 2: return BatchOp::kInsert;
    case 3: return BatchOp::kReplace;
    case 4: return BatchOp::kDelete;
    default: throw MalformedBytes("unknown rule op");
  }
}

// The fields of a packed rule (NATIVE_RULE_FIELD in src/native/nft.ts).
enum RuleField : uint8_t { kHandle = 1, kPosition = 2, kComment = 4, kCompat = 8, kExprs = 16 };

uint64_t ReadU64(ByteReader& in, const char* what) {
  uint64_t low = in.U32(what);
  return low | static_cast<uint64_t>(in.U32(what)) << 32;
}

RuleMessage ReadPackedRule(ByteReader& in) {
  RuleMessage m;
  m.op = ReadRuleOp(in);
  m.family = in.U8("family");
  m.table = ReadPackedName(in, "table", kMaxNameBytes);
  m.chain = ReadPackedName(in, "chain", kMaxNameBytes);
  uint8_t fields = in.U8("fields");
  if ((fields & ~(kHandle | kPosition | kComment | kCompat | kExprs)) != 0) {
    throw MalformedBytes("unknown fields " + std::to_string(fields));
  }
  if (fields & kHandle) {
    m.has_handle = true;
    m.handle = ReadU64(in, "handle");
  }
  if (fields & kPosition) {
    m.has_position = true;
    m.position = ReadU64(in, "position");
  }
  if (fields & kComment) {
    m.has_comment = true;
    m.comment = ReadPackedText(in, "comment", kMaxCommentBytes);
  }
  if (fields & kCompat) {
    m.has_compat = true;
    m.compat_proto = in.U8("compat protocol");
    m.compat_flags = in.U8("compat flags");
  }
  if (fields & kExprs) m.exprs = ReadPackedExprs(in);
  return m;
}

// Each rule of a packed run is a batch object of its own, named by its index.
void ReadRules(const Napi::Object& o, const std::string& field, std::vector<BatchMessage>& messages) {
  Napi::Value value = o.Get("rules");
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    throw Napi::TypeError::New(o.Env(), "rules must be a Uint8Array");
  }
  auto bytes = value.As<Napi::Uint8Array>();
  ByteReader in(bytes.Data(), bytes.ByteLength());
  for (size_t rule = 0; in.remaining() > 0; rule++) {
    long index = static_cast<long>(messages.size());
    try {
      messages.push_back(ReadPackedRule(in));
    } catch (const MalformedBytes& error) {
      Fail(EINVAL, "nft.commit", field + ".rules[" + std::to_string(rule) + "]: " + error.what(), index);
    }
  }
}

SetMessage ReadSet(const Napi::Object& o) {
  SetMessage m;
  m.op = ReadOp(o);
  m.family = ReadInt<uint32_t>(o, "family");
  m.table = ReadName(o, "table", kMaxNameBytes);
  m.name = ReadName(o, "name", kMaxNameBytes);
  if (Has(o, "id")) m.id = ReadInt<uint32_t>(o, "id");
  if (Has(o, "flags")) m.flags = ReadInt<uint32_t>(o, "flags");
  if (Has(o, "keyType")) m.key_type = ReadInt<uint32_t>(o, "keyType");
  if (Has(o, "keyLen")) m.key_len = ReadInt<uint32_t>(o, "keyLen");
  if (Has(o, "dataType")) {
    m.has_data = true;
    m.data_type = ReadInt<uint32_t>(o, "dataType");
    m.data_len = ReadInt<uint32_t>(o, "dataLen");
  }
  if (Has(o, "policy")) {
    m.has_policy = true;
    m.policy = ReadInt<uint32_t>(o, "policy");
  }
  if (Has(o, "keyByteorder")) m.key_byteorder = ReadInt<uint32_t>(o, "keyByteorder");
  if (Has(o, "dataByteorder")) m.data_byteorder = ReadInt<uint32_t>(o, "dataByteorder");
  if (Has(o, "concat")) {
    Napi::Array fields = ReadArray(o, "concat");
    if (fields.Length() < 2 || fields.Length() > kMaxConcatFields) {
      throw Napi::RangeError::New(o.Env(), "concat must hold 2 to 16 field lengths");
    }
    for (uint32_t i = 0; i < fields.Length(); i++) {
      m.concat.push_back(static_cast<uint8_t>(AsInteger(fields.Get(i), "concat", 1, 255)));
    }
  }
  if (Has(o, "comment")) {
    m.has_comment = true;
    m.comment = ReadComment(o);
  }
  if (Has(o, "counter")) m.counter = ReadBool(o, "counter");
  return m;
}

// The length of one key or value: 1 to kMaxValueBytes, so that one element
// always fits an element list and the list always moves on.
uint32_t ReadValueLength(const Napi::Object& o, const char* name) {
  double length = AsInteger(o.Get(name), name, 1, kMaxValueBytes);
  return static_cast<uint32_t>(length);
}

// The field `name` holds `count` values of `length` bytes each.
void CheckPacked(const Napi::Object& o, const std::string& bytes, size_t count, uint32_t length, const char* name,
                 const char* length_name) {
  if (bytes.size() != count * length) {
    throw Napi::RangeError::New(o.Env(), std::string(name) + " must hold count * " + length_name + " bytes");
  }
}

ElementsMessage ReadElements(const Napi::Object& o) {
  ElementsMessage m;
  m.op = ReadOp(o);
  m.family = ReadInt<uint32_t>(o, "family");
  m.table = ReadName(o, "table", kMaxNameBytes);
  m.set = ReadName(o, "set", kMaxNameBytes);
  m.key_len = ReadValueLength(o, "keyLen");
  m.keys = ReadBytes(o, "keys");
  // No more elements than key bytes, whatever the count says.
  m.count = static_cast<size_t>(AsInteger(o.Get("count"), "count", 0, static_cast<double>(m.keys.size())));
  CheckPacked(o, m.keys, m.count, m.key_len, "keys", "keyLen");
  if (Has(o, "keyEnds")) {
    m.key_ends = ReadBytes(o, "keyEnds");
    CheckPacked(o, m.key_ends, m.count, m.key_len, "keyEnds", "keyLen");
  }
  if (Has(o, "data") && Has(o, "verdicts")) throw Napi::TypeError::New(o.Env(), "data and verdicts exclude each other");
  if (Has(o, "data")) {
    m.data_len = ReadValueLength(o, "dataLen");
    m.data = ReadBytes(o, "data");
    CheckPacked(o, m.data, m.count, m.data_len, "data", "dataLen");
  }
  if (Has(o, "verdicts")) {
    Napi::Array verdicts = ReadArray(o, "verdicts");
    if (verdicts.Length() != m.count) throw Napi::RangeError::New(o.Env(), "verdicts must hold count entries");
    m.verdicts.reserve(m.count);
    for (uint32_t i = 0; i < verdicts.Length(); i++) {
      Napi::Object v = AsObject(verdicts.Get(i), "verdicts[" + std::to_string(i) + "]");
      m.verdicts.push_back(
          Verdict{ReadInt<int32_t>(v, "code"), Has(v, "chain") ? ReadName(v, "chain", kMaxNameBytes) : std::string()});
    }
  }
  return m;
}

// ---- Encoding (worker thread) ----------------------------------------------

// The element list of one message is a nested attribute whose length is 16 bits.
constexpr size_t kMaxElementListBytes = 0xFFFF - 64;

class BatchWriter {
 public:
  explicit BatchWriter(uint32_t first_seq) : seq_(first_seq) { encoded_.first_seq = first_seq; }

  // Starts a netlink message for batch object `object` and returns its header.
  nlmsghdr* Begin(uint16_t type, uint16_t family, uint16_t flags, long object, size_t room = kMessageHeadroom) {
    Reserve(room);
    nlmsghdr* nlh = nftnl_nlmsg_build_hdr(Tail(), type, family, flags | NLM_F_ACK, seq_++);
    encoded_.object_of_message.push_back(object);
    return nlh;
  }

  void End(nlmsghdr* nlh) { used_ += NLMSG_ALIGN(nlh->nlmsg_len); }

  // The sequence number of the next message begun.
  uint32_t next_seq() const { return seq_; }

  void Control(uint16_t type, bool with_generation, uint32_t generation) {
    Reserve(256);
    nlmsghdr* nlh = mnl_nlmsg_put_header(Tail());
    nlh->nlmsg_type = type;
    nlh->nlmsg_flags = NLM_F_REQUEST;
    nlh->nlmsg_seq = seq_++;
    auto* nfg = static_cast<nfgenmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(nfgenmsg)));
    nfg->nfgen_family = AF_UNSPEC;
    nfg->version = NFNETLINK_V0;
    nfg->res_id = htons(NFNL_SUBSYS_NFTABLES);
    if (with_generation) mnl_attr_put_u32(nlh, NFNL_BATCH_GENID, htonl(generation));
    used_ += NLMSG_ALIGN(nlh->nlmsg_len);
  }

  EncodedBatch Finish() {
    encoded_.bytes.resize(used_);
    return std::move(encoded_);
  }

 private:
  char* Tail() { return encoded_.bytes.data() + used_; }
  void Reserve(size_t room) {
    if (encoded_.bytes.size() - used_ < room) encoded_.bytes.resize(std::max(encoded_.bytes.size() * 2, used_ + room));
  }

  EncodedBatch encoded_;
  size_t used_ = 0;
  uint32_t seq_;
};

uint16_t CreateFlags(BatchOp op) {
  return op == BatchOp::kCreate ? (NLM_F_CREATE | NLM_F_EXCL) : NLM_F_CREATE;
}


void EncodeTable(BatchWriter& w, const TableMessage& m, long index) {
  Owned<nftnl_table, nftnl_table_free> table(nftnl_table_alloc());
  nftnl_table_set_str(table.get(), NFTNL_TABLE_NAME, m.name.c_str());
  nlmsghdr* nlh;
  if (m.op == BatchOp::kFlush) {
    // Flushing a table deletes the rules of all its chains.
    Owned<nftnl_rule, nftnl_rule_free> rule(nftnl_rule_alloc());
    nftnl_rule_set_str(rule.get(), NFTNL_RULE_TABLE, m.name.c_str());
    nlh = w.Begin(NFT_MSG_DELRULE, m.family, 0, index);
    nftnl_rule_nlmsg_build_payload(nlh, rule.get());
  } else if (m.op == BatchOp::kDelete) {
    nlh = w.Begin(NFT_MSG_DELTABLE, m.family, 0, index);
    nftnl_table_nlmsg_build_payload(nlh, table.get());
  } else {
    nftnl_table_set_u32(table.get(), NFTNL_TABLE_FLAGS, m.flags);
    nlh = w.Begin(NFT_MSG_NEWTABLE, m.family, CreateFlags(m.op), index);
    nftnl_table_nlmsg_build_payload(nlh, table.get());
  }
  w.End(nlh);
}

void EncodeChain(BatchWriter& w, const ChainMessage& m, long index) {
  nlmsghdr* nlh;
  if (m.op == BatchOp::kFlush) {
    Owned<nftnl_rule, nftnl_rule_free> rule(nftnl_rule_alloc());
    nftnl_rule_set_str(rule.get(), NFTNL_RULE_TABLE, m.table.c_str());
    nftnl_rule_set_str(rule.get(), NFTNL_RULE_CHAIN, m.name.c_str());
    nlh = w.Begin(NFT_MSG_DELRULE, m.family, 0, index);
    nftnl_rule_nlmsg_build_payload(nlh, rule.get());
    w.End(nlh);
    return;
  }
  Owned<nftnl_chain, nftnl_chain_free> chain(nftnl_chain_alloc());
  nftnl_chain_set_str(chain.get(), NFTNL_CHAIN_TABLE, m.table.c_str());
  nftnl_chain_set_str(chain.get(), NFTNL_CHAIN_NAME, m.name.c_str());
  if (m.op == BatchOp::kDelete) {
    nlh = w.Begin(NFT_MSG_DELCHAIN, m.family, 0, index);
  } else {
    if (m.base) {
      nftnl_chain_set_u32(chain.get(), NFTNL_CHAIN_HOOKNUM, m.hook);
      nftnl_chain_set_s32(chain.get(), NFTNL_CHAIN_PRIO, m.priority);
      nftnl_chain_set_str(chain.get(), NFTNL_CHAIN_TYPE, m.type.c_str());
    }
    if (m.has_policy) nftnl_chain_set_u32(chain.get(), NFTNL_CHAIN_POLICY, m.policy);
    nlh = w.Begin(NFT_MSG_NEWCHAIN, m.family, CreateFlags(m.op), index);
  }
  nftnl_chain_nlmsg_build_payload(nlh, chain.get());
  w.End(nlh);
}

bool AddsRule(const RuleMessage& m) { return m.op == BatchOp::kAdd || m.op == BatchOp::kCreate || m.op == BatchOp::kInsert; }

// `echo`: the kernel sends the rule back as committed, with its handle.
void EncodeRule(BatchWriter& w, const RuleMessage& m, long index, bool echo) {
  Owned<nftnl_rule, nftnl_rule_free> rule(nftnl_rule_alloc());
  nftnl_rule_set_str(rule.get(), NFTNL_RULE_TABLE, m.table.c_str());
  nftnl_rule_set_str(rule.get(), NFTNL_RULE_CHAIN, m.chain.c_str());
  if (m.has_handle) nftnl_rule_set_u64(rule.get(), NFTNL_RULE_HANDLE, m.handle);
  if (m.has_position) nftnl_rule_set_u64(rule.get(), NFTNL_RULE_POSITION, m.position);
  if (!m.exprs.empty()) AddPackedExprs(rule.get(), m.exprs);
  if (m.has_compat) {
    nftnl_rule_set_u32(rule.get(), NFTNL_RULE_COMPAT_PROTO, m.compat_proto);
    nftnl_rule_set_u32(rule.get(), NFTNL_RULE_COMPAT_FLAGS, m.compat_flags);
  }
  if (m.has_comment) {
    // Userdata in the TLV layout nft itself writes, so `nft list` shows the comment.
    Owned<nftnl_udata_buf, nftnl_udata_buf_free> udata(nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN));
    nftnl_udata_put_strz(udata.get(), NFTNL_UDATA_RULE_COMMENT, m.comment.c_str());
    nftnl_rule_set_data(rule.get(), NFTNL_RULE_USERDATA, nftnl_udata_buf_data(udata.get()),
                        nftnl_udata_buf_len(udata.get()));
  }
  uint16_t type = NFT_MSG_NEWRULE;
  uint16_t flags = 0;
  switch (m.op) {
    case BatchOp::kAdd:
    case BatchOp::kCreate:
      flags = NLM_F_CREATE | NLM_F_APPEND;
      break;
    case BatchOp::kInsert:
      flags = NLM_F_CREATE;
      break;
    case BatchOp::kReplace:
      flags = NLM_F_REPLACE;
      break;
    case BatchOp::kDelete:
    case BatchOp::kFlush:
      type = NFT_MSG_DELRULE;
      break;
  }
  nlmsghdr* nlh = w.Begin(type, m.family, echo ? flags | NLM_F_ECHO : flags, index);
  nftnl_rule_nlmsg_build_payload(nlh, rule.get());
  w.End(nlh);
}

void EncodeSet(BatchWriter& w, const SetMessage& m, long index) {
  Owned<nftnl_set, nftnl_set_free> set(nftnl_set_alloc());
  nftnl_set_set_str(set.get(), NFTNL_SET_TABLE, m.table.c_str());
  nftnl_set_set_str(set.get(), NFTNL_SET_NAME, m.name.c_str());
  nlmsghdr* nlh;
  if (m.op == BatchOp::kFlush) {
    nlh = w.Begin(NFT_MSG_DELSETELEM, m.family, 0, index);
    nftnl_set_elems_nlmsg_build_payload(nlh, set.get());
  } else if (m.op == BatchOp::kDelete) {
    nlh = w.Begin(NFT_MSG_DELSET, m.family, 0, index);
    nftnl_set_nlmsg_build_payload(nlh, set.get());
  } else {
    nftnl_set_set_u32(set.get(), NFTNL_SET_FAMILY, m.family);
    nftnl_set_set_u32(set.get(), NFTNL_SET_ID, m.id);
    nftnl_set_set_u32(set.get(), NFTNL_SET_FLAGS, m.flags);
    nftnl_set_set_u32(set.get(), NFTNL_SET_KEY_TYPE, m.key_type);
    nftnl_set_set_u32(set.get(), NFTNL_SET_KEY_LEN, m.key_len);
    if (m.has_data) {
      nftnl_set_set_u32(set.get(), NFTNL_SET_DATA_TYPE, m.data_type);
      nftnl_set_set_u32(set.get(), NFTNL_SET_DATA_LEN, m.data_len);
    }
    if (m.has_policy) nftnl_set_set_u32(set.get(), NFTNL_SET_POLICY, m.policy);
    if (!m.concat.empty()) {
      nftnl_set_set_data(set.get(), NFTNL_SET_DESC_CONCAT, m.concat.data(), static_cast<uint32_t>(m.concat.size()));
    }
    // The kernel gives each element added without expressions of its own a copy of the set's.
    if (m.counter) nftnl_set_add_expr(set.get(), nftnl_expr_alloc("counter"));
    Owned<nftnl_udata_buf, nftnl_udata_buf_free> udata(nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN));
    if (m.key_byteorder != 0) nftnl_udata_put_u32(udata.get(), NFTNL_UDATA_SET_KEYBYTEORDER, m.key_byteorder);
    if (m.data_byteorder != 0) nftnl_udata_put_u32(udata.get(), NFTNL_UDATA_SET_DATABYTEORDER, m.data_byteorder);
    if (m.has_comment) nftnl_udata_put_strz(udata.get(), NFTNL_UDATA_SET_COMMENT, m.comment.c_str());
    if (nftnl_udata_buf_len(udata.get()) > 0) {
      nftnl_set_set_data(set.get(), NFTNL_SET_USERDATA, nftnl_udata_buf_data(udata.get()),
                         nftnl_udata_buf_len(udata.get()));
    }
    nlh = w.Begin(NFT_MSG_NEWSET, m.family, CreateFlags(m.op), index);
    nftnl_set_nlmsg_build_payload(nlh, set.get());
  }
  w.End(nlh);
}

size_t ElementBytes(const ElementsMessage& m, size_t i) {
  size_t bytes = MNL_ATTR_HDRLEN * 3 + MNL_ALIGN(m.key_len);  // list elem, key nest, key value
  if (!m.key_ends.empty()) bytes += MNL_ATTR_HDRLEN * 2 + MNL_ALIGN(m.key_len);
  if (!m.data.empty()) bytes += MNL_ATTR_HDRLEN * 2 + MNL_ALIGN(m.data_len);
  if (!m.verdicts.empty()) {
    bytes += MNL_ATTR_HDRLEN * 3 + MNL_ALIGN(sizeof(uint32_t));  // data nest, verdict nest, code
    if (!m.verdicts[i].chain.empty()) bytes += MNL_ATTR_HDRLEN + MNL_ALIGN(m.verdicts[i].chain.size() + 1);
  }
  return bytes;
}

void PutElement(nlmsghdr* nlh, const ElementsMessage& m, size_t i) {
  nlattr* element = mnl_attr_nest_start(nlh, NFTA_LIST_ELEM);
  nlattr* key = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_KEY);
  mnl_attr_put(nlh, NFTA_DATA_VALUE, m.key_len, m.keys.data() + i * m.key_len);
  mnl_attr_nest_end(nlh, key);
  if (!m.key_ends.empty()) {
    nlattr* key_end = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_KEY_END);
    mnl_attr_put(nlh, NFTA_DATA_VALUE, m.key_len, m.key_ends.data() + i * m.key_len);
    mnl_attr_nest_end(nlh, key_end);
  }
  if (!m.data.empty()) {
    nlattr* data = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_DATA);
    mnl_attr_put(nlh, NFTA_DATA_VALUE, m.data_len, m.data.data() + i * m.data_len);
    mnl_attr_nest_end(nlh, data);
  } else if (!m.verdicts.empty()) {
    nlattr* data = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_DATA);
    nlattr* verdict = mnl_attr_nest_start(nlh, NFTA_DATA_VERDICT);
    mnl_attr_put_u32(nlh, NFTA_VERDICT_CODE, htonl(static_cast<uint32_t>(m.verdicts[i].code)));
    if (!m.verdicts[i].chain.empty()) mnl_attr_put_strz(nlh, NFTA_VERDICT_CHAIN, m.verdicts[i].chain.c_str());
    mnl_attr_nest_end(nlh, verdict);
    mnl_attr_nest_end(nlh, data);
  }
  mnl_attr_nest_end(nlh, element);
}

// Elements are written with libmnl directly: one libnftnl object per element
// would cost an allocation each for lists of 100,000.
void EncodeElements(BatchWriter& w, const ElementsMessage& m, long index) {
  uint16_t type = m.op == BatchOp::kDelete ? NFT_MSG_DELSETELEM : NFT_MSG_NEWSETELEM;
  uint16_t flags = m.op == BatchOp::kDelete ? 0 : CreateFlags(m.op);
  size_t next = 0;
  while (next < m.count) {
    nlmsghdr* nlh = w.Begin(type, m.family, flags, index, kMaxElementListBytes + kMessageHeadroom);
    mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, m.table.c_str());
    mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, m.set.c_str());
    nlattr* list = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_LIST_ELEMENTS);
    size_t list_bytes = MNL_ATTR_HDRLEN;
    while (next < m.count && list_bytes + ElementBytes(m, next) <= kMaxElementListBytes) {
      list_bytes += ElementBytes(m, next);
      PutElement(nlh, m, next++);
    }
    mnl_attr_nest_end(nlh, list);
    w.End(nlh);
  }
}

}  // namespace

Batch ReadBatch(const Napi::Array& messages, const Napi::Value& generation) {
  constexpr const char* kOperation = "nft.commit";
  Batch batch;
  batch.messages.reserve(messages.Length());
  for (uint32_t i = 0; i < messages.Length(); i++) {
    std::string field = "messages[" + std::to_string(i) + "]";
    // Objects are counted as NftBatch counts them: each rule of a run one.
    long index = static_cast<long>(batch.messages.size());
    ReadItem(kOperation, field, index, [&] {
      Napi::Object o = AsObject(messages.Get(i), "the message");
      std::string kind = ReadString(o, "kind");
      if (kind == "table") batch.messages.push_back(ReadTable(o));
      else if (kind == "chain") batch.messages.push_back(ReadChain(o));
      else if (kind == "rules") ReadRules(o, field, batch.messages);
      else if (kind == "set") batch.messages.push_back(ReadSet(o));
      else if (kind == "elements") batch.messages.push_back(ReadElements(o));
      else throw Napi::TypeError::New(o.Env(), "unknown kind " + kind);
    });
  }
  if (!generation.IsUndefined()) {
    batch.has_generation = true;
    batch.generation = AsInt<uint32_t>(generation, "generation");
  }
  return batch;
}

namespace {

// The table a message is about, by family and name.
std::pair<uint32_t, std::string> TableOf(const BatchMessage& message) {
  return std::visit(
      [](const auto& m) -> std::pair<uint32_t, std::string> {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, TableMessage>) return {m.family, m.name};
        else return {m.family, m.table};
      },
      message);
}

// The segments of rules each table's consecutive messages add: any other
// message of the table ends its segment, whether or not it takes a handle.
std::vector<RuleSegment> RuleSegments(const Batch& batch) {
  std::vector<RuleSegment> segments;
  std::map<std::pair<uint32_t, std::string>, size_t> open;
  for (size_t i = 0; i < batch.messages.size(); i++) {
    auto table = TableOf(batch.messages[i]);
    const auto* rule = std::get_if<RuleMessage>(&batch.messages[i]);
    if (rule == nullptr || !AddsRule(*rule)) {
      open.erase(table);
      continue;
    }
    auto [segment, added] = open.try_emplace(table, segments.size());
    if (added) segments.emplace_back();
    segments[segment->second].objects.push_back(static_cast<long>(i));
  }
  return segments;
}

}  // namespace

EncodedBatch EncodeBatch(const Batch& batch, uint32_t first_seq) {
  BatchWriter writer(first_seq);
  std::vector<RuleSegment> segments = RuleSegments(batch);
  // Per batch object: its segment, and whether it is the segment's first or last rule.
  std::vector<RuleSegment*> segment_of(batch.messages.size(), nullptr);
  for (auto& segment : segments) {
    for (long object : segment.objects) segment_of[object] = &segment;
  }
  writer.Control(NFNL_MSG_BATCH_BEGIN, batch.has_generation, batch.generation);
  for (size_t i = 0; i < batch.messages.size(); i++) {
    long index = static_cast<long>(i);
    RuleSegment* segment = segment_of[i];
    bool first = segment != nullptr && segment->objects.front() == index;
    bool last = segment != nullptr && segment->objects.back() == index;
    if (first) segment->first_seq = writer.next_seq();
    if (last) segment->last_seq = writer.next_seq();
    std::visit(
        [&](const auto& message) {
          using T = std::decay_t<decltype(message)>;
          if constexpr (std::is_same_v<T, TableMessage>) EncodeTable(writer, message, index);
          if constexpr (std::is_same_v<T, ChainMessage>) EncodeChain(writer, message, index);
          if constexpr (std::is_same_v<T, RuleMessage>) EncodeRule(writer, message, index, first || last);
          if constexpr (std::is_same_v<T, SetMessage>) EncodeSet(writer, message, index);
          if constexpr (std::is_same_v<T, ElementsMessage>) EncodeElements(writer, message, index);
        },
        batch.messages[i]);
  }
  writer.Control(NFNL_MSG_BATCH_END, false, 0);
  EncodedBatch encoded = writer.Finish();
  encoded.rule_segments = std::move(segments);
  return encoded;
}

}  // namespace bridgewall
