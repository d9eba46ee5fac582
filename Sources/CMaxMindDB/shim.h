#ifndef ANALYTICS_CMAXMINDDB_SHIM_H
#define ANALYTICS_CMAXMINDDB_SHIM_H
#include <maxminddb.h>
#endif
