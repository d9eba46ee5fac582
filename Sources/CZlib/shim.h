#ifndef ANALYTICS_CZLIB_SHIM_H
#define ANALYTICS_CZLIB_SHIM_H
#include <zlib.h>

// zlib's init functions are macros (they pass the library version and struct size), which Swift
// does not import: wrap the raw-deflate (no zlib header, as WebSocket permessage-deflate wants) ones.
static inline int analytics_deflate_init_raw(z_stream *stream, int level) {
    return deflateInit2(stream, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
}

static inline int analytics_inflate_init_raw(z_stream *stream) {
    return inflateInit2(stream, -15);
}

// A gzip wrapper (windowBits 15 + 16), as HTTP's Content-Encoding: gzip wants.
static inline int analytics_deflate_init_gzip(z_stream *stream, int level) {
    return deflateInit2(stream, level, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY);
}
#endif
