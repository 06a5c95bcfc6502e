// NftConnection: the JavaScript handle on one netfilter netlink socket.
#pragma once

#include <napi.h>

#include <memory>

#include "addon_data.h"
#include "nft/socket.h"

namespace bridgewall {

class NftConnection : public Napi::ObjectWrap<NftConnection>, public Closable {
 public:
  static void Init(Napi::Env env, Napi::Object exports);
  explicit NftConnection(const Napi::CallbackInfo& info);
  ~NftConnection() override;

  void Close() override;

 private:
  static Napi::Value Open(const Napi::CallbackInfo& info);
  Napi::Value Generation(const Napi::CallbackInfo& info);
  Napi::Value Commit(const Napi::CallbackInfo& info);
  Napi::Value DumpTable(const Napi::CallbackInfo& info);
  Napi::Value ListTables(const Napi::CallbackInfo& info);
  Napi::Value ClearConntrack(const Napi::CallbackInfo& info);
  Napi::Value CloseMethod(const Napi::CallbackInfo& info);

  // Throws a typed EBADF error once the connection is closed.
  std::shared_ptr<NetlinkSocket> Socket(Napi::Env env, const char* operation);

  std::shared_ptr<NetlinkSocket> socket_;
  AddonData* data_ = nullptr;
};

}  // namespace bridgewall
