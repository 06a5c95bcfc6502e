#include "bridge_ports.h"

#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>

#include <cerrno>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "arguments.h"
#include "error.h"
#include "netns.h"
#include "promise_worker.h"

namespace bridgewall {

namespace {

constexpr const char* kOperation = "bridge.hairpin";

struct RouteSocket {
  mnl_socket* socket = nullptr;
  uint32_t seq = 1;
  ~RouteSocket() {
    if (socket != nullptr) mnl_socket_close(socket);
  }
};

// Sends one request and runs `callback` on each reply until the dump or the ack ends.
void Talk(RouteSocket& route, nlmsghdr* request, mnl_cb_t callback, void* data) {
  request->nlmsg_seq = route.seq++;
  if (mnl_socket_sendto(route.socket, request, request->nlmsg_len) < 0) FailErrno(kOperation, "cannot send to rtnetlink");
  std::vector<char> buffer(MNL_SOCKET_BUFFER_SIZE * 4);
  for (;;) {
    ssize_t received = mnl_socket_recvfrom(route.socket, buffer.data(), buffer.size());
    if (received < 0) FailErrno(kOperation, "cannot read from rtnetlink");
    int status = mnl_cb_run(buffer.data(), received, request->nlmsg_seq, mnl_socket_get_portid(route.socket), callback, data);
    if (status == MNL_CB_STOP) return;
    if (status < 0) FailErrno(kOperation, "rtnetlink refused the request");
  }
}

// A bridge-family link request about `index` (0 for all links) in `buffer`.
nlmsghdr* LinkRequest(char* buffer, uint16_t type, uint16_t flags, int index) {
  nlmsghdr* request = mnl_nlmsg_put_header(buffer);
  request->nlmsg_type = type;
  request->nlmsg_flags = NLM_F_REQUEST | flags;
  auto* info = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(request, sizeof(ifinfomsg)));
  info->ifi_family = AF_BRIDGE;
  info->ifi_index = index;
  return request;
}

// The indexes of the interfaces enslaved to the bridge.
std::vector<int> BridgePorts(RouteSocket& route, int bridge_index) {
  char buffer[MNL_SOCKET_BUFFER_SIZE];
  nlmsghdr* request = LinkRequest(buffer, RTM_GETLINK, NLM_F_DUMP, 0);
  struct Context {
    int bridge;
    std::vector<int> ports;
  } context{bridge_index, {}};
  Talk(
      route, request,
      [](const nlmsghdr* reply, void* data) -> int {
        auto* ctx = static_cast<Context*>(data);
        auto* link = static_cast<const ifinfomsg*>(mnl_nlmsg_get_payload(reply));
        auto* tail = static_cast<const char*>(mnl_nlmsg_get_payload_tail(reply));
        for (auto* attr = static_cast<const nlattr*>(mnl_nlmsg_get_payload_offset(reply, sizeof(*link)));
             mnl_attr_ok(attr, static_cast<int>(tail - reinterpret_cast<const char*>(attr))); attr = mnl_attr_next(attr)) {
          if (mnl_attr_get_type(attr) == IFLA_MASTER && static_cast<int>(mnl_attr_get_u32(attr)) == ctx->bridge &&
              link->ifi_index != ctx->bridge) {
            ctx->ports.push_back(link->ifi_index);
          }
        }
        return MNL_CB_OK;
      },
      &context);
  return context.ports;
}

void SetHairpin(RouteSocket& route, int port) {
  char buffer[MNL_SOCKET_BUFFER_SIZE];
  nlmsghdr* request = LinkRequest(buffer, RTM_SETLINK, NLM_F_ACK, port);
  nlattr* protinfo = mnl_attr_nest_start(request, IFLA_PROTINFO);
  mnl_attr_put_u8(request, IFLA_BRPORT_MODE, 1);
  mnl_attr_nest_end(request, protinfo);
  Talk(route, request, nullptr, nullptr);
}

struct BridgeOutcome {
  std::string bridge;
  bool exists = false;
  size_t ports = 0;
};

Napi::Value SetBridgePortsHairpin(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string netns_path = ReadArguments(env, kOperation, [&] { return AsNetnsPath(info[0]); });
  std::vector<std::string> bridges = ReadArguments(env, kOperation, [&] {
    Napi::Array list = AsArray(info[1], "bridges");
    std::vector<std::string> read;
    for (uint32_t i = 0; i < list.Length(); i++) {
      read.push_back(AsName(list.Get(i), "bridges[" + std::to_string(i) + "]", IFNAMSIZ - 1));
    }
    return read;
  });
  using Outcomes = std::vector<BridgeOutcome>;
  return PromiseWorker<Outcomes>::Start(
      env, kOperation,
      [netns_path, bridges = std::move(bridges)]() {
        NetnsFd netns(OpenNetns(netns_path, "netns.open"));
        NetnsScope scope(netns.get(), "netns.open");
        RouteSocket route;
        route.socket = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
        if (route.socket == nullptr || mnl_socket_bind(route.socket, 0, MNL_SOCKET_AUTOPID) < 0) {
          FailErrno(kOperation, "cannot open an rtnetlink socket");
        }
        Outcomes outcomes;
        for (const auto& bridge : bridges) {
          BridgeOutcome outcome{bridge};
          // if_nametoindex asks the kernel through a socket of this thread's namespace.
          int index = static_cast<int>(if_nametoindex(bridge.c_str()));
          if (index > 0) {
            outcome.exists = true;
            for (int port : BridgePorts(route, index)) {
              SetHairpin(route, port);
              outcome.ports++;
            }
          }
          outcomes.push_back(std::move(outcome));
        }
        return outcomes;
      },
      [](Napi::Env env, Outcomes& outcomes) -> Napi::Value {
        Napi::Array array = Napi::Array::New(env, outcomes.size());
        for (size_t i = 0; i < outcomes.size(); i++) {
          Napi::Object entry = Napi::Object::New(env);
          entry.Set("bridge", outcomes[i].bridge);
          entry.Set("exists", outcomes[i].exists);
          entry.Set("ports", static_cast<double>(outcomes[i].ports));
          array.Set(i, entry);
        }
        return array;
      });
}

}  // namespace

void InitBridgePorts(Napi::Env env, Napi::Object exports) {
  exports.Set("setBridgePortsHairpin", Napi::Function::New(env, SetBridgePortsHairpin, "setBridgePortsHairpin"));
}

}  // namespace bridgewall
