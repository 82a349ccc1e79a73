/* bcryptprimitives.dll for wine 8.0, which lacks it: Rust's std (>= 1.78)
 * imports ProcessPrng from it, so std-built Windows programs such as
 * systemfd die at load time (exit 53) without this. Test-only; placed next
 * to the program. Implemented with advapi32's RtlGenRandom. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
    while (len > 0) {
        ULONG chunk = len > 0x10000000 ? 0x10000000 : (ULONG)len;
        if (!SystemFunction036(data, chunk)) return FALSE;
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}
