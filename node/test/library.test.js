'use strict';
// Finding libsdfd: SDFD_LIBRARY, then pkg-config's libdir, then the
// standard name through the dynamic loader.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { libraryUnderTest, tmpDir } = require('./helpers.js');

const LIB = libraryUnderTest();
const LIBDIR = path.dirname(LIB);
// The package as the npm tarball lays it out (./run-tests.sh --addon): the
// Node-API addon in lib/linux-<arch>/, the glibc library in
// lib/linux-<arch>-gnu/; they come before pkg-config and the dynamic loader.
const PKG_LIB = path.join(path.dirname(require.resolve('sdfd')), 'lib');
const ADDON = fs.existsSync(path.join(PKG_LIB, `linux-${process.arch}`, 'sdfd.node'));
const BUNDLED = path.join(PKG_LIB, `linux-${process.arch}-gnu`, 'libsdfd.so.0');

/** Run a snippet in a fresh node with exactly these locating variables. */
function probe(env, code = 'process.stdout.write(JSON.stringify({ path: sdfd.libraryPath(), fds: sdfd.listenFds() }))') {
  const clean = { ...process.env };
  for (const k of ['SDFD_LIBRARY', 'PKG_CONFIG_PATH', 'PKG_CONFIG_LIBDIR', 'LD_LIBRARY_PATH', 'LISTEN_PID', 'LISTEN_FDS']) delete clean[k];
  const script = `const sdfd = require(${JSON.stringify(require.resolve('sdfd'))});
    try { ${code} } catch (e) { process.stdout.write(JSON.stringify({ error: { code: e.code, message: e.message } })); }`;
  return JSON.parse(execFileSync(process.execPath, ['-e', script], { env: { ...clean, ...env }, encoding: 'utf8', timeout: 20000 }));
}

function pcDir(t, libdir) {
  const dir = tmpDir(t);
  fs.writeFileSync(path.join(dir, 'sdfd.pc'), `prefix=/nowhere\nlibdir=${libdir}\nincludedir=/nowhere/include\n\n`
    + 'Name: sdfd\nDescription: test\nVersion: 0.1.0\nLibs: -L${libdir} -lsdfd\nCflags: -I${includedir}\n');
  return dir;
}

test('the library under test exists', () => {
  assert.ok(fs.existsSync(LIB), LIB);
});

test('SDFD_LIBRARY comes first', (t) => {
  const otherPc = pcDir(t, '/nonexistent/lib');
  assert.deepEqual(probe({ SDFD_LIBRARY: LIB, PKG_CONFIG_PATH: otherPc }), { path: LIB, fds: [] });
});

test('a bad SDFD_LIBRARY is an error, with no silent fallback', (t) => {
  const r = probe({ SDFD_LIBRARY: '/nonexistent/libsdfd.so.0', PKG_CONFIG_PATH: pcDir(t, LIBDIR) });
  assert.equal(r.error.code, 'ERR_SDFD_LIBRARY_NOT_FOUND');
  assert.match(r.error.message, /cannot load libsdfd from SDFD_LIBRARY=\/nonexistent\/libsdfd\.so\.0/);
});

test('then pkg-config --variable=libdir sdfd', (t) => {
  const empty = tmpDir(t);
  assert.deepEqual(probe({ PKG_CONFIG_PATH: pcDir(t, LIBDIR), PKG_CONFIG_LIBDIR: empty }),
    { path: path.join(LIBDIR, 'libsdfd.so.0'), fds: [] });
});

test('then the standard name libsdfd.so.0 through the dynamic loader', (t) => {
  const empty = tmpDir(t);
  // With the bundled copy and addon, they come first (and nothing is looked up).
  const want = ADDON ? BUNDLED : 'libsdfd.so.0';
  // pkg-config knows no sdfd at all...
  assert.deepEqual(probe({ PKG_CONFIG_LIBDIR: empty, LD_LIBRARY_PATH: LIBDIR }), { path: want, fds: [] });
  // ...or points at a directory without the library.
  assert.deepEqual(probe({ PKG_CONFIG_PATH: pcDir(t, empty), PKG_CONFIG_LIBDIR: empty, LD_LIBRARY_PATH: LIBDIR }),
    { path: want, fds: [] });
});

