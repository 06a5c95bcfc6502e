#include "nft/dump.h"

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/gen.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>

#include <string_view>
#include <linux/netfilter/nf_tables.h>

#include <endian.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <unordered_set>

#include "nft/owned.h"

#include "error.h"

namespace bridgewall {

namespace {

constexpr size_t kRequestBytes = 4096;

std::string StringOrEmpty(const char* value) { return value == nullptr ? std::string() : std::string(value); }

// Finds the comment in nft's userdata TLVs.
bool ParseComment(const void* data, uint32_t len, uint8_t type, std::string* comment) {
  struct Context {
    uint8_t type;
    std::string* comment;
    bool found;
  } context{type, comment, false};
  nftnl_udata_parse(
      data, len,
      [](const nftnl_udata* attr, void* opaque) -> int {
        auto* ctx = static_cast<Context*>(opaque);
        if (nftnl_udata_type(attr) == ctx->type && nftnl_udata_len(attr) > 0) {
          ctx->comment->assign(static_cast<const char*>(nftnl_udata_get(attr)), nftnl_udata_len(attr) - 1);
          ctx->found = true;
        }
        return 0;
      },
      &context);
  return context.found;
}

void ParseFailure(const char* operation, const char* what) { Fail(EPROTO, operation, std::string("cannot parse ") + what); }

DumpedTable ToTable(const nftnl_table* t) {
  DumpedTable table;
  table.name = StringOrEmpty(nftnl_table_get_str(t, NFTNL_TABLE_NAME));
  table.family = nftnl_table_get_u32(t, NFTNL_TABLE_FAMILY);
  table.flags = nftnl_table_get_u32(t, NFTNL_TABLE_FLAGS);
  table.handle = nftnl_table_get_u64(t, NFTNL_TABLE_HANDLE);
  return table;
}

std::vector<DumpedTable> DumpTables(NetlinkSocket& socket, uint32_t family, const std::string& only) {
  char request[kRequestBytes];
  uint16_t flags = only.empty() ? NLM_F_DUMP : NLM_F_ACK;
  nlmsghdr* nlh = nftnl_nlmsg_build_hdr(request, NFT_MSG_GETTABLE, family, flags, socket.NextSeq());
  if (!only.empty()) {
    Owned<nftnl_table, nftnl_table_free> filter(nftnl_table_alloc());
    nftnl_table_set_str(filter.get(), NFTNL_TABLE_NAME, only.c_str());
    nftnl_table_nlmsg_build_payload(nlh, filter.get());
  }
  std::vector<DumpedTable> tables;
  socket.Request(
      nlh,
      [&](const nlmsghdr* reply) {
        Owned<nftnl_table, nftnl_table_free> t(nftnl_table_alloc());
        if (nftnl_table_nlmsg_parse(reply, t.get()) < 0) ParseFailure("nft.dump", "a table");
        tables.push_back(ToTable(t.get()));
      },
      "nft.dump");
  return tables;
}

void DumpChains(NetlinkSocket& socket, uint32_t family, const std::string& table, TableDump& dump) {
  char request[kRequestBytes];
  nlmsghdr* nlh = nftnl_nlmsg_build_hdr(request, NFT_MSG_GETCHAIN, family, NLM_F_DUMP, socket.NextSeq());
  Owned<nftnl_chain, nftnl_chain_free> filter(nftnl_chain_alloc());
  nftnl_chain_set_str(filter.get(), NFTNL_CHAIN_TABLE, table.c_str());
  nftnl_chain_nlmsg_build_payload(nlh, filter.get());
  socket.Request(
      nlh,
      [&](const nlmsghdr* reply) {
        Owned<nftnl_chain, nftnl_chain_free> c(nftnl_chain_alloc());
        if (nftnl_chain_nlmsg_parse(reply, c.get()) < 0) ParseFailure("nft.dump", "a chain");
        if (StringOrEmpty(nftnl_chain_get_str(c.get(), NFTNL_CHAIN_TABLE)) != table) return;
        DumpedChain chain;
        chain.name = StringOrEmpty(nftnl_chain_get_str(c.get(), NFTNL_CHAIN_NAME));
        chain.handle = nftnl_chain_get_u64(c.get(), NFTNL_CHAIN_HANDLE);
        chain.use = nftnl_chain_get_u32(c.get(), NFTNL_CHAIN_USE);
        if (nftnl_chain_is_set(c.get(), NFTNL_CHAIN_HOOKNUM)) {
          chain.base = true;
          chain.hook = nftnl_chain_get_u32(c.get(), NFTNL_CHAIN_HOOKNUM);
          chain.priority = nftnl_chain_get_s32(c.get(), NFTNL_CHAIN_PRIO);
          chain.type = StringOrEmpty(nftnl_chain_get_str(c.get(), NFTNL_CHAIN_TYPE));
        }
        if (nftnl_chain_is_set(c.get(), NFTNL_CHAIN_POLICY)) {
          chain.has_policy = true;
          chain.policy = nftnl_chain_get_u32(c.get(), NFTNL_CHAIN_POLICY);
        }
        dump.chains.push_back(std::move(chain));
      },
      "nft.dump");
}

void DumpRules(NetlinkSocket& socket, uint32_t family, const std::string& table, const std::vector<uint64_t>& known,
               TableDump& dump) {
  char request[kRequestBytes];
  nlmsghdr* nlh = nftnl_nlmsg_build_hdr(request, NFT_MSG_GETRULE, family, NLM_F_DUMP, socket.NextSeq());
  Owned<nftnl_rule, nftnl_rule_free> filter(nftnl_rule_alloc());
  nftnl_rule_set_str(filter.get(), NFTNL_RULE_TABLE, table.c_str());
  nftnl_rule_nlmsg_build_payload(nlh, filter.get());
  socket.Request(
      nlh,
      [&](const nlmsghdr* reply) {
        Owned<nftnl_rule, nftnl_rule_free> r(nftnl_rule_alloc());
        if (nftnl_rule_nlmsg_parse(reply, r.get()) < 0) ParseFailure("nft.dump", "a rule");
        if (StringOrEmpty(nftnl_rule_get_str(r.get(), NFTNL_RULE_TABLE)) != table) return;
        DumpedRule rule;
        rule.chain = StringOrEmpty(nftnl_rule_get_str(r.get(), NFTNL_RULE_CHAIN));
        rule.handle = nftnl_rule_get_u64(r.get(), NFTNL_RULE_HANDLE);
        if (std::binary_search(known.begin(), known.end(), rule.handle)) {
          rule.known = true;
          nftnl_expr_foreach(
              r.get(),
              [](nftnl_expr* e, void* data) -> int {
                if (std::string_view(nftnl_expr_get_str(e, NFTNL_EXPR_NAME)) != "counter") return 0;
                auto* known_rule = static_cast<DumpedRule*>(data);
                known_rule->has_counter = true;
                known_rule->packets = nftnl_expr_get_u64(e, NFTNL_EXPR_CTR_PACKETS);
                known_rule->bytes = nftnl_expr_get_u64(e, NFTNL_EXPR_CTR_BYTES);
                return 0;
              },
              &rule);
          dump.rules.push_back(std::move(rule));
          return;
        }
        nftnl_expr_foreach(
            r.get(),
            [](nftnl_expr* e, void* data) -> int {
              static_cast<DumpedRule*>(data)->exprs.push_back(DecodeExpr(e));
              return 0;
            },
            &rule);
        if (nftnl_rule_is_set(r.get(), NFTNL_RULE_USERDATA)) {
          uint32_t len = 0;
          const void* udata = nftnl_rule_get_data(r.get(), NFTNL_RULE_USERDATA, &len);
          rule.has_comment = ParseComment(udata, len, NFTNL_UDATA_RULE_COMMENT, &rule.comment);
        }
        dump.rules.push_back(std::move(rule));
      },
      "nft.dump");
}

// The packets and bytes of the element's counter (0 and 0 for an element without one, such as an interval's end).
void AppendCounter(nftnl_set_elem* element, std::vector<uint64_t>& counters) {
  uint64_t counted[2] = {0, 0};
  nftnl_set_elem_expr_foreach(
      element,
      [](nftnl_expr* e, void* data) -> int {
        if (std::strcmp(nftnl_expr_get_str(e, NFTNL_EXPR_NAME), "counter") != 0) return 0;
        auto* out = static_cast<uint64_t*>(data);
        out[0] = nftnl_expr_get_u64(e, NFTNL_EXPR_CTR_PACKETS);
        out[1] = nftnl_expr_get_u64(e, NFTNL_EXPR_CTR_BYTES);
        return 0;
      },
      counted);
  // Big endian, as the JavaScript side reads them whatever the host's order.
  counters.push_back(htobe64(counted[0]));
  counters.push_back(htobe64(counted[1]));
}

void DumpElements(NetlinkSocket& socket, uint32_t family, const std::string& table, DumpedSet& set) {
  char request[kRequestBytes];
  nlmsghdr* nlh = nftnl_nlmsg_build_hdr(request, NFT_MSG_GETSETELEM, family, NLM_F_DUMP, socket.NextSeq());
  Owned<nftnl_set, nftnl_set_free> filter(nftnl_set_alloc());
  nftnl_set_set_str(filter.get(), NFTNL_SET_TABLE, table.c_str());
  nftnl_set_set_str(filter.get(), NFTNL_SET_NAME, set.name.c_str());
  nftnl_set_elems_nlmsg_build_payload(nlh, filter.get());
  socket.Request(
      nlh,
      [&](const nlmsghdr* reply) {
        Owned<nftnl_set, nftnl_set_free> s(nftnl_set_alloc());
        if (nftnl_set_elems_nlmsg_parse(reply, s.get()) < 0) ParseFailure("nft.dump", "set elements");
        Owned<nftnl_set_elems_iter, nftnl_set_elems_iter_destroy> it(nftnl_set_elems_iter_create(s.get()));
        for (nftnl_set_elem* e = nftnl_set_elems_iter_next(it.get()); e != nullptr;
             e = nftnl_set_elems_iter_next(it.get())) {
          uint32_t len = 0;
          const char* key = static_cast<const char*>(nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &len));
          set.keys.append(key, len);
          // An element without a closing key (in a set where others have one) is one value: its key closes it.
          if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_KEY_END)) {
            set.key_ends.append(set.keys, set.key_ends.size(), set.keys.size() - len - set.key_ends.size());
            uint32_t end_len = 0;
            const char* end = static_cast<const char*>(nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY_END, &end_len));
            set.key_ends.append(end, end_len);
          } else if (!set.key_ends.empty()) {
            set.key_ends.append(key, len);
          }
          if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_DATA)) {
            const char* data = static_cast<const char*>(nftnl_set_elem_get(e, NFTNL_SET_ELEM_DATA, &len));
            set.data.append(data, len);
          } else if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_VERDICT)) {
            set.verdicts.push_back(Verdict{static_cast<int32_t>(nftnl_set_elem_get_u32(e, NFTNL_SET_ELEM_VERDICT)),
                                           StringOrEmpty(nftnl_set_elem_get_str(e, NFTNL_SET_ELEM_CHAIN))});
          }
          if (set.counter) AppendCounter(e, set.counters);
          set.count++;
        }
      },
      "nft.dump");
}

