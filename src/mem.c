/* memcpy and memset for libsdfd.so only, hidden (not exported, not
 * interposed, never linked into a program under these names).
 * packaging/capi-args.sh also compiles this file with -Dmemcpy=sdfd_memcpy -Dmemset=sdfd_memset
 * into libsdfd.a, whose references `make` renames to those (Makefile,
 * OBJCOPY): the same saving for programs that link libsdfd.a.
 *
 * LLVM lowers struct copies and zeroing to memcpy/memset calls and makes
 * them through the GOT, so every program that loads the library would
 * otherwise resolve both symbols at start-up, before main: two symbol
 * lookups plus glibc's ifunc selectors, about 3,400 instructions, more than
 * sd_listen_fds itself costs (bench/RESULTS.md). With these definitions the
 * linker binds the calls inside the library. The copies made are small
 * (stat buffers, socket addresses, names); speed is not a concern.
 * -ffreestanding keeps the compiler from turning the loops back into calls. */
#include <stddef.h>

__attribute__((visibility("hidden"))) void *memcpy(void *restrict dst, const void *restrict src, size_t n) {
    unsigned char *d = dst;
    const unsigned char *s = src;
    while (n--) *d++ = *s++;
    return dst;
}

__attribute__((visibility("hidden"))) void *memset(void *dst, int c, size_t n) {
    unsigned char *d = dst;
    while (n--) *d++ = (unsigned char)c;
    return dst;
}
