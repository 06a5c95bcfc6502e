/*
 * LD_PRELOAD shim for test/nftables-dump-repeat.test.ts: a kernel whose dump
 * of a set gives an element twice, as a walk of a hash set being resized
 * can. While the environment variable BRIDGEWALL_REPEAT_ELEMENT is set, the
 * first netlink reply read that holds set elements (NFT_MSG_NEWSETELEM) has
 * that message repeated right after itself, once per process, and the shim
 * says so on standard error. Everything else passes untouched.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static int repeated;

static void repeat_first_element_message(struct msghdr *msg, ssize_t *received) {
  if (msg->msg_iovlen != 1) return;
  char *buffer = msg->msg_iov[0].iov_base;
  size_t room = msg->msg_iov[0].iov_len;
  ssize_t remaining = *received;
  for (struct nlmsghdr *nlh = (struct nlmsghdr *)buffer; NLMSG_OK(nlh, remaining); nlh = NLMSG_NEXT(nlh, remaining)) {
    if (nlh->nlmsg_type != ((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWSETELEM)) continue;
    size_t length = NLMSG_ALIGN(nlh->nlmsg_len);
    if ((size_t)*received + length > room || __atomic_exchange_n(&repeated, 1, __ATOMIC_SEQ_CST)) return;
    char *after = (char *)nlh + length;
    memmove(after + length, after, buffer + *received - after);
    memcpy(after, nlh, length);
    *received += length;
    fprintf(stderr, "repeated-element: a set's elements repeated\n");
    return;
  }
}

ssize_t recvmsg(int fd, struct msghdr *msg, int flags) {
  static ssize_t (*real)(int, struct msghdr *, int);
  if (!real) real = dlsym(RTLD_NEXT, "recvmsg");
  ssize_t received = real(fd, msg, flags);
  int domain = 0;
  socklen_t length = sizeof(domain);
  if (received > 0 && !(flags & MSG_PEEK) && getenv("BRIDGEWALL_REPEAT_ELEMENT") != NULL && !__atomic_load_n(&repeated, __ATOMIC_SEQ_CST) &&
      getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &length) == 0 && domain == AF_NETLINK) {
    repeat_first_element_message(msg, &received);
  }
  return received;
}
