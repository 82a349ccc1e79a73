'use strict';
// notify() and friends, received by a stand-in for the service manager (a
// python datagram receiver bound where NOTIFY_SOCKET points).
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { Worker } = require('node:worker_threads');
const sdfd = require('sdfd');
const { notifyReceiver, assertSdfdError, tmpDir } = require('./helpers.js');

const T = { timeout: 30000 };

test.afterEach(() => {
  for (const k of ['NOTIFY_SOCKET', 'WATCHDOG_USEC', 'WATCHDOG_PID']) delete process.env[k];
});

test('string and object states reach the receiver (path socket)', T, async (t) => {
  const address = path.join(tmpDir(t), 'notify.sock');
  const receiver = await notifyReceiver(t, address);
  process.env.NOTIFY_SOCKET = address;
  assert.equal(sdfd.notify('READY=1\nSTATUS=serving on fd 3'), true);
  assert.equal(sdfd.notify({ STATUS: 'caf\u00e9 ok', MAINPID: process.pid, WATCHDOG: true }), true);
  assert.equal(process.env.NOTIFY_SOCKET, address); // kept without unsetEnvironment
  const messages = await receiver.messages(2);
  assert.deepEqual(messages, [
    { data: 'READY=1\nSTATUS=serving on fd 3', nfds: 0 },
    { data: `STATUS=caf\u00e9 ok\nMAINPID=${process.pid}\nWATCHDOG=1`, nfds: 0 },
  ]);
});

test('abstract socket, and unsetEnvironment', T, async (t) => {
  const address = `@sdfd-node-notify-${process.pid}-${Date.now()}`;
  const receiver = await notifyReceiver(t, address);
  process.env.NOTIFY_SOCKET = address;
  assert.equal(sdfd.notify('STOPPING=1', { unsetEnvironment: true }), true);
  assert.equal('NOTIFY_SOCKET' in process.env, false);
  // Gone for the C side too: nothing more is sent.
  assert.equal(sdfd.notify('READY=1'), false);
  assert.deepEqual(await receiver.messages(1), [{ data: 'STOPPING=1', nfds: 0 }]);
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(receiver.stdout.trim().split('\n').length, 2); // BOUND + one message
});

test('unsetEnvironment in a worker thread keeps its process.env copy consistent', T, async () => {
  process.env.NOTIFY_SOCKET = '/nonexistent/sdfd-node/notify.sock';
  const result = await new Promise((resolve, reject) => {
    const w = new Worker(`
      const { parentPort } = require('node:worker_threads');
      const sdfd = require(${JSON.stringify(require.resolve('sdfd'))});
      let code;
      try { sdfd.notify('READY=1', { unsetEnvironment: true }); } catch (e) { code = e.code; }
      parentPort.postMessage({ code, left: 'NOTIFY_SOCKET' in process.env });
    `, { eval: true });
    const timer = setTimeout(() => { w.terminate(); reject(new Error('worker timed out')); }, 10000);
    w.once('message', (m) => { clearTimeout(timer); resolve(m); });
    w.once('error', (e) => { clearTimeout(timer); reject(e); });
  });
  assert.deepEqual(result, { code: 'ENOENT', left: false });
  assert.equal('NOTIFY_SOCKET' in process.env, false);
});

test('no NOTIFY_SOCKET: false, nothing thrown', () => {
  delete process.env.NOTIFY_SOCKET;
  assert.equal(sdfd.notify('READY=1'), false);
  assert.equal(sdfd.notify({ READY: 1 }, { unsetEnvironment: true }), false);
});

test('send failures and bad addresses are errno Errors', () => {
  process.env.NOTIFY_SOCKET = '/nonexistent/sdfd-node/notify.sock';
  assert.throws(() => sdfd.notify('READY=1'), (e) => assertSdfdError(e, 'ENOENT') && e.syscall === 'sd_notify');
  process.env.NOTIFY_SOCKET = `@sdfd-node-nobody-${process.pid}`;
  assert.throws(() => sdfd.notify('READY=1'), (e) => assertSdfdError(e, 'ECONNREFUSED'));
  process.env.NOTIFY_SOCKET = 'relative/path';
  assert.throws(() => sdfd.notify('READY=1'), (e) => e.errno < 0 && ['EINVAL', 'EPROTO'].includes(e.code));
  // vsock (systemd 254+ syntax): whatever the kernel says has a proper
  // errno name, also the Linux-only ones os.constants.errno lacks.
  process.env.NOTIFY_SOCKET = 'vsock:2:1234';
  try {
    sdfd.notify('READY=1');
  } catch (e) {
    assert.match(e.code, /^E[A-Z]{3,}$/, e.message);
    assert.equal(e.errno < 0, true);
    assert.match(e.message, new RegExp(`^sd_notify failed: ${e.code} \\(.+\\)$`));
  }
  process.env.NOTIFY_SOCKET = `/${'x'.repeat(200)}`;
  assert.throws(() => sdfd.notify('READY=1', { unsetEnvironment: true }), (e) => assertSdfdError(e, 'ENAMETOOLONG'));
  assert.equal('NOTIFY_SOCKET' in process.env, false); // unset on the error path too
});

