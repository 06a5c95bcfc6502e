#include "iptc/table.h"

#include <cerrno>
#include <utility>
#include <vector>

#include "arguments.h"
#include "error.h"
#include "iptc/js_values.h"
#include "iptc/session.h"
#include "promise_worker.h"

namespace bridgewall {

namespace {

using NetnsHandle = std::shared_ptr<NetnsFd>;

Napi::Promise RejectClosed(Napi::Env env, const char* operation) {
  auto deferred = Napi::Promise::Deferred::New(env);
  deferred.Reject(ToJsError(env, Failure{EBADF, operation, "the IptcTable is closed", -1}).Value());
  return deferred.Promise();
}

// A Buffer of `bytes` that takes them over rather than copying them on the
// main thread, where the runtime allows it (it frees them, at the latest when
// the environment ends).
Napi::Value HandOver(Napi::Env env, std::vector<uint8_t>&& bytes) {
  auto* owned = new std::vector<uint8_t>(std::move(bytes));
  return Napi::Buffer<uint8_t>::NewOrCopy(
      env, owned->data(), owned->size(), [](Napi::Env, uint8_t*, std::vector<uint8_t>* owned) { delete owned; }, owned);
}

}  // namespace

void IptcTable::Init(Napi::Env env, Napi::Object exports) {
  Napi::Function constructor = DefineClass(env, "IptcTable",
                                           {
                                               InstanceMethod<&IptcTable::Transaction>("transaction"),
                                               InstanceMethod<&IptcTable::Dump>("dump"),
                                               InstanceMethod<&IptcTable::Tables>("tables"),
                                               InstanceMethod<&IptcTable::CloseFromJs>("close"),
                                           });
  AddonData::Of(env).iptc_table = Napi::Persistent(constructor);
  exports.Set("openIptcTable", Napi::Function::New<&IptcTable::Open>(env, "openIptcTable"));
}

IptcTable::IptcTable(const Napi::CallbackInfo& info)
    : Napi::ObjectWrap<IptcTable>(info), addon_(&AddonData::Of(info.Env())) {
  if (info.Length() != 1 || !info[0].IsExternal()) {
    throw Napi::TypeError::New(info.Env(), "IptcTable is created by openIptcTable()");
  }
  netns_ = *info[0].As<Napi::External<NetnsHandle>>().Data();
  addon_->Track(this);
}

IptcTable::~IptcTable() { Close(); }

void IptcTable::Close() {
  if (!netns_) return;
  netns_.reset();
  addon_->Untrack(this);
}

Napi::Value IptcTable::Open(const Napi::CallbackInfo& info) {
  std::string path = ReadArguments(info.Env(), "iptc.open", [&] { return AsNetnsPath(info[0]); });
  return PromiseWorker<NetnsHandle>::Start(
      info.Env(), "iptc.open", [path] { return std::make_shared<NetnsFd>(OpenNetns(path, "netns.open")); },
      [](Napi::Env env, NetnsHandle& netns) -> Napi::Value {
        return AddonData::Of(env).iptc_table.New({Napi::External<NetnsHandle>::New(env, &netns)});
      });
}

// transaction(tableChanges, lockPath, lockTimeoutMs): Promise<string[]>, each table's fingerprint once committed
Napi::Value IptcTable::Transaction(const Napi::CallbackInfo& info) {
  constexpr const char* kOperation = "iptc.transaction";
  if (!netns_) return RejectClosed(info.Env(), kOperation);
  // The operations are only copied here; a worker reads them.
  iptc::Transaction transaction = ReadArguments(info.Env(), kOperation, [&] {
    iptc::Transaction read;
    read.tables = iptc::TableChangesFromJs(info[0]);
    read.lock_path = AsName(info[1], "lockPath", PATH_MAX - 1);
    read.lock_timeout_ms = AsInt<uint32_t>(info[2], "lockTimeoutMs");
    return read;
  });
  using Fingerprints = std::vector<std::string>;
  return PromiseWorker<Fingerprints>::Start(
      info.Env(), kOperation,
      [transaction = std::move(transaction), netns = netns_] { return iptc::RunTransaction(transaction, netns->get()); },
      [](Napi::Env env, Fingerprints& fingerprints) -> Napi::Value {
        Napi::Array array = Napi::Array::New(env, fingerprints.size());
        for (size_t i = 0; i < fingerprints.size(); i++) array.Set(i, Napi::String::New(env, fingerprints[i]));
        return array;
      });
}

// dump(family, table): Promise<NativeTableDump>, a Buffer packed on the worker.
Napi::Value IptcTable::Dump(const Napi::CallbackInfo& info) {
  constexpr const char* kOperation = "iptc.dump";
  if (!netns_) return RejectClosed(info.Env(), kOperation);
  iptc::IpVersion ip_version = ReadArguments(info.Env(), kOperation, [&] { return iptc::IpVersionFromJs(info[0]); });
  std::string table = ReadArguments(info.Env(), kOperation, [&] { return iptc::TableNameFromJs(info[1]); });
  return PromiseWorker<iptc::PackedDump>::Start(
      info.Env(), kOperation,
      [ip_version, table, netns = netns_] { return iptc::ReadTable(ip_version, table, netns->get()); },
      [](Napi::Env env, iptc::PackedDump& dump) -> Napi::Value { return HandOver(env, std::move(dump)); });
}

// tables(family): Promise<string[]>, the tables that exist, none opened.
Napi::Value IptcTable::Tables(const Napi::CallbackInfo& info) {
  constexpr const char* kOperation = "iptc.tables";
  if (!netns_) return RejectClosed(info.Env(), kOperation);
  iptc::IpVersion ip_version = ReadArguments(info.Env(), kOperation, [&] { return iptc::IpVersionFromJs(info[0]); });
  using Names = std::vector<std::string>;
  return PromiseWorker<Names>::Start(
      info.Env(), kOperation, [ip_version, netns = netns_] { return iptc::ExistingTables(ip_version, netns->get()); },
      [](Napi::Env env, Names& names) -> Napi::Value {
        Napi::Array array = Napi::Array::New(env, names.size());
        for (size_t i = 0; i < names.size(); i++) array.Set(i, Napi::String::New(env, names[i]));
        return array;
      });
}

Napi::Value IptcTable::CloseFromJs(const Napi::CallbackInfo& info) {
  Close();
  return info.Env().Undefined();
}

}  // namespace bridgewall
