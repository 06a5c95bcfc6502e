// iptcXtExtensions(family, operations): the xt matches and targets of rules,
// as nft_compat expressions carry them, built by the legacy entry encoder
// (iptc/entry.h) so the nf_tables encoder (src/iptnft) writes the same bytes.
#pragma once

#include <napi.h>

namespace bridgewall {

void InitXtExtensions(Napi::Env env, Napi::Object exports);

}  // namespace bridgewall
