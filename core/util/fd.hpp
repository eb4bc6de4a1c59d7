// Owning wrapper for a file descriptor: the SDK's, so that host and plugins share one definition.
#pragma once

#include <quictun/sdk/util.hpp>

namespace quictun {

using Fd = sdk::Fd;

}  // namespace quictun
