#ifndef ANALYTICS_CZLIB_SHIM_H
#define ANALYTICS_CZLIB_SHIM_H
#include <zlib.h>
#endif
