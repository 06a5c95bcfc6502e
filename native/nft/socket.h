// A netfilter netlink socket opened inside a network namespace and kept for
// the lifetime of a connection. All kernel round-trips of one connection go
// through it, one at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

struct mnl_socket;
struct nlmsghdr;

namespace bridgewall {

// The kernel's answer to one message of a batch.
struct Ack {
  uint32_t seq;
  int errnum;  // 0 for success
};

class NetlinkSocket {
 public:
  // Opens the socket inside the namespace at `netns_path` ("" = current).
  explicit NetlinkSocket(const std::string& netns_path);
  ~NetlinkSocket();
  NetlinkSocket(const NetlinkSocket&) = delete;
  NetlinkSocket& operator=(const NetlinkSocket&) = delete;

  // Serialises round-trips of concurrent workers on this socket.
  std::mutex& mutex() { return mutex_; }

  // Reserves `count` consecutive sequence numbers and returns the first.
  uint32_t NextSeq(uint32_t count = 1);

  // Sends a whole batch in one sendmsg, so the kernel sees one transaction,
  // and returns every ack and error it queued in reply. Other replies (the
  // echoes of messages sent with NLM_F_ECHO) go to `on_reply`.
  std::vector<Ack> SendBatch(const std::vector<char>& batch, size_t message_count, const char* operation,
                             const std::function<void(const nlmsghdr*)>& on_reply = nullptr);

  // Sends a request and passes every reply message to `on_message` until the
  // dump or the acknowledgement ends.
  void Request(const nlmsghdr* request, const std::function<void(const nlmsghdr*)>& on_message,
               const char* operation);

 private:
  void SizeBuffers(size_t send_bytes, size_t expected_replies);
  // A round-trip that failed half-way may leave replies queued; they would
  // be mistaken for the answers to the next request.
  void DiscardStaleReplies();

  mnl_socket* socket_ = nullptr;
  uint32_t portid_ = 0;
  uint32_t seq_ = 0;
  std::mutex mutex_;
  // Replies are read into this one buffer, kept for the socket's lifetime
  // (round-trips hold mutex_): a fresh 128 KiB buffer for every request cost
  // more than the request, zeroed and, for large allocations, newly mapped.
  std::vector<char> receive_buffer_;
};

}  // namespace bridgewall
