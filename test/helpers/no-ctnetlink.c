/*
 * LD_PRELOAD shim for test/conntrack.test.ts: a kernel without connection
 * tracking netlink, emulated by the kernel itself. Every netfilter netlink
 * message of the ctnetlink subsystem (NFNL_SUBSYS_CTNETLINK) is readdressed,
 * on its way out of sendto(), to a subsystem no kernel registers, so the
 * kernel answers exactly as it does when nf_conntrack_netlink is missing.
 * Everything else (nftables, rtnetlink) passes untouched.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define UNREGISTERED_SUBSYS 0xfe

static int is_netfilter_netlink(int fd) {
  int domain = 0, protocol = 0;
  socklen_t length = sizeof(domain);
  if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &length) != 0 || domain != AF_NETLINK) return 0;
  length = sizeof(protocol);
  return getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &protocol, &length) == 0 && protocol == NETLINK_NETFILTER;
}

ssize_t sendto(int fd, const void *buffer, size_t length, int flags, const struct sockaddr *to, socklen_t to_length) {
  static ssize_t (*real_sendto)(int, const void *, size_t, int, const struct sockaddr *, socklen_t);
  if (!real_sendto) real_sendto = dlsym(RTLD_NEXT, "sendto");
  if (!is_netfilter_netlink(fd)) return real_sendto(fd, buffer, length, flags, to, to_length);
  char *copy = malloc(length);
  if (!copy) return real_sendto(fd, buffer, length, flags, to, to_length);
  memcpy(copy, buffer, length);
  int remaining = (int)length;
  for (struct nlmsghdr *nlh = (struct nlmsghdr *)copy; NLMSG_OK(nlh, remaining); nlh = NLMSG_NEXT(nlh, remaining)) {
    if (NFNL_SUBSYS_ID(nlh->nlmsg_type) == NFNL_SUBSYS_CTNETLINK) {
      nlh->nlmsg_type = (UNREGISTERED_SUBSYS << 8) | NFNL_MSG_TYPE(nlh->nlmsg_type);
    }
  }
  ssize_t sent = real_sendto(fd, copy, length, flags, to, to_length);
  free(copy);
  return sent;
}