test('nothing found: a clear error listing what was tried', (t) => {
  const empty = tmpDir(t);
  const r = probe({ PKG_CONFIG_PATH: pcDir(t, empty), PKG_CONFIG_LIBDIR: empty, LD_LIBRARY_PATH: empty },
    `process.stdout.write(JSON.stringify({ path: sdfd.libraryPath() }))`);
  if (ADDON) {
    // The package carries its own copy: found without any other place.
    assert.deepEqual(r, { path: BUNDLED });
    return;
  }
  if (r.path === 'libsdfd.so.0') {
    // Installed system-wide: the loader found it by its standard name, as it should.
    assert.equal(r.error, undefined);
    return;
  }
  assert.equal(r.error.code, 'ERR_SDFD_LIBRARY_NOT_FOUND');
  assert.match(r.error.message, /set SDFD_LIBRARY/);
  assert.match(r.error.message, new RegExp(`${path.join(empty, 'libsdfd.so.0').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: no such file`));
  assert.match(r.error.message, /libsdfd\.so\.0: /);
});

test('a library without a function: ENOSYS naming it', () => {
  const r = probe({ SDFD_LIBRARY: 'libc.so.6' });
  assert.equal(r.error.code, 'ENOSYS');
  assert.match(r.error.message, /^sd_listen_fds is not exported by libc\.so\.6/);
});

test('the library is loaded on first use, not at require time', () => {
  const r = probe({ SDFD_LIBRARY: '/nonexistent/libsdfd.so.0' }, `process.stdout.write(JSON.stringify({ loaded: typeof sdfd.listenFds, start: sdfd.LISTEN_FDS_START }))`);
  assert.deepEqual(r, { loaded: 'function', start: 3 });
});

test('require() compiles only index.js; listenFds() and friends without options need nothing more with the addon', (t) => {
  // The start-up path a service takes (bench/RESULTS.md): neither api.js nor koffi is loaded.
  const code = `const fds = sdfd.listenFds(); const names = sdfd.listenFdsWithNames(); delete process.env.NOTIFY_SOCKET; const sent = sdfd.notify('READY=1');
    const loaded = Object.keys(require.cache).map((f) => path.basename(f));
    process.stdout.write(JSON.stringify({ fds, names, sent, impl: loaded.includes('api.js'), koffi: Object.keys(require.cache).some((f) => f.includes('/koffi/')),
      addon: require('fs').readFileSync('/proc/self/maps', 'utf8').includes('/sdfd.node') }))`;
  const pc = { PKG_CONFIG_PATH: pcDir(t, LIBDIR) };
  const r = probe(pc, `const path = require('path'); ${code}`);
  assert.deepEqual(r, { fds: [], names: [], sent: false, impl: !ADDON, koffi: !ADDON, addon: ADDON });
  // Options, or another function: api.js, still without koffi on the addon path.
  const r2 = probe(pc, `sdfd.listenFds({ unsetEnvironment: false }); sdfd.isSocket(0);
    process.stdout.write(JSON.stringify({ impl: Object.keys(require.cache).some((f) => f.endsWith('/api.js')), koffi: Object.keys(require.cache).some((f) => f.includes('/koffi/')) }))`);
  assert.deepEqual(r2, { impl: true, koffi: !ADDON });
});

test('the addon makes the calls when bundled and SDFD_LIBRARY is not set; koffi otherwise', (t) => {
  const code = `const fds = sdfd.listenFds(); const names = sdfd.listenFdsWithNames(); sdfd.isSocket(0); sdfd.booted();
    process.stdout.write(JSON.stringify({ fds, names, koffi: Object.keys(require.cache).some((f) => f.includes('/koffi/')) }))`;
  const empty = tmpDir(t);
  // No SDFD_LIBRARY: through the addon (when bundled), koffi never loaded.
  assert.deepEqual(probe({ PKG_CONFIG_PATH: pcDir(t, LIBDIR) }, code), { fds: [], names: [], koffi: !ADDON });
  // SDFD_LIBRARY set (even to the bundled copy): koffi, as without the addon.
  assert.deepEqual(probe({ SDFD_LIBRARY: ADDON ? BUNDLED : LIB, PKG_CONFIG_LIBDIR: empty }, code), { fds: [], names: [], koffi: true });
});
