/* Start-up check of sdfd's libsystemd.so.0 shim (make compat).
 *
 * The shim defines libsystemd's version nodes (LIBSYSTEMD_209 ...) so that
 * programs built against libsystemd load it; in the real library those
 * nodes hold ~120 more symbols (journal, bus, id128, ...). The loader checks
 * only that the version nodes exist and binds functions lazily, so a program
 * that also calls, say, sd_journal_print would start, run, and die at that
 * first call. This constructor runs before the program's code: it reads the
 * dynamic relocations of every object loaded with the shim, and when one of
 * them refers to a symbol of libsystemd.so.0 that the shim does not define
 * (same name, same version), it names each such symbol on stderr and ends
 * the process with status 127, as the loader does for a missing library.
 * When the shim is first loaded by dlopen() (a Python extension module,
 * a plugin), the objects loaded with it are checked the same way; objects
 * dlopen()ed after it are bound by their own dlopen flags. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <link.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#define SONAME "libsystemd.so.0"

#if __ELF_NATIVE_CLASS == 64
#define R_SYM(i) ELF64_R_SYM(i)
#else
#define R_SYM(i) ELF32_R_SYM(i)
#endif

static void *self_handle;
static const void *self_base;
static int missing;

static void say(const char *s) {
    size_t n = strlen(s);
    while (n > 0) {
        ssize_t w = write(2, s, n);
        if (w <= 0) return;
        s += w;
        n -= (size_t)w;
    }
}

/* A d_ptr of PT_DYNAMIC: glibc has usually relocated it in place already;
 * an address below the load base is still an offset. */
static uintptr_t dptr(ElfW(Addr) base, ElfW(Addr) v) { return v < base ? v + base : v; }

struct dyn {
    const ElfW(Sym) * symtab;
    const char *strtab;
    const ElfW(Half) * versym;
    const ElfW(Verneed) * verneed;
    size_t verneednum;
    const char *relocs[3];
    size_t relsz[3], relent[3];
};

/* The version name of version index `ndx` if it is one needed from libsystemd.so.0. */
static const char *libsystemd_version(const struct dyn *d, ElfW(Half) ndx) {
    const ElfW(Verneed) *vn = d->verneed;
    for (size_t i = 0; vn && i < d->verneednum; i++) {
        if (!strcmp(d->strtab + vn->vn_file, SONAME)) {
            const ElfW(Vernaux) *va = (const ElfW(Vernaux) *)((const char *)vn + vn->vn_aux);
            for (unsigned k = 0; k < vn->vn_cnt; k++) {
                if (va->vna_other == ndx) return d->strtab + va->vna_name;
                va = (const ElfW(Vernaux) *)((const char *)va + va->vna_next);
            }
        }
        if (!vn->vn_next) break;
        vn = (const ElfW(Verneed) *)((const char *)vn + vn->vn_next);
    }
    return NULL;
}

static int needs_libsystemd(const struct dyn *d) {
    const ElfW(Verneed) *vn = d->verneed;
    for (size_t i = 0; vn && i < d->verneednum; i++) {
        if (!strcmp(d->strtab + vn->vn_file, SONAME)) return 1;
        if (!vn->vn_next) break;
        vn = (const ElfW(Verneed) *)((const char *)vn + vn->vn_next);
    }
    return 0;
}

static void check_symbol(const char *object, const char *name, const char *version) {
    void *p = self_handle ? dlvsym(self_handle, name, version) : NULL;
    Dl_info info;
    if (p && dladdr(p, &info) && info.dli_fbase == self_base) return;
    if (missing < 16) {
        say("libsystemd.so.0 (sdfd shim, sd-daemon functions only): ");
        say(object && *object ? object : program_invocation_name);
        say(" needs ");
        say(name);
        say("@");
        say(version);
        say(", which it does not provide; run it with systemd's libsystemd.so.0\n");
    }
    missing++;
}

static int visit(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size;
    (void)data;
    if (info->dlpi_addr == (ElfW(Addr))self_base) return 0;
    const ElfW(Dyn) *dynamic = NULL;
    for (int i = 0; i < info->dlpi_phnum; i++)
        if (info->dlpi_phdr[i].p_type == PT_DYNAMIC)
            dynamic = (const ElfW(Dyn) *)(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
    if (!dynamic) return 0;
    struct dyn d = { 0 };
    ElfW(Addr) b = info->dlpi_addr;
    ElfW(Sxword) pltrel = DT_RELA;
    for (const ElfW(Dyn) *e = dynamic; e->d_tag != DT_NULL; e++) {
        switch (e->d_tag) {
        case DT_SYMTAB: d.symtab = (const ElfW(Sym) *)dptr(b, e->d_un.d_ptr); break;
        case DT_STRTAB: d.strtab = (const char *)dptr(b, e->d_un.d_ptr); break;
        case DT_VERSYM: d.versym = (const ElfW(Half) *)dptr(b, e->d_un.d_ptr); break;
        case DT_VERNEED: d.verneed = (const ElfW(Verneed) *)dptr(b, e->d_un.d_ptr); break;
        case DT_VERNEEDNUM: d.verneednum = e->d_un.d_val; break;
        case DT_JMPREL: d.relocs[0] = (const char *)dptr(b, e->d_un.d_ptr); break;
        case DT_PLTRELSZ: d.relsz[0] = e->d_un.d_val; break;
        case DT_PLTREL: pltrel = (ElfW(Sxword))e->d_un.d_val; break;
        case DT_RELA: d.relocs[1] = (const char *)dptr(b, e->d_un.d_ptr); break;
        case DT_RELASZ: d.relsz[1] = e->d_un.d_val; break;
        case DT_REL: d.relocs[2] = (const char *)dptr(b, e->d_un.d_ptr); break;
        case DT_RELSZ: d.relsz[2] = e->d_un.d_val; break;
        }
    }
    if (!d.symtab || !d.strtab || !d.versym || !d.verneed || !needs_libsystemd(&d)) return 0;
    d.relent[0] = pltrel == DT_REL ? sizeof(ElfW(Rel)) : sizeof(ElfW(Rela));
    d.relent[1] = sizeof(ElfW(Rela));
    d.relent[2] = sizeof(ElfW(Rel));
    for (int t = 0; t < 3; t++) {
        if (!d.relocs[t]) continue;
        for (size_t off = 0; off + d.relent[t] <= d.relsz[t]; off += d.relent[t]) {
            /* r_info is at the same place in Rel and Rela. */
            const ElfW(Rel) *r = (const ElfW(Rel) *)(d.relocs[t] + off);
            size_t idx = R_SYM(r->r_info);
            if (idx == 0 || d.symtab[idx].st_shndx != SHN_UNDEF) continue;
            const char *version = libsystemd_version(&d, d.versym[idx] & 0x7fff);
            if (version) check_symbol(info->dlpi_name, d.strtab + d.symtab[idx].st_name, version);
        }
    }
    return 0;
}

__attribute__((constructor)) static void sdfd_compat_refuse_unserved(void) {
    Dl_info info;
    if (!dladdr((void *)sdfd_compat_refuse_unserved, &info)) return;
    self_base = info.dli_fbase;
    self_handle = dlopen(info.dli_fname, RTLD_LAZY | RTLD_NOLOAD);
    dl_iterate_phdr(visit, NULL);
    if (self_handle) dlclose(self_handle);
    if (missing) _exit(127);
}