void DumpSets(NetlinkSocket& socket, uint32_t family, const std::string& table, TableDump& dump) {
  char request[kRequestBytes];
  nlmsghdr* nlh = nftnl_nlmsg_build_hdr(request, NFT_MSG_GETSET, family, NLM_F_DUMP, socket.NextSeq());
  Owned<nftnl_set, nftnl_set_free> filter(nftnl_set_alloc());
  nftnl_set_set_str(filter.get(), NFTNL_SET_TABLE, table.c_str());
  nftnl_set_nlmsg_build_payload(nlh, filter.get());
  socket.Request(
      nlh,
      [&](const nlmsghdr* reply) {
        Owned<nftnl_set, nftnl_set_free> s(nftnl_set_alloc());
        if (nftnl_set_nlmsg_parse(reply, s.get()) < 0) ParseFailure("nft.dump", "a set");
        if (StringOrEmpty(nftnl_set_get_str(s.get(), NFTNL_SET_TABLE)) != table) return;
        DumpedSet set;
        set.name = StringOrEmpty(nftnl_set_get_str(s.get(), NFTNL_SET_NAME));
        set.handle = nftnl_set_get_u64(s.get(), NFTNL_SET_HANDLE);
        set.flags = nftnl_set_get_u32(s.get(), NFTNL_SET_FLAGS);
        set.key_type = nftnl_set_get_u32(s.get(), NFTNL_SET_KEY_TYPE);
        set.key_len = nftnl_set_get_u32(s.get(), NFTNL_SET_KEY_LEN);
        if (nftnl_set_is_set(s.get(), NFTNL_SET_DATA_TYPE)) {
          set.has_data = true;
          set.data_type = nftnl_set_get_u32(s.get(), NFTNL_SET_DATA_TYPE);
          set.data_len = nftnl_set_get_u32(s.get(), NFTNL_SET_DATA_LEN);
        }
        if (nftnl_set_is_set(s.get(), NFTNL_SET_USERDATA)) {
          uint32_t len = 0;
          const void* udata = nftnl_set_get_data(s.get(), NFTNL_SET_USERDATA, &len);
          set.has_comment = ParseComment(udata, len, NFTNL_UDATA_SET_COMMENT, &set.comment);
        }
        nftnl_set_expr_foreach(
            s.get(),
            [](nftnl_expr* e, void* data) -> int {
              if (std::strcmp(nftnl_expr_get_str(e, NFTNL_EXPR_NAME), "counter") == 0) *static_cast<bool*>(data) = true;
              return 0;
            },
            &set.counter);
        dump.sets.push_back(std::move(set));
      },
      "nft.dump");
  for (auto& set : dump.sets) {
    // Anonymous sets belong to the rule that uses them and list with it.
    if ((set.flags & NFT_SET_ANONYMOUS) == 0) DumpElements(socket, family, table, set);
  }
}

