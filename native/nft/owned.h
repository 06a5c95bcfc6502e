// unique_ptr for libnftnl objects, freed with their own *_free function.
#pragma once

#include <memory>

namespace bridgewall {

template <typename T, auto Free>
struct FreeWith {
  void operator()(T* object) const { Free(object); }
};

template <typename T, auto Free>
using Owned = std::unique_ptr<T, FreeWith<T, Free>>;

}  // namespace bridgewall
