/*
 * LD_PRELOAD shim for test/no-legacy-kernel.test.ts: a kernel without legacy
 * x_tables (no ip_tables / ip6_tables), as libiptc meets it: its socket
 * options fail with ENOPROTOOPT. Everything else passes untouched.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>

/* IPT_SO_* and IP6T_SO_*: 64 (GET_INFO, SET_REPLACE) to 67 (GET_REVISION_TARGET), at SOL_IP and SOL_IPV6. */
static int is_xtables(int level, int optname) {
  return (level == SOL_IP || level == SOL_IPV6) && optname >= 64 && optname <= 67;
}

int getsockopt(int fd, int level, int optname, void *optval, socklen_t *optlen) {
  static int (*real)(int, int, int, void *, socklen_t *);
  if (is_xtables(level, optname)) { errno = ENOPROTOOPT; return -1; }
  if (!real) real = dlsym(RTLD_NEXT, "getsockopt");
  return real(fd, level, optname, optval, optlen);
}

int setsockopt(int fd, int level, int optname, const void *optval, socklen_t optlen) {
  static int (*real)(int, int, int, const void *, socklen_t);
  if (is_xtables(level, optname)) { errno = ENOPROTOOPT; return -1; }
  if (!real) real = dlsym(RTLD_NEXT, "setsockopt");
  return real(fd, level, optname, optval, optlen);
}
