// The system's zlib (Debian's zlib1g-dev), for gzip-compressed responses.
// zlib spells its init calls as macros that pass the library version and the
// stream's size, which Swift cannot import: they are wrapped here as functions.
#ifndef LOCKD_CZLIB_SHIM_H
#define LOCKD_CZLIB_SHIM_H

#include <zlib.h>

static inline int lockd_deflate_init2(z_streamp stream, int level, int windowBits, int memLevel) {
    return deflateInit2(stream, level, Z_DEFLATED, windowBits, memLevel, Z_DEFAULT_STRATEGY);
}

static inline int lockd_inflate_init2(z_streamp stream, int windowBits) {
    return inflateInit2(stream, windowBits);
}

#endif
