/* pc_core.h -- the core headers most files need. */
#ifndef PC_CORE_H
#define PC_CORE_H

#include "core/pc_types.h"
#include "core/pc_str.h"
#include "core/pc_pool.h"
#include "core/pc_log.h"
#include "core/pc_time.h"
#include "core/pc_conf.h"
#include "core/pc_module.h"

#endif /* PC_CORE_H */
