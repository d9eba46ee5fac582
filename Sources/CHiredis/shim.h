#ifndef ANALYTICS_CHIREDIS_SHIM_H
#define ANALYTICS_CHIREDIS_SHIM_H
#include <hiredis/hiredis.h>
#endif
