// IptcTable: one network namespace's legacy iptables tables, changed through
// libiptc in atomic transactions. Created by the asynchronous
// openIptcTable(netnsPath), which opens and checks the namespace off the main
// thread. The namespace descriptor is shared with in-flight work, so close()
// never pulls it from under a running transaction.
#pragma once

#include <napi.h>

#include <memory>

#include "addon_data.h"
#include "netns.h"

namespace bridgewall {

class IptcTable : public Napi::ObjectWrap<IptcTable>, public Closable {
 public:
  static void Init(Napi::Env env, Napi::Object exports);

  // Only openIptcTable constructs these, passing the opened namespace.
  explicit IptcTable(const Napi::CallbackInfo& info);
  ~IptcTable() override;

  void Close() override;

 private:
  static Napi::Value Open(const Napi::CallbackInfo& info);
  Napi::Value Transaction(const Napi::CallbackInfo& info);
  Napi::Value Dump(const Napi::CallbackInfo& info);
  Napi::Value Tables(const Napi::CallbackInfo& info);
  Napi::Value CloseFromJs(const Napi::CallbackInfo& info);

  AddonData* addon_;
  std::shared_ptr<NetnsFd> netns_;  // null once closed
};

}  // namespace bridgewall
