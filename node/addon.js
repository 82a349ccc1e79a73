'use strict';
// The bundled Node-API addon (lib/linux-<arch>/sdfd.node), loaded on first
// use by index.js (its start-up path) and api.js (everything else): one
// loader, one addon instance, one libsdfd. lib/linux-<arch>/sdfd.node serves
// glibc and musl; it tells which libsdfd.so.0 (lib/linux-<arch>-gnu/ or
// -musl/) the running node needs, and opens it. Not used with SDFD_LIBRARY
// set, off Linux, or when the package carries no addon: api.js then reaches
// libsdfd through koffi, with the same calls (api.js, KOFFI_CALLS).

let loaded; // the addon once it has opened libsdfd; null: none
let libPath = null;

/** The addon with libsdfd open, or null. */
function addon() {
  if (loaded !== undefined) return loaded;
  loaded = null;
  if (process.platform !== 'linux' || process.env.SDFD_LIBRARY) return null;
  const dir = `${__dirname}/lib/linux-${process.arch}`;
  try {
    const m = { exports: {} };
    process.dlopen(m, `${dir}/sdfd.node`);
    const lib = `${dir}-${m.exports.libc}/libsdfd.so.0`;
    m.exports.open(lib);
    loaded = m.exports;
    libPath = lib;
  } catch {
    // Not in this package, or not loadable here.
  }
  return loaded;
}

/** The libsdfd.so.0 the addon opened (null: none). */
addon.path = () => libPath;

module.exports = addon;
