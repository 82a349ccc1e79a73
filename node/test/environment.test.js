'use strict';
// How the C side's getenv()/unsetenv() and process.env relate, and the
// error results of sd_listen_fds*.
const test = require('node:test');
const assert = require('node:assert/strict');
const { Worker } = require('node:worker_threads');
const koffi = require('koffi');
const sdfd = require('sdfd');
const { assertSdfdError } = require('./helpers.js');

const VARS = ['LISTEN_PID', 'LISTEN_FDS', 'LISTEN_FDNAMES'];

function setListen(values) {
  for (const k of VARS) delete process.env[k];
  Object.assign(process.env, values);
}

test.afterEach(() => setListen({}));

test('main thread: process.env is a live view of the C environment', () => {
  const libc = koffi.load('libc.so.6');
  const getenv = libc.func('const char *getenv(const char *name)');
  const unsetenv = libc.func('int unsetenv(const char *name)');
  process.env.SDFD_NODE_PROBE = 'x';
  assert.equal(getenv('SDFD_NODE_PROBE'), 'x'); // process.env writes reach C
  assert.equal(unsetenv('SDFD_NODE_PROBE'), 0);
  assert.equal(process.env.SDFD_NODE_PROBE, undefined); // C unsets reach process.env
  assert.equal('SDFD_NODE_PROBE' in process.env, false);
});

test('not for this process: [] and, with unsetEnvironment, the variables are gone', () => {
  setListen({ LISTEN_PID: '1', LISTEN_FDS: '2', LISTEN_FDNAMES: 'a:b' });
  assert.deepEqual(sdfd.listenFds(), []);
  assert.deepEqual(sdfd.listenFdsWithNames(), []);
  assert.equal(process.env.LISTEN_FDS, '2'); // kept without unsetEnvironment
  assert.deepEqual(sdfd.listenFds({ unsetEnvironment: true }), []);
  for (const k of VARS) assert.equal(k in process.env, false, k);
});

test('unset also on error paths', () => {
  setListen({ LISTEN_PID: String(process.pid), LISTEN_FDS: '1', LISTEN_FDNAMES: 'a:b' });
  assert.throws(() => sdfd.listenFdsWithNames({ unsetEnvironment: true }), (e) => assertSdfdError(e, 'EINVAL'));
  for (const k of VARS) assert.equal(k in process.env, false, k);
});

test('C errors become Errors with code, errno and syscall', () => {
  const cases = [
    [{ LISTEN_PID: String(process.pid), LISTEN_FDS: 'abc' }, 'EINVAL'],
    [{ LISTEN_PID: String(process.pid), LISTEN_FDS: '0' }, 'EINVAL'],
    [{ LISTEN_PID: String(process.pid), LISTEN_FDS: '99999999999' }, 'ERANGE'],
    [{ LISTEN_PID: '0', LISTEN_FDS: '1' }, 'ERANGE'],
    [{ LISTEN_PID: 'x', LISTEN_FDS: '1' }, 'EINVAL'],
    // fds 3 .. 3+99999 cannot all be open
    [{ LISTEN_PID: String(process.pid), LISTEN_FDS: '100000' }, 'EBADF'],
  ];
  for (const [env, code] of cases) {
    setListen(env);
    assert.throws(() => sdfd.listenFds(), (e) => assertSdfdError(e, code) && e.syscall === 'sd_listen_fds', JSON.stringify(env));
    assert.throws(() => sdfd.listenFdsWithNames(), (e) => assertSdfdError(e, code) && e.syscall === 'sd_listen_fds_with_names');
    assert.throws(() => sdfd.collect('a'), (e) => assertSdfdError(e, code));
    assert.throws(() => sdfd.listenOptions({ name: 'a', port: 0 }), (e) => assertSdfdError(e, code));
  }
});

