/* weft/weft.h — everything weft offers, in one include. */
#ifndef WEFT_WEFT_H
#define WEFT_WEFT_H

#include "weft/version.h"
#include "weft/core.h"
#include "weft/thread.h"
#include "weft/sync.h"
#include "weft/chan.h"
#include "weft/future.h"
#include "weft/pool.h"
#include "weft/executor.h"
#include "weft/proc.h"
#include "weft/aio.h"
#include "weft/graph.h"
#include "weft/trace.h"
#include "weft/debug.h"
#include "weft/topo.h"

#endif /* WEFT_WEFT_H */
