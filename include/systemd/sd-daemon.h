/* sdfd compatibility header: lets sources that do
 *     #include <systemd/sd-daemon.h>
 * build unchanged against sdfd (`pkg-config --cflags sdfd` puts this
 * directory's parent first on the include path).
 *
 * Same guard, includes and macros as systemd's sd-daemon.h; the prototypes
 * come from sdfd.h, generated from the Rust sources. */
#ifndef foosddaemonhfoo
#define foosddaemonhfoo

#ifdef _WIN32
#include <winsock2.h>
#include <stdint.h>
#include <sys/types.h>
#else
#include <inttypes.h>
#include <sys/types.h>
#include <sys/socket.h>
#endif

/* systemd's _sd-common.h spells these so that a trailing ';' is allowed. */
#ifndef _SD_BEGIN_DECLARATIONS
#  ifdef __cplusplus
#    define _SD_BEGIN_DECLARATIONS extern "C" { struct _sd_useless_struct_to_allow_trailing_semicolon_
#    define _SD_END_DECLARATIONS } struct _sd_useless_cpp_struct_to_allow_trailing_semicolon_
#  else
#    define _SD_BEGIN_DECLARATIONS struct _sd_useless_struct_to_allow_trailing_semicolon_
#    define _SD_END_DECLARATIONS struct _sd_useless_struct_to_allow_trailing_semicolon_
#  endif
#endif

/* Prototypes, SD_LISTEN_FDS_START, the SD_EMERG..SD_DEBUG prefixes and
 * _sd_printf_ come from the generated header. */
#include "../sdfd.h"

#endif /* foosddaemonhfoo */
