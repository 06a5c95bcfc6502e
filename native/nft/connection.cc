#include "nft/connection.h"

#include <endian.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include <algorithm>
#include <map>
#include <cerrno>
#include <mutex>
#include <string>

#include "arguments.h"
#include "conntrack.h"
#include "error.h"
#include "nft/batch.h"
#include "nft/dump.h"
#include "nft/expressions.h"
#include "nft/limits.h"
#include "promise_worker.h"
#include "release_memory.h"

namespace bridgewall {

namespace {

// Turns the kernel's acks into the first failure, with the index of the
// batch object whose message the kernel rejected.
void CheckAcks(const std::vector<Ack>& acks, const EncodedBatch& encoded) {
  const uint32_t begin_seq = encoded.first_seq;
  const size_t messages = encoded.object_of_message.size();
  size_t successes = 0;
  for (const Ack& ack : acks) {
    if (ack.errnum == 0) {
      successes++;
      continue;
    }
    uint32_t offset = ack.seq - begin_seq;
    if (offset == 0) {
      // The batch as a whole: ERESTART when the generation moved on.
      Fail(ack.errnum, "nft.commit",
           ack.errnum == ERESTART ? std::string("the ruleset changed since it was read; read it again and retry")
                                  : std::string("the kernel rejected the batch: ") + std::strerror(ack.errnum));
    }
    long index = offset - 1 < messages ? encoded.object_of_message[offset - 1] : -1;
    Fail(ack.errnum, "nft.commit",
         std::string("the kernel rejected batch object ") + std::to_string(index) + ": " + std::strerror(ack.errnum),
         index);
  }
  if (successes != messages) {
    Fail(EIO, "nft.commit",
         "the kernel acknowledged " + std::to_string(successes) + " of " + std::to_string(messages) + " messages");
  }
}

// The handle of an echoed NEWRULE, by the sequence number of the message it echoes.
void CollectRuleHandle(const nlmsghdr* nlh, std::map<uint32_t, uint64_t>& handles) {
  if (nlh->nlmsg_type != ((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWRULE)) return;
  const auto* attr = static_cast<const nlattr*>(mnl_nlmsg_get_payload_offset(nlh, sizeof(nfgenmsg)));
  const auto* end = static_cast<const char*>(mnl_nlmsg_get_payload_tail(nlh));
  for (; mnl_attr_ok(attr, static_cast<int>(end - reinterpret_cast<const char*>(attr))); attr = mnl_attr_next(attr)) {
    if (mnl_attr_get_type(attr) == NFTA_RULE_HANDLE && mnl_attr_get_payload_len(attr) == sizeof(uint64_t)) {
      handles[nlh->nlmsg_seq] = be64toh(mnl_attr_get_u64(attr));
    }
  }
}

// Per batch object, the handle the kernel gave the rule it added, or 0 where
// unknown: a segment's handles are taken as consecutive only when its first
// and last rules' echoed handles span exactly its rules.
std::vector<double> RuleHandles(const EncodedBatch& encoded, size_t objects, const std::map<uint32_t, uint64_t>& echoed) {
  std::vector<double> handles(objects, 0);
  for (const RuleSegment& segment : encoded.rule_segments) {
    auto first = echoed.find(segment.first_seq);
    auto last = echoed.find(segment.last_seq);
    if (first == echoed.end() || last == echoed.end() || last->second < first->second ||
        last->second - first->second != segment.objects.size() - 1) {
      continue;
    }
    for (size_t i = 0; i < segment.objects.size(); i++) {
      handles[segment.objects[i]] = static_cast<double>(first->second + i);
    }
  }
  return handles;
}

}  // namespace

void NftConnection::Init(Napi::Env env, Napi::Object exports) {
  Napi::Function constructor =
      DefineClass(env, "NftConnection",
                  {
                      InstanceMethod<&NftConnection::Generation>("generation"),
                      InstanceMethod<&NftConnection::Commit>("commit"),
                      InstanceMethod<&NftConnection::DumpTable>("dumpTable"),
                      InstanceMethod<&NftConnection::ListTables>("listTables"),
                      InstanceMethod<&NftConnection::ClearConntrack>("clearConntrack"),
                      InstanceMethod<&NftConnection::CloseMethod>("close"),
                  });
  AddonData::Of(env).nft_connection = Napi::Persistent(constructor);
  exports.Set("openNftConnection", Napi::Function::New(env, Open, "openNftConnection"));
  exports.Set("nftExprLayout", ExprLayoutToJs(env));
}

NftConnection::NftConnection(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NftConnection>(info) {
  if (info.Length() != 1 || !info[0].IsExternal()) {
    throw Napi::TypeError::New(info.Env(), "NftConnection is created by openNftConnection()");
  }
  socket_ = *info[0].As<Napi::External<std::shared_ptr<NetlinkSocket>>>().Data();
  data_ = &AddonData::Of(info.Env());
  data_->Track(this);
}

NftConnection::~NftConnection() { Close(); }

void NftConnection::Close() {
  if (data_ != nullptr) data_->Untrack(this);
  data_ = nullptr;
  // Workers still running hold their own reference; the socket closes after them.
  socket_.reset();
}

Napi::Value NftConnection::CloseMethod(const Napi::CallbackInfo& info) {
  Close();
  return info.Env().Undefined();
}

std::shared_ptr<NetlinkSocket> NftConnection::Socket(Napi::Env env, const char* operation) {
  if (!socket_) throw ToJsError(env, Failure{EBADF, operation, "the nftables connection is closed", -1});
  return socket_;
}

Napi::Value NftConnection::Open(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string netns_path = ReadArguments(env, "nft.open", [&] { return AsNetnsPath(info[0]); });
  using Handle = std::shared_ptr<NetlinkSocket>;
  return PromiseWorker<Handle>::Start(
      env, "nft.open", [netns_path]() { return std::make_shared<NetlinkSocket>(netns_path); },
      [](Napi::Env env, Handle& socket) -> Napi::Value {
        return AddonData::Of(env).nft_connection.New({Napi::External<Handle>::New(env, &socket)});
      });
}

Napi::Value NftConnection::Generation(const Napi::CallbackInfo& info) {
  auto socket = Socket(info.Env(), "nft.generation");
  return PromiseWorker<uint32_t>::Start(
      info.Env(), "nft.generation",
      [socket]() {
        std::lock_guard<std::mutex> lock(socket->mutex());
        return ReadGeneration(*socket);
      },
      [](Napi::Env env, uint32_t& generation) -> Napi::Value { return Napi::Number::New(env, generation); });
}

Napi::Value NftConnection::Commit(const Napi::CallbackInfo& info) {
  auto socket = Socket(info.Env(), "nft.commit");
  auto batch = std::make_shared<Batch>(
      ReadArguments(info.Env(), "nft.commit", [&] { return ReadBatch(AsArray(info[0], "messages"), info[1]); }));
  using Handles = std::vector<double>;
  return PromiseWorker<Handles>::Start(
      info.Env(), "nft.commit",
      [socket, batch]() {
        size_t encoded_bytes;
        size_t objects = batch->messages.size();
        Handles handles;
        {
          std::lock_guard<std::mutex> lock(socket->mutex());
          EncodedBatch encoded = EncodeBatch(*batch, socket->NextSeq(0));
          // Its element buffers are copies of JS memory, not needed once encoded.
          *batch = Batch{};
          socket->NextSeq(static_cast<uint32_t>(encoded.object_of_message.size() + 2));
          std::map<uint32_t, uint64_t> echoed;
          CheckAcks(socket->SendBatch(encoded.bytes, encoded.object_of_message.size(), "nft.commit",
                                      [&](const nlmsghdr* nlh) { CollectRuleHandle(nlh, echoed); }),
                    encoded);
          handles = RuleHandles(encoded, objects, echoed);
          encoded_bytes = encoded.bytes.size();
        }
        ReleaseFreedMemory(encoded_bytes);
        return handles;
      },
      [](Napi::Env env, Handles& handles) -> Napi::Value {
        Napi::Float64Array array = Napi::Float64Array::New(env, handles.size());
        std::copy(handles.begin(), handles.end(), array.Data());
        return array;
      });
}

Napi::Value NftConnection::DumpTable(const Napi::CallbackInfo& info) {
  auto socket = Socket(info.Env(), "nft.dump");
  uint32_t family = ReadArguments(info.Env(), "nft.dump", [&] { return AsInt<uint32_t>(info[0], "family"); });
  std::string name = ReadArguments(info.Env(), "nft.dump", [&] { return AsName(info[1], "name", kMaxNameBytes); });
  // Optional: the handles of rules the caller has decoded, as a Float64Array.
  std::vector<uint64_t> known = ReadArguments(info.Env(), "nft.dump", [&] {
    std::vector<uint64_t> handles;
    if (info.Length() < 3 || info[2].IsUndefined()) return handles;
    if (!info[2].IsTypedArray() || info[2].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array) {
      throw Napi::TypeError::New(info.Env(), "knownHandles must be a Float64Array");
    }
    Napi::Float64Array array = info[2].As<Napi::Float64Array>();
    handles.reserve(array.ElementLength());
    for (size_t i = 0; i < array.ElementLength(); ++i) {
      double value = array[i];
      if (!(value >= 0 && value <= 9007199254740991.0) || value != static_cast<double>(static_cast<uint64_t>(value))) {
        throw Napi::RangeError::New(info.Env(), "knownHandles[" + std::to_string(i) + "] must be a handle");
      }
      handles.push_back(static_cast<uint64_t>(value));
    }
    std::sort(handles.begin(), handles.end());
    return handles;
  });
  return PromiseWorker<TableDump>::Start(
      info.Env(), "nft.dump",
      [socket, family, name, known = std::move(known)]() {
        std::lock_guard<std::mutex> lock(socket->mutex());
        return ReadTable(*socket, family, name, known);
      },
      [](Napi::Env env, TableDump& dump) -> Napi::Value { return TableDumpToJs(env, dump); });
}

Napi::Value NftConnection::ListTables(const Napi::CallbackInfo& info) {
  auto socket = Socket(info.Env(), "nft.dump");
  uint32_t family = ReadArguments(info.Env(), "nft.dump", [&] { return AsInt<uint32_t>(info[0], "family"); });
  using Tables = std::vector<DumpedTable>;
  return PromiseWorker<Tables>::Start(
      info.Env(), "nft.dump",
      [socket, family]() {
        std::lock_guard<std::mutex> lock(socket->mutex());
        return ReadTables(*socket, family);
      },
      [](Napi::Env env, Tables& tables) -> Napi::Value {
        Napi::Array array = Napi::Array::New(env, tables.size());
        for (size_t i = 0; i < tables.size(); i++) array.Set(i, TableToJs(env, tables[i]));
        return array;
      });
}

// Conntrack clearing shares the connection's socket (see conntrack.h): the
// packed filters are copied here and read on the worker.
Napi::Value NftConnection::ClearConntrack(const Napi::CallbackInfo& info) {
  auto socket = Socket(info.Env(), "conntrack.clear");
  std::string packed = ReadArguments(info.Env(), "conntrack.clear", [&] { return AsBytes(info[0], "filters"); });
  return PromiseWorker<uint32_t>::Start(
      info.Env(), "conntrack.clear",
      [socket, packed = std::move(packed)]() {
        std::lock_guard<std::mutex> lock(socket->mutex());
        return bridgewall::ClearConntrack(*socket, packed);
      },
      [](Napi::Env env, uint32_t& deleted) -> Napi::Value { return Napi::Number::New(env, deleted); });
}

}  // namespace bridgewall
