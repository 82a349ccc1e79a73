/* Start-up check of sdfd's libsystemd.so.0 shim (make compat).
 *
 * The shim defines every version node of libsystemd 252 (LIBSYSTEMD_209 ...
 * LIBSYSTEMD_252, compat/libsystemd.sym) so that programs built against
 * libsystemd load it; in the real library those nodes hold ~600 more
 * symbols (journal, bus, id128, ...). The loader checks only that the
 * version nodes exist; then it binds functions either lazily (a program
 * that also calls, say, sd_journal_print would start, run, and die at that
 * first call) or, with immediate binding (-z now), all at once, failing with
 * its own message on the first symbol it cannot find.
 *
 * This check comes before both: it runs while the loader relocates the shim
 * (the resolver of a local IFUNC the shim refers to), which is before it
 * relocates the program or any object loaded with the shim. It reads the
 * dynamic relocations of every loaded object, and when one of them refers
 * to a symbol of libsystemd.so.0 that the shim does not define (same name,
 * same version), it names each such symbol on stderr and ends the process
 * with status 127, as the loader does for a missing library: one message
 * and one status, whatever the program's binding, and none of its code run.
 * When the shim is first loaded by dlopen() (a Python extension module,
 * a plugin), the objects loaded with it are checked by the constructor: one
 * dlopen()ed with RTLD_NOW that lacks a symbol makes dlopen fail first, with
 * the loader's message (an ImportError in Python), a lazily bound one is
 * refused as above; objects dlopen()ed after the shim are bound by their own
 * dlopen flags.
 *
 * Nothing here may need the C library to be initialised (the resolver runs
 * before its constructors) or a PLT slot of the shim (not set up yet): built
 * with -fno-plt, the C library is called through GOT slots, which the
 * linker's relocation order (GLOB_DAT before IRELATIVE, checked by
 * tests/c/dropin.sh) fills in before the resolver runs. No dlopen/dladdr, no
 * program_invocation_name (AT_EXECFN instead); only system-call wrappers,
 * string functions and dl_iterate_phdr. The constructor runs the same check
 * where the resolver did not (it does nothing if the check already ran). */
#define _GNU_SOURCE
#include <elf.h>
#include <link.h>
#include <stdint.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

#define SONAME "libsystemd.so.0"

struct dyn {
    const ElfW(Sym) * symtab;
    const char *strtab;
    const ElfW(Half) * versym;
    const ElfW(Verneed) * verneed;
    size_t verneednum;
    const ElfW(Verdef) * verdef;
    size_t verdefnum;
    const uint32_t *gnu_hash, *hash;
    const char *relocs[3];
    size_t relsz[3], relent[3];
};

#if __ELF_NATIVE_CLASS == 64
#define R_SYM(i) ELF64_R_SYM(i)
#else
#define R_SYM(i) ELF32_R_SYM(i)
#endif

static struct dyn self;
static ElfW(Addr) self_base;
static int self_found;
static int checked;
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

/* How many entries the dynamic symbol table has (from DT_GNU_HASH or DT_HASH). */
static size_t symbol_count(const struct dyn *d) {
    if (d->hash) return d->hash[1];
    if (!d->gnu_hash) return 0;
    const uint32_t nbuckets = d->gnu_hash[0], symoffset = d->gnu_hash[1], bloom = d->gnu_hash[2];
    const uint32_t *buckets = (const uint32_t *)((const ElfW(Addr) *)(d->gnu_hash + 4) + bloom);
    const uint32_t *chain = buckets + nbuckets;
    uint32_t last = 0;
    for (uint32_t b = 0; b < nbuckets; b++)
        if (buckets[b] > last) last = buckets[b];
    if (last < symoffset) return symoffset;
    while (!(chain[last - symoffset] & 1)) last++;
    return (size_t)last + 1;
}

/* The name of the shim's own version definition with index `ndx`. */
static const char *own_version(ElfW(Half) ndx) {
    const ElfW(Verdef) *vd = self.verdef;
    for (size_t i = 0; vd && i < self.verdefnum; i++) {
        if (vd->vd_ndx == ndx) {
            const ElfW(Verdaux) *va = (const ElfW(Verdaux) *)((const char *)vd + vd->vd_aux);
            return self.strtab + va->vda_name;
        }
        if (!vd->vd_next) break;
        vd = (const ElfW(Verdef) *)((const char *)vd + vd->vd_next);
    }
    return NULL;
}

/* Does the shim itself define name@version? */
static int provides(const char *name, const char *version) {
    size_t n = symbol_count(&self);
    for (size_t i = 1; i < n; i++) {
        const ElfW(Sym) *sym = &self.symtab[i];
        if (sym->st_shndx == SHN_UNDEF || strcmp(self.strtab + sym->st_name, name)) continue;
        const char *v = self.versym ? own_version(self.versym[i] & 0x7fff) : NULL;
        if (v && !strcmp(v, version)) return 1;
    }
    return 0;
}