Napi::Buffer<uint8_t> BytesToJs(Napi::Env env, const std::string& bytes) {
  return Napi::Buffer<uint8_t>::Copy(env, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
}

Napi::Value U64ToJs(Napi::Env env, uint64_t value) { return Napi::Number::New(env, static_cast<double>(value)); }

}  // namespace

uint32_t ReadGeneration(NetlinkSocket& socket) {
  char request[kRequestBytes];
  nlmsghdr* nlh = nftnl_nlmsg_build_hdr(request, NFT_MSG_GETGEN, AF_UNSPEC, NLM_F_ACK, socket.NextSeq());
  uint32_t generation = 0;
  socket.Request(
      nlh,
      [&](const nlmsghdr* reply) {
        Owned<nftnl_gen, nftnl_gen_free> gen(nftnl_gen_alloc());
        if (nftnl_gen_nlmsg_parse(reply, gen.get()) < 0) ParseFailure("nft.generation", "the generation");
        generation = nftnl_gen_get_u32(gen.get(), NFTNL_GEN_ID);
      },
      "nft.generation");
  return generation;
}

// Whether an element of the set came twice. The kernel walks a hash set's
// elements again for each part of the dump, skipping as many as it gave
// before; while the table is being resized (after a commit that added many,
// its growth is deferred work) a walk can give an element twice, and the
// generation does not change: a dump with a repeated key is read again, or
// the repeat would be taken for an element of another to delete.
bool RepeatsAnElement(const DumpedSet& set) {
  if (set.count < 2) return false;
  const size_t length = set.keys.size() / set.count;
  if (!set.key_ends.empty()) {
    // An interval is its key and closing key together.
    std::unordered_set<std::string> seen;
    for (size_t i = 0; i < set.count; ++i) {
      if (!seen.insert(set.keys.substr(i * length, length) + set.key_ends.substr(i * length, length)).second) return true;
    }
    return false;
  }
  std::unordered_set<std::string_view> seen;
  seen.reserve(set.count);
  for (size_t i = 0; i < set.count; ++i) {
    if (!seen.insert(std::string_view(set.keys).substr(i * length, length)).second) return true;
  }
  return false;
}

