{
  "variables": {
    "netfilter_modules": "libnftnl libmnl libip4tc libip6tc",
    # node-gyp's --sanitize=address (test/asan.sh passes it, building in
    # build/asan/) builds with AddressSanitizer and UBSan, and with GCC's
    # float-cast-overflow, which `undefined` leaves out; any finding aborts.
    "sanitize%": ""
  },
  "targets": [
    {
      "target_name": "bridgewall",
      # The error codes' one table, native/error_codes.json, becomes
      # error_codes.h before anything compiles (src/errors.ts types the same
      # codes; test/error-codes.test.ts keeps the two in step).
      "actions": [
        {
          "action_name": "error_codes",
          "inputs": ["native/error_codes.js", "native/error_codes.json"],
          "outputs": ["<(SHARED_INTERMEDIATE_DIR)/error_codes.h"],
          "action": ["node", "native/error_codes.js", "native/error_codes.json", "<@(_outputs)"]
        }
      ],
      "sources": [
        "native/addon.cc",
        "native/error.cc",
        "native/netns.cc",
        "native/netns_identity.cc",
        "native/file_lock.cc",
        "native/flock_wait.cc",
        "native/sysctl.cc",
        "native/bridge_ports.cc",
        "native/conntrack.cc",
        "native/nft/connection.cc",
        "native/nft/batch.cc",
        "native/nft/dump.cc",
        "native/nft/elements.cc",
        "native/nft/socket.cc",
        "native/nft/expressions.cc",
        "native/iptc/table.cc",
        "native/iptc/entry.cc",
        "native/iptc/session.cc",
        "native/iptc/js_values.cc",
        "native/iptc/packed_operations.cc",
        "native/iptc/packed_dump.cc",
        "native/iptc/xtables_lock.cc",
        "native/iptc/xt_extensions.cc"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "native",
        "<(SHARED_INTERMEDIATE_DIR)"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_CPP_EXCEPTIONS",
        "NODE_ADDON_API_DISABLE_DEPRECATED"
      ],
      "cflags!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
      "cflags": [
        "-Wall",
        "-Wextra",
        "-Wno-missing-field-initializers",
        "<!@(node native/pkg-config.js --cflags <(netfilter_modules))"
      ],
      "cflags_cc": ["-std=c++17", "-fexceptions"],
      "libraries": [
        "<!@(node native/pkg-config.js --libs <(netfilter_modules))"
      ],
      "conditions": [
        ["sanitize=='address'", {
          "cflags": [
            "-fsanitize=address,undefined,float-cast-overflow",
            "-fno-sanitize-recover=all",
            "-fno-omit-frame-pointer",
            "-g1"
          ],
          # After Release's -O3: the usual level for sanitizers, and the build takes half the time.
          "cflags_cc": ["-O1"],
          "ldflags": ["-fsanitize=address,undefined"]
        }]
      ]
    }
  ]
}