static void check_symbol(const char *object, const char *name, const char *version) {
    if (provides(name, version)) return;
    if (missing < 16) {
        const char *program = object && *object ? object : (const char *)getauxval(AT_EXECFN);
        say("libsystemd.so.0 (sdfd shim, sd-daemon functions only): ");
        say(program ? program : "the program");
        say(" needs ");
        say(name);
        say("@");
        say(version);
        say(", which it does not provide; run it with systemd's libsystemd.so.0\n");
    }
    missing++;
}

static void read_dynamic(const ElfW(Dyn) * dynamic, ElfW(Addr) b, struct dyn *d) {
    ElfW(Sxword) pltrel = DT_RELA;
    for (const ElfW(Dyn) *e = dynamic; e->d_tag != DT_NULL; e++) {
        switch (e->d_tag) {
        case DT_SYMTAB: d->symtab = (const ElfW(Sym) *)dptr(b, e->d_un.d_ptr); break;
        case DT_STRTAB: d->strtab = (const char *)dptr(b, e->d_un.d_ptr); break;
        case DT_VERSYM: d->versym = (const ElfW(Half) *)dptr(b, e->d_un.d_ptr); break;
        case DT_VERNEED: d->verneed = (const ElfW(Verneed) *)dptr(b, e->d_un.d_ptr); break;
        case DT_VERNEEDNUM: d->verneednum = e->d_un.d_val; break;
        case DT_VERDEF: d->verdef = (const ElfW(Verdef) *)dptr(b, e->d_un.d_ptr); break;
        case DT_VERDEFNUM: d->verdefnum = e->d_un.d_val; break;
        case DT_GNU_HASH: d->gnu_hash = (const uint32_t *)dptr(b, e->d_un.d_ptr); break;
        case DT_HASH: d->hash = (const uint32_t *)dptr(b, e->d_un.d_ptr); break;
        case DT_JMPREL: d->relocs[0] = (const char *)dptr(b, e->d_un.d_ptr); break;
        case DT_PLTRELSZ: d->relsz[0] = e->d_un.d_val; break;
        case DT_PLTREL: pltrel = (ElfW(Sxword))e->d_un.d_val; break;
        case DT_RELA: d->relocs[1] = (const char *)dptr(b, e->d_un.d_ptr); break;
        case DT_RELASZ: d->relsz[1] = e->d_un.d_val; break;
        case DT_REL: d->relocs[2] = (const char *)dptr(b, e->d_un.d_ptr); break;
        case DT_RELSZ: d->relsz[2] = e->d_un.d_val; break;
        }
    }
    d->relent[0] = pltrel == DT_REL ? sizeof(ElfW(Rel)) : sizeof(ElfW(Rela));
    d->relent[1] = sizeof(ElfW(Rela));
    d->relent[2] = sizeof(ElfW(Rel));
}

static const ElfW(Dyn) * dynamic_of(const struct dl_phdr_info *info) {
    for (int i = 0; i < info->dlpi_phnum; i++)
        if (info->dlpi_phdr[i].p_type == PT_DYNAMIC)
            return (const ElfW(Dyn) *)(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
    return NULL;
}

static void marker(void) {}

/* Finds the shim itself: the object one of whose segments holds marker(). */
static int find_self(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size;
    (void)data;
    uintptr_t at = (uintptr_t)marker;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_LOAD && at >= info->dlpi_addr + ph->p_vaddr &&
            at < info->dlpi_addr + ph->p_vaddr + ph->p_memsz) {
            const ElfW(Dyn) *dynamic = dynamic_of(info);
            if (!dynamic) return 0;
            self_base = info->dlpi_addr;
            read_dynamic(dynamic, info->dlpi_addr, &self);
            self_found = 1;
            return 1;
        }
    }
    return 0;
}

static int visit(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size;
    (void)data;
    if (info->dlpi_addr == self_base) return 0;
    const ElfW(Dyn) *dynamic = dynamic_of(info);
    if (!dynamic) return 0;
    struct dyn d = { 0 };
    read_dynamic(dynamic, info->dlpi_addr, &d);
    if (!d.symtab || !d.strtab || !d.versym || !d.verneed || !needs_libsystemd(&d)) return 0;
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

static void check(void) {
    if (checked) return;
    checked = 1;
    dl_iterate_phdr(find_self, NULL);
    if (!self_found || !self.symtab || !self.strtab) return;
    dl_iterate_phdr(visit, NULL);
    if (missing) _exit(127);
}

/* The loader calls this resolver while it relocates the shim's reference
 * to check_at_load below: before it relocates the program. Only while the
 * program starts (r_state RT_ADD; RT_CONSISTENT inside dlopen, glibc 2.36):
 * when a dlopen() loads the shim, an object of that dlopen which lacks a
 * symbol makes dlopen fail (RTLD_NOW: a Python extension module raises
 * ImportError) before the constructor, which checks the lazily bound ones. */
static void (*resolve_check(void))(void) {
    if (_r_debug.r_state == RT_ADD) check();
    return marker;
}
static void check_ifunc(void) __attribute__((ifunc("resolve_check")));
static void (*volatile const check_at_load)(void) = check_ifunc;

__attribute__((constructor)) static void sdfd_compat_refuse_unserved(void) {
    (void)check_at_load;
    check();
}
