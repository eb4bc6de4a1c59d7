// quictun plugin SDK: everything a plugin includes. See sdk/README.md.
#pragma once

#include "quictun/sdk/classifier.hpp"
#include "quictun/sdk/config.hpp"
#include "quictun/sdk/congestion.hpp"
#include "quictun/sdk/error.hpp"
#include "quictun/sdk/host.hpp"
#include "quictun/sdk/plugin.hpp"
#include "quictun/sdk/token.hpp"
#include "quictun/sdk/transport.hpp"
#include "quictun/sdk/util.hpp"
#include "quictun/sdk/version.hpp"
