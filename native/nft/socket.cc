#include "nft/socket.h"

#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>

#include "error.h"
#include "netns.h"

namespace bridgewall {

namespace {

constexpr size_t kReceiveChunk = 1 << 17;
// What the kernel charges a socket for one queued ack skb (truesize), rounded up.
constexpr size_t kAckTruesize = 1024;
constexpr size_t kMinimumBuffer = 1 << 20;

void SetBuffer(int fd, int force_option, int option, size_t bytes) {
  int value = static_cast<int>(std::min<size_t>(bytes, 1u << 30));
  // FORCE needs CAP_NET_ADMIN, which we have whenever we may change the
  // ruleset; the plain option is capped by rmem_max/wmem_max.
  if (setsockopt(fd, SOL_SOCKET, force_option, &value, sizeof(value)) != 0) {
    setsockopt(fd, SOL_SOCKET, option, &value, sizeof(value));
  }
}

}  // namespace

NetlinkSocket::NetlinkSocket(const std::string& netns_path) {
  NetnsFd netns(OpenNetns(netns_path, "netns.open"));
  {
    NetnsScope scope(netns.get(), "netns.open");
    socket_ = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
  }
  if (socket_ == nullptr) FailErrno("nft.open", "cannot open a netfilter netlink socket");
  if (mnl_socket_bind(socket_, 0, MNL_SOCKET_AUTOPID) < 0) {
    int errnum = errno;
    mnl_socket_close(socket_);
    socket_ = nullptr;
    errno = errnum;
    FailErrno("nft.open", "cannot bind the netlink socket");
  }
  portid_ = mnl_socket_get_portid(socket_);
  int on = 1;
  // Error acks then carry only the failing header, not the whole message.
  mnl_socket_setsockopt(socket_, NETLINK_CAP_ACK, &on, sizeof(on));
  seq_ = static_cast<uint32_t>(time(nullptr));
  SizeBuffers(kMinimumBuffer, 0);
  receive_buffer_.resize(kReceiveChunk);
}

NetlinkSocket::~NetlinkSocket() {
  if (socket_ != nullptr) mnl_socket_close(socket_);
}

uint32_t NetlinkSocket::NextSeq(uint32_t count) {
  uint32_t first = seq_;
  seq_ += count;
  return first;
}

void NetlinkSocket::SizeBuffers(size_t send_bytes, size_t expected_replies) {
  int fd = mnl_socket_get_fd(socket_);
  SetBuffer(fd, SO_SNDBUFFORCE, SO_SNDBUF, std::max(kMinimumBuffer, send_bytes + 4096));
  SetBuffer(fd, SO_RCVBUFFORCE, SO_RCVBUF, std::max(kMinimumBuffer, expected_replies * kAckTruesize));
}

void NetlinkSocket::DiscardStaleReplies() {
  char scratch[256];
  int fd = mnl_socket_get_fd(socket_);
  while (recv(fd, scratch, sizeof(scratch), MSG_DONTWAIT | MSG_TRUNC) >= 0 || errno == EINTR) {
  }
}

std::vector<Ack> NetlinkSocket::SendBatch(const std::vector<char>& batch, size_t message_count,
                                          const char* operation, const std::function<void(const nlmsghdr*)>& on_reply) {
  DiscardStaleReplies();
  SizeBuffers(batch.size(), message_count);
  if (mnl_socket_sendto(socket_, batch.data(), batch.size()) < 0) {
    FailErrno(operation, "the kernel did not take the batch");
  }
  // nfnetlink processes the whole batch inside sendmsg, so every ack and
  // error is already queued: read until the queue is empty.
  std::vector<Ack> acks;
  acks.reserve(message_count);
  int fd = mnl_socket_get_fd(socket_);
  for (;;) {
    ssize_t received = recv(fd, receive_buffer_.data(), receive_buffer_.size(), MSG_DONTWAIT);
    if (received < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      if (errno == EINTR) continue;
      FailErrno(operation, "cannot read the kernel's acknowledgements");
    }
    auto* nlh = reinterpret_cast<const nlmsghdr*>(receive_buffer_.data());
    int remaining = static_cast<int>(received);
    while (mnl_nlmsg_ok(nlh, remaining)) {
      if (nlh->nlmsg_type == NLMSG_ERROR) {
        auto* err = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
        acks.push_back(Ack{nlh->nlmsg_seq, -err->error});
      } else if (on_reply) {
        on_reply(nlh);
      }
      nlh = mnl_nlmsg_next(nlh, &remaining);
    }
  }
  return acks;
}

void NetlinkSocket::Request(const nlmsghdr* request, const std::function<void(const nlmsghdr*)>& on_message,
                            const char* operation) {
  DiscardStaleReplies();
  if (mnl_socket_sendto(socket_, request, request->nlmsg_len) < 0) {
    FailErrno(operation, "cannot send the request");
  }
  struct Context {
    const std::function<void(const nlmsghdr*)>* on_message;
  } context{&on_message};
  auto callback = [](const nlmsghdr* nlh, void* data) -> int {
    (*static_cast<Context*>(data)->on_message)(nlh);
    return MNL_CB_OK;
  };
  for (;;) {
    ssize_t received = mnl_socket_recvfrom(socket_, receive_buffer_.data(), receive_buffer_.size());
    if (received < 0) {
      if (errno == EINTR) continue;
      FailErrno(operation, "cannot read the kernel's reply");
    }
    int status = mnl_cb_run(receive_buffer_.data(), received, request->nlmsg_seq, portid_, callback, &context);
    if (status == MNL_CB_STOP) return;
    if (status < 0) {
      // EINTR here is NLM_F_DUMP_INTR: the ruleset changed during the dump.
      FailErrno(operation, "the kernel refused the request");
    }
  }
}

}  // namespace bridgewall