test('descriptors passed along (FDSTORE=1)', T, async (t) => {
  const dir = tmpDir(t);
  const address = path.join(dir, 'notify.sock');
  const receiver = await notifyReceiver(t, address);
  process.env.NOTIFY_SOCKET = address;
  const a = fs.openSync('/dev/null', 'r');
  const b = fs.openSync('/dev/null', 'r');
  t.after(() => { fs.closeSync(a); fs.closeSync(b); });
  assert.equal(sdfd.notify({ FDSTORE: 1, FDNAME: 'cache' }, { fds: [a, b] }), true);
  assert.equal(sdfd.notify('STATUS=none', { fds: [] }), true);
  assert.equal(sdfd.notify('STATUS=pid', { pid: 0 }), true);
  assert.deepEqual(await receiver.messages(3), [
    { data: 'FDSTORE=1\nFDNAME=cache', nfds: 2 },
    { data: 'STATUS=none', nfds: 0 },
    { data: 'STATUS=pid', nfds: 0 },
  ]);
  // Ours are still open (the kernel passed copies).
  assert.equal(sdfd.isSpecial(a), true);
  assert.throws(() => sdfd.notify('X=1', { fds: [a, 1.5] }), { name: 'RangeError', message: /"options.fds\[1\]" is out of range/ });
  assert.throws(() => sdfd.notify('X=1', { fds: a }), { name: 'TypeError', message: /"options.fds" property must be an array/ });
  assert.throws(() => sdfd.notify('X=1', { pid: -1 }), { name: 'RangeError' });
});

test('barrier: resolves once the receiver has closed the passed pipe', T, async (t) => {
  const address = path.join(tmpDir(t), 'notify.sock');
  const receiver = await notifyReceiver(t, address);
  process.env.NOTIFY_SOCKET = address;
  assert.equal(sdfd.notify('READY=1'), true);
  assert.equal(await sdfd.notifyBarrier({ timeout: 10000 }), true);
  assert.deepEqual(await receiver.messages(2), [{ data: 'READY=1', nfds: 0 }, { data: 'BARRIER=1', nfds: 1 }]);
  delete process.env.NOTIFY_SOCKET;
  assert.equal(await sdfd.notifyBarrier(), false);
});

test('barrier: times out when nobody processes it', T, async (t) => {
  // A bound socket nobody reads: the datagram queues, the pipe stays open.
  const address = path.join(tmpDir(t), 'deaf.sock');
  const receiver = await notifyReceiver(t, address);
  receiver.child.kill('SIGSTOP');
  t.after(() => { try { receiver.child.kill('SIGCONT'); } catch { /* gone */ } });
  process.env.NOTIFY_SOCKET = address;
  const started = Date.now();
  await assert.rejects(sdfd.notifyBarrier({ timeout: 300 }), (e) => assertSdfdError(e, 'ETIMEDOUT'));
  const took = Date.now() - started;
  assert.ok(took >= 250 && took < 5000, `took ${took} ms`);
});

test('watchdogEnabled', () => {
  assert.equal(sdfd.watchdogEnabled(), null);
  process.env.WATCHDOG_USEC = '1500000';
  assert.equal(sdfd.watchdogEnabled(), 1500000);
  process.env.WATCHDOG_PID = String(process.pid);
  assert.equal(sdfd.watchdogEnabled(), 1500000);
  process.env.WATCHDOG_PID = '1';
  assert.equal(sdfd.watchdogEnabled(), null); // another process's
  process.env.WATCHDOG_PID = String(process.pid);
  process.env.WATCHDOG_USEC = '0';
  assert.throws(() => sdfd.watchdogEnabled(), (e) => assertSdfdError(e, 'EINVAL'));
  process.env.WATCHDOG_USEC = '-5';
  assert.throws(() => sdfd.watchdogEnabled({ unsetEnvironment: true }), (e) => assertSdfdError(e, 'ERANGE'));
  assert.equal('WATCHDOG_USEC' in process.env, false);
  assert.equal('WATCHDOG_PID' in process.env, false);
});

test('booted matches /run/systemd/system', () => {
  let expected;
  try {
    expected = fs.lstatSync('/run/systemd/system').isDirectory();
  } catch {
    expected = false;
  }
  assert.equal(sdfd.booted(), expected);
});
