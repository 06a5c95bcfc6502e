#!/usr/bin/env bash
# npm run test:asan: builds the addon with AddressSanitizer and UBSan into
# build/asan/ (build/Release, which every other test loads, stays as it is)
# and runs the tests that reach each native entry point against it: nftables
# batches, dumps and connections, conntrack clearing, libiptc tables,
# transactions and the lock, the owner record's lock, namespaces, sysctls and bridge ports, the
# iptables-nft encoder and reader (xt extensions built and decoded, nft_compat
# expressions) and the native fuzz. A report of either sanitizer aborts the
# test process, so the run fails.
set -euo pipefail
cd "$(dirname "$0")/.."
PATH="$PWD/node_modules/.bin:$PATH"

FILES=(
  nft-batch nft-connection nft-fd-leak conntrack
  iptc-descriptors iptc-dump iptc-lifecycle iptc-lock iptc-rules iptc-transaction
  iptnft-encoding native-fuzz ownership nftables-elements nftables-dump-repeat
)

# node-gyp builds into ./build next to binding.gyp, so the sanitizer build
# gets a directory of its own that links to the sources.
dir=build/asan
mkdir -p "$dir"
ln -sfn ../../binding.gyp "$dir/binding.gyp"
ln -sfn ../../native "$dir/native"
(cd "$dir" && node-gyp configure --sanitize=address --loglevel=warn && node-gyp build -j 2 --loglevel=warn >/dev/null)
addon="$PWD/$dir/build/Release/bridgewall.node"
# ldd's output is read whole before it is searched: `ldd | grep -q`, under
# pipefail, fails at random when grep exits at the first match and the
# loader's next line meets a closed pipe (SIGPIPE).
linked=$(ldd "$addon")
if [[ $linked != *libasan* ]]; then
  echo "error: $addon is not built with AddressSanitizer" >&2
  exit 1
fi
tsc -p .

libasan=$(g++ -print-file-name=libasan.so)
if [ ! -e "$libasan" ]; then
  echo "error: libasan.so not found (g++ -print-file-name=libasan.so): install g++" >&2
  exit 1
fi

# ASan's runtime must come before everything else in the process, Node's
# own allocations included, so it is preloaded (into the tools the tests
# start, too, where it only checks the C library calls they make).
# detect_leaks=0: LeakSanitizer would report what Node and V8 keep until
# exit in every process, and its suppressions match any frame of a stack,
# which for the addon's allocations always include Node's; leaks are the
# business of test/leak.test.ts and test/nft-fd-leak.test.ts instead.
export LD_PRELOAD="$libasan"
export ASAN_OPTIONS=detect_leaks=0:halt_on_error=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export BRIDGEWALL_NATIVE="$addon"
# Older ASan runtimes, GCC 12's among them, can crash at start when the
# kernel randomises mmap addresses with more than 28 bits (vm.mmap_rnd_bits
# is 32 on some distributions; google/sanitizers#1614): address
# randomisation is then turned off for the run.
run=()
if [ "$(cat /proc/sys/vm/mmap_rnd_bits 2>/dev/null || echo 28)" -gt 28 ]; then
  run=(setarch "$(uname -m)" --addr-no-randomize)
fi
paths=()
for file in "${FILES[@]}"; do paths+=("dist/test/$file.test.js"); done
exec "${run[@]}" ava "${paths[@]}"