test('names: mismatched counts are EINVAL; empty names are kept', () => {
  // fd 3 exists in this process (whatever it is), which is all the count check needs.
  setListen({ LISTEN_PID: String(process.pid), LISTEN_FDS: '1', LISTEN_FDNAMES: 'a:b' });
  assert.throws(() => sdfd.listenFdsWithNames(), (e) => assertSdfdError(e, 'EINVAL'));
  setListen({ LISTEN_PID: String(process.pid), LISTEN_FDS: '1', LISTEN_FDNAMES: '' });
  assert.deepEqual(sdfd.listenFdsWithNames(), [{ fd: 3, name: '' }]);
  setListen({ LISTEN_PID: String(process.pid), LISTEN_FDS: '1', LISTEN_FDNAMES: 'wéb' });
  assert.deepEqual(sdfd.listenFdsWithNames(), [{ fd: 3, name: 'wéb' }]);
  assert.deepEqual(sdfd.collect('wéb'), [3]);
  assert.deepEqual(sdfd.collect('web'), []);
  setListen({ LISTEN_PID: String(process.pid), LISTEN_FDS: '1' });
  assert.deepEqual(sdfd.listenFdsWithNames(), [{ fd: 3, name: 'unknown' }]);
  assert.deepEqual(sdfd.listenFds(), [3]);
});

test('LISTEN_FDNAMES escapes: the names listenFds({ unsetEnvironment }) keeps are the library\'s', () => {
  // fd 3 exists in this process (whatever it is), which is all the count check needs.
  const pid = String(process.pid);
  setListen({ LISTEN_PID: pid, LISTEN_FDS: '1', LISTEN_FDNAMES: 'a\\:b' });
  const library = sdfd.listenFdsWithNames(); // sd_listen_fds_with_names(0): the library's split
  assert.deepEqual(library, [{ fd: 3, name: 'a:b' }]);
  assert.deepEqual(sdfd.listenFds({ unsetEnvironment: true }), [3]);
  for (const k of VARS) assert.equal(k in process.env, false, k);
  assert.deepEqual(sdfd.collect('a:b'), library.filter((e) => e.name === 'a:b').map((e) => e.fd));
  assert.deepEqual(sdfd.collect('a:b'), [3]);
  assert.deepEqual(sdfd.collect('unknown'), []);
  // A trailing backslash: the library's EINVAL; sd_listen_fds itself does not read the names.
  setListen({ LISTEN_PID: pid, LISTEN_FDS: '1', LISTEN_FDNAMES: 'a\\' });
  assert.throws(() => sdfd.listenFdsWithNames(), (e) => assertSdfdError(e, 'EINVAL'));
  assert.deepEqual(sdfd.listenFds({ unsetEnvironment: true }), [3]);
  assert.throws(() => sdfd.collect('a'), (e) => assertSdfdError(e, 'EINVAL'));
  assert.throws(() => sdfd.collect('a\\'), (e) => assertSdfdError(e, 'EINVAL'));
});

test('many names: every string is read and freed', () => {
  // Repeated calls exercise the malloc'ed array being freed with libc free()
  // (a wrong free or double free aborts the process under glibc's checks).
  setListen({ LISTEN_PID: String(process.pid), LISTEN_FDS: '1', LISTEN_FDNAMES: 'x'.repeat(4000) });
  for (let i = 0; i < 2000; i++) {
    const [entry] = sdfd.listenFdsWithNames();
    assert.equal(entry.name.length, 4000);
  }
});

function inWorker(code, options) {
  return new Promise((resolve, reject) => {
    const w = new Worker(`
      const { parentPort } = require('node:worker_threads');
      const sdfd = require(${JSON.stringify(require.resolve('sdfd'))});
      parentPort.postMessage((() => { ${code} })());
    `, { eval: true, ...options });
    const timer = setTimeout(() => { w.terminate(); reject(new Error('worker timed out')); }, 10000);
    w.once('message', (m) => { clearTimeout(timer); resolve(m); });
    w.once('error', (e) => { clearTimeout(timer); reject(e); });
  });
}

test('worker thread: its process.env copy is kept consistent too', async () => {
  setListen({ LISTEN_PID: '1', LISTEN_FDS: '2', LISTEN_FDNAMES: 'a:b' });
  const r = await inWorker(`
    const before = { ...process.env };
    const fds = sdfd.listenFds({ unsetEnvironment: true });
    return { fds, before: before.LISTEN_PID, after: ['LISTEN_PID', 'LISTEN_FDS', 'LISTEN_FDNAMES'].filter((k) => k in process.env) };
  `);
  assert.deepEqual(r, { fds: [], before: '1', after: [] });
  // The C side changed the real, process-wide environment: the main
  // thread (a live view) sees the variables gone as well.
  for (const k of VARS) assert.equal(k in process.env, false, k);
});