TableDump ReadTable(NetlinkSocket& socket, uint32_t family, const std::string& name,
                    const std::vector<uint64_t>& known) {
  TableDump dump;
  dump.generation = ReadGeneration(socket);
  try {
    dump.table = DumpTables(socket, family, name).at(0);
  } catch (const FailureError& error) {
    if (error.failure().errnum != ENOENT) throw;
    return dump;
  }
  dump.exists = true;
  DumpChains(socket, family, name, dump);
  DumpRules(socket, family, name, known, dump);
  DumpSets(socket, family, name, dump);
  dump.consistent = ReadGeneration(socket) == dump.generation;
  for (const DumpedSet& set : dump.sets) dump.consistent = dump.consistent && !RepeatsAnElement(set);
  return dump;
}

std::vector<DumpedTable> ReadTables(NetlinkSocket& socket, uint32_t family) { return DumpTables(socket, family, ""); }

Napi::Object TableToJs(Napi::Env env, const DumpedTable& table) {
  Napi::Object object = Napi::Object::New(env);
  object.Set("name", table.name);
  object.Set("family", table.family);
  object.Set("flags", table.flags);
  object.Set("handle", U64ToJs(env, table.handle));
  return object;
}

Napi::Object TableDumpToJs(Napi::Env env, const TableDump& dump) {
  Napi::Object object = Napi::Object::New(env);
  object.Set("generation", dump.generation);
  object.Set("consistent", dump.consistent);
  object.Set("table", dump.exists ? Napi::Value(TableToJs(env, dump.table)) : env.Null());

  Napi::Array chains = Napi::Array::New(env, dump.chains.size());
  for (size_t i = 0; i < dump.chains.size(); i++) {
    const DumpedChain& c = dump.chains[i];
    Napi::Object chain = Napi::Object::New(env);
    chain.Set("name", c.name);
    chain.Set("handle", U64ToJs(env, c.handle));
    chain.Set("use", c.use);
    if (c.base) {
      chain.Set("hook", c.hook);
      chain.Set("priority", c.priority);
      chain.Set("type", c.type);
    }
    if (c.has_policy) chain.Set("policy", c.policy);
    chains.Set(i, chain);
  }
  object.Set("chains", chains);

  Napi::Array rules = Napi::Array::New(env, dump.rules.size());
  for (size_t i = 0; i < dump.rules.size(); i++) {
    const DumpedRule& r = dump.rules[i];
    Napi::Object rule = Napi::Object::New(env);
    rule.Set("chain", r.chain);
    rule.Set("handle", U64ToJs(env, r.handle));
    if (r.known) {
      rule.Set("known", true);
      rule.Set("exprs", Napi::Array::New(env, 0));
      if (r.has_counter) {
        rule.Set("packets", U64ToJs(env, r.packets));
        rule.Set("bytes", U64ToJs(env, r.bytes));
      }
      rules.Set(i, rule);
      continue;
    }
    Napi::Array exprs = Napi::Array::New(env, r.exprs.size());
    for (size_t j = 0; j < r.exprs.size(); j++) exprs.Set(j, ExprToJs(env, r.exprs[j]));
    rule.Set("exprs", exprs);
    if (r.has_comment) rule.Set("comment", r.comment);
    rules.Set(i, rule);
  }
  object.Set("rules", rules);

  Napi::Array sets = Napi::Array::New(env, dump.sets.size());
  for (size_t i = 0; i < dump.sets.size(); i++) {
    const DumpedSet& s = dump.sets[i];
    Napi::Object set = Napi::Object::New(env);
    set.Set("name", s.name);
    set.Set("handle", U64ToJs(env, s.handle));
    set.Set("flags", s.flags);
    set.Set("keyType", s.key_type);
    set.Set("keyLen", s.key_len);
    if (s.has_data) {
      set.Set("dataType", s.data_type);
      set.Set("dataLen", s.data_len);
    }
    if (s.has_comment) set.Set("comment", s.comment);
    if (s.counter) {
      set.Set("counter", true);
      set.Set("counters", Napi::Buffer<uint64_t>::Copy(env, s.counters.data(), s.counters.size()));
    }
    set.Set("count", static_cast<double>(s.count));
    set.Set("keys", BytesToJs(env, s.keys));
    if (!s.key_ends.empty()) set.Set("keyEnds", BytesToJs(env, s.key_ends));
    if (!s.data.empty()) set.Set("data", BytesToJs(env, s.data));
    if (!s.verdicts.empty()) {
      Napi::Array verdicts = Napi::Array::New(env, s.verdicts.size());
      for (size_t j = 0; j < s.verdicts.size(); j++) {
        Napi::Object v = Napi::Object::New(env);
        v.Set("code", s.verdicts[j].code);
        if (!s.verdicts[j].chain.empty()) v.Set("chain", s.verdicts[j].chain);
        verdicts.Set(j, v);
      }
      set.Set("verdicts", verdicts);
    }
    sets.Set(i, set);
  }
  object.Set("sets", sets);
  return object;
}

}  // namespace bridgewall
