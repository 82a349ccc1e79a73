'use strict';
// isSocket*, isFifo, isSpecial, isMq on real descriptors of this process,
// and argument checking.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const { pathToFileURL } = require('node:url');
const { execFileSync } = require('node:child_process');
const koffi = require('koffi');
const sdfd = require('sdfd');
const { assertSdfdError, tmpDir } = require('./helpers.js');

function listening(t, ...args) {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(...args, () => resolve(s));
    t.after(() => { s.close(); }); // connections may outlive it until their own cleanup
  });
}

// The descriptor behind a net handle (Linux: a plain fd).
const fdOf = (x) => {
  assert.equal(typeof x._handle.fd, 'number');
  assert.ok(x._handle.fd > 2);
  return x._handle.fd;
};

test('TCP over IPv4', async (t) => {
  const server = await listening(t, 0, '127.0.0.1');
  const fd = fdOf(server);
  const { port } = server.address();
  assert.equal(sdfd.isSocket(fd), true);
  assert.equal(sdfd.isSocket(fd, { type: 'stream', listening: true }), true);
  assert.equal(sdfd.isSocket(fd, { type: sdfd.SOCK_STREAM }), true);
  assert.equal(sdfd.isSocket(fd, { type: 'dgram' }), false);
  assert.equal(sdfd.isSocket(fd, { listening: false }), false);
  assert.equal(sdfd.isSocket(fd, { family: 'inet' }), true);
  assert.equal(sdfd.isSocket(fd, { family: 'IPv4' }), true);
  assert.equal(sdfd.isSocket(fd, { family: sdfd.AF_INET }), true);
  assert.equal(sdfd.isSocket(fd, { family: 'inet6' }), false);
  assert.equal(sdfd.isSocket(fd, { family: 'unix' }), false);
  assert.equal(sdfd.isSocketInet(fd), true);
  assert.equal(sdfd.isSocketInet(fd, { family: 'inet', type: 'stream', listening: true, port }), true);
  assert.equal(sdfd.isSocketInet(fd, { port: port === 65535 ? 1 : port + 1 }), false);
  assert.equal(sdfd.isSocketInet(fd, { family: 'inet6' }), false);
  assert.equal(sdfd.isSocketUnix(fd), false);
  assert.equal(sdfd.isSocketSockaddr(fd, { address: '127.0.0.1', port }), true);
  assert.equal(sdfd.isSocketSockaddr(fd, { address: '127.0.0.1' }), true);
  assert.equal(sdfd.isSocketSockaddr(fd, { address: '127.0.0.1', port, listening: false }), false);
  assert.equal(sdfd.isSocketSockaddr(fd, { address: '127.0.0.2', port }), false);
  assert.equal(sdfd.isSocketSockaddr(fd, { address: '::1', port }), false);
  assert.equal(sdfd.isFifo(fd), false);
  assert.equal(sdfd.isSpecial(fd), false);
  // An AF_UNIX family is an argument error for the inet check (C: -EINVAL).
  assert.throws(() => sdfd.isSocketInet(fd, { family: 'unix' }), (e) => assertSdfdError(e, 'EINVAL'));
  assert.throws(() => sdfd.isSocket(fd, { family: -1 }), (e) => assertSdfdError(e, 'EINVAL'));
  assert.throws(() => sdfd.isSocket(fd, { type: -1 }), (e) => assertSdfdError(e, 'EINVAL'));
});

test('TCP over IPv6, address spellings and zones', async (t) => {
  const server = await listening(t, 0, '::1');
  const fd = fdOf(server);
  const { port } = server.address();
  assert.equal(sdfd.isSocketInet(fd, { family: 'inet6', port }), true);
  assert.equal(sdfd.isSocketInet(fd, { family: 'inet' }), false);
  for (const address of ['::1', '0:0:0:0:0:0:0:1', '::0:1', '0::1']) {
    assert.equal(sdfd.isSocketSockaddr(fd, { address, port }), true, address);
  }
  for (const address of ['::2', '::', '::ffff:127.0.0.1', '1::', '127.0.0.1']) {
    assert.equal(sdfd.isSocketSockaddr(fd, { address, port }), false, address);
  }
  // A scope id is compared when given: the socket's is 0.
  assert.equal(sdfd.isSocketSockaddr(fd, { address: '::1', scopeId: 1 }), false);
  assert.equal(sdfd.isSocketSockaddr(fd, { address: '::1%1' }), false);
  assert.equal(sdfd.isSocketSockaddr(fd, { address: '::1%lo' }), false);
  assert.throws(() => sdfd.isSocketSockaddr(fd, { address: '::1%nosuchif0' }), { name: 'TypeError', message: /unknown interface "nosuchif0"/ });
});

test('IPv4 inside IPv6 notation is parsed', async (t) => {
  const server = await listening(t, { port: 0, host: '::ffff:127.0.0.1' }).catch(() => null);
  // Linux maps the listen address into an AF_INET6 socket bound to ::ffff:127.0.0.1.
  assert.ok(server, 'listening on ::ffff:127.0.0.1');
  const fd = fdOf(server);
  assert.equal(sdfd.isSocketSockaddr(fd, { address: '::ffff:127.0.0.1' }), true);
  assert.equal(sdfd.isSocketSockaddr(fd, { address: '::ffff:7f00:1' }), true);
  assert.equal(sdfd.isSocketSockaddr(fd, { address: '::ffff:127.0.0.2' }), false);
  assert.equal(sdfd.isSocketSockaddr(fd, { address: '127.0.0.1' }), false); // no v4-mapped matching
});

test('unix sockets: path and unnamed', async (t) => {
  const dir = tmpDir(t);
  const sock = path.join(dir, 's.sock');
  const server = await listening(t, sock);
  const fd = fdOf(server);
  assert.equal(sdfd.isSocketUnix(fd), true);
  assert.equal(sdfd.isSocketUnix(fd, { path: sock, type: 'stream', listening: true }), true);
  assert.equal(sdfd.isSocketUnix(fd, { path: Buffer.from(sock) }), true);
  assert.equal(sdfd.isSocketUnix(fd, { path: `${sock}x` }), false);
  assert.equal(sdfd.isSocketUnix(fd, { path: sock.slice(0, -1) }), false);
  assert.equal(sdfd.isSocketUnix(fd, { path: '' }), false);
  assert.equal(sdfd.isSocketUnix(fd, { path: sock, listening: false }), false);
  assert.equal(sdfd.isSocket(fd, { family: 'unix' }), true);
  assert.equal(sdfd.isSocketInet(fd), false);

  // Abstract names: see activation.test.js (Node's own net module binds
  // them padded with NULs, so they are probed on sockets made by
  // systemd-socket-activate).

  // A connecting client socket has no name.
  const client = net.connect(sock);
  t.after(() => client.destroy());
  await new Promise((resolve, reject) => client.once('connect', resolve).once('error', reject));
  const cfd = fdOf(client);
  assert.equal(sdfd.isSocketUnix(cfd, { path: '' }), true);
  assert.equal(sdfd.isSocketUnix(cfd, { path: '', listening: false }), true);
  assert.equal(sdfd.isSocketUnix(cfd, { listening: true }), false);
});

test('FIFOs, special files, message queues', (t) => {
  const dir = tmpDir(t);
  const fifo = path.join(dir, 'fifo');
  const other = path.join(dir, 'other');
  execFileSync('mkfifo', [fifo, other]);
  const ffd = fs.openSync(fifo, fs.constants.O_RDWR | fs.constants.O_NONBLOCK);
  t.after(() => fs.closeSync(ffd));
  assert.equal(sdfd.isFifo(ffd), true);
  assert.equal(sdfd.isFifo(ffd, fifo), true);
  assert.equal(sdfd.isFifo(ffd, Buffer.from(fifo)), true);
  assert.equal(sdfd.isFifo(ffd, pathToFileURL(fifo)), true);
  assert.equal(sdfd.isFifo(ffd, other), false);
  assert.equal(sdfd.isFifo(ffd, path.join(dir, 'missing')), false);
  assert.equal(sdfd.isSpecial(ffd), false);
  assert.equal(sdfd.isSocket(ffd), false);

  const file = path.join(dir, 'file');
  fs.writeFileSync(file, 'x');
  fs.writeFileSync(other + '2', 'y');
  const rfd = fs.openSync(file, 'r');
  t.after(() => fs.closeSync(rfd));
  assert.equal(sdfd.isSpecial(rfd), true);
  assert.equal(sdfd.isSpecial(rfd, file), true);
  assert.equal(sdfd.isSpecial(rfd, other + '2'), false);
  assert.equal(sdfd.isFifo(rfd), false);
  assert.equal(sdfd.isMq(rfd), false);

  const nfd = fs.openSync('/dev/null', 'r');
  t.after(() => fs.closeSync(nfd));
  assert.equal(sdfd.isSpecial(nfd), true);
  assert.equal(sdfd.isSpecial(nfd, '/dev/null'), true);
  assert.equal(sdfd.isSpecial(nfd, '/dev/zero'), false);

  // A real POSIX message queue, opened through libc.
  const libc = koffi.load('libc.so.6');
  const mqOpen = libc.func('int mq_open(const char *name, int oflag, ...)');
  const mqUnlink = libc.func('int mq_unlink(const char *name)');
  const name = `/sdfd-node-${process.pid}`;
  const O_CREAT = 0o100;
  const mq = mqOpen(name, fs.constants.O_RDWR | O_CREAT, 'uint32_t', 0o600, 'void *', null);
  assert.ok(mq >= 0, `mq_open: ${koffi.errno()}`);
  t.after(() => { fs.closeSync(mq); mqUnlink(name); });
  assert.equal(sdfd.isMq(mq), true);
  // A relative name is refused, once the fd is known to be a queue.
  assert.throws(() => sdfd.isMq(mq, 'relative'), (e) => assertSdfdError(e, 'EINVAL'));
  assert.equal(sdfd.isMq(rfd, 'relative'), false);
});

test('bad and closed descriptors are EBADF errors', () => {
  const closed = fs.openSync('/dev/null', 'r');
  fs.closeSync(closed);
  for (const fd of [-1, -100, 2 ** 31 - 1]) {
    for (const f of [sdfd.isSocket, sdfd.isSocketInet, sdfd.isSocketUnix, sdfd.isFifo, sdfd.isSpecial, sdfd.isMq]) {
      assert.throws(() => f(fd), (e) => assertSdfdError(e, 'EBADF') && e.syscall.startsWith('sd_is_'), `${f.name}(${fd})`);
    }
    assert.throws(() => sdfd.isSocketSockaddr(fd, { address: '127.0.0.1' }), (e) => assertSdfdError(e, 'EBADF'));
  }
  assert.throws(() => sdfd.isSocket(closed), (e) => assertSdfdError(e, 'EBADF'));
  assert.throws(() => sdfd.isSocket(-1), { message: /^sd_is_socket failed: EBADF \(bad file descriptor\)$/i });
});

test('wrong argument types and ranges throw TypeError / RangeError', () => {
  const type = (f, message) => assert.throws(f, (e) => e instanceof TypeError && /^ERR_INVALID_ARG_(TYPE|VALUE)$/.test(e.code) && message.test(e.message));
  const range = (f, message) => assert.throws(f, (e) => e instanceof RangeError && e.code === 'ERR_OUT_OF_RANGE' && message.test(e.message));

  type(() => sdfd.isSocket('3'), /The "fd" argument must be of type number. Received type string \('3'\)/);
  type(() => sdfd.isSocket(), /The "fd" argument must be of type number. Received undefined/);
  type(() => sdfd.isSocket(3n), /"fd" argument must be of type number/);
  range(() => sdfd.isSocket(3.5), /The value of "fd" is out of range. It must be an integer. Received 3.5/);
  range(() => sdfd.isSocket(NaN), /"fd" is out of range/);
  range(() => sdfd.isSocket(2 ** 31), /It must be >= -2147483648 and <= 2147483647. Received 2147483648/);
  range(() => sdfd.isFifo(-(2 ** 31) - 1), /"fd" is out of range/);
  type(() => sdfd.isSocket(3, 'stream'), /"options" argument must be of type object/);
  type(() => sdfd.isSocket(3, { famly: 2 }), /unknown property "famly"/);
  type(() => sdfd.isSocket(3, { family: 'appletalk' }), /"options.family" property must be 'unix', 'inet'/);
  type(() => sdfd.isSocket(3, { type: 'raw' }), /"options.type" property must be 'stream', 'dgram', 'seqpacket'/);
  type(() => sdfd.isSocket(3, { listening: 1 }), /"options.listening" property must be of type boolean/);
  range(() => sdfd.isSocket(3, { family: 2.5 }), /"options.family" is out of range/);
  range(() => sdfd.isSocketInet(3, { port: 65536 }), /"options.port" is out of range. It must be >= 0 and <= 65535/);
  range(() => sdfd.isSocketInet(3, { port: -1 }), /"options.port" is out of range/);
  type(() => sdfd.isSocketInet(3, { port: '80' }), /"options.port" property must be of type number/);
  type(() => sdfd.isFifo(3, 42), /"path" argument must be of type string or an instance of Buffer or URL/);
  type(() => sdfd.isFifo(3, 'a\0b'), /"path" argument must not contain null bytes/);
  type(() => sdfd.isSocketUnix(3, { path: 'a\0b' }), /"options.path" property must not contain null bytes/);
  type(() => sdfd.isSocketUnix(3, { path: 7 }), /"options.path" property must be of type string or an instance of Buffer/);
  type(() => sdfd.isSocketSockaddr(3), /"options.address" property must be of type string. Received undefined/);
  type(() => sdfd.isSocketSockaddr(3, { address: 'localhost' }), /"options.address" property must be an IPv4 or IPv6 address/);
  type(() => sdfd.isSocketSockaddr(3, { address: '127.0.0.1', scopeId: 1 }), /only apply to IPv6/);
  range(() => sdfd.isSocketSockaddr(3, { address: '::1', flowinfo: -1 }), /"options.flowinfo" is out of range/);
  type(() => sdfd.listenFds('yes'), /"options" argument must be of type object/);
  type(() => sdfd.listenFds({ unsetEnvironment: 1 }), /"options.unsetEnvironment" property must be of type boolean. Received type number \(1\)/);
  type(() => sdfd.listenFdsWithNames({ unset: true }), /unknown property "unset"/);
  type(() => sdfd.collect(), /The "name" argument must be of type string. Received undefined/);
  type(() => sdfd.collect(3), /"name" argument must be of type string/);
  type(() => sdfd.collect('a\0'), /"name" argument must not contain null bytes/);
  type(() => sdfd.listenOptions({ port: '80' }), /"options.port" property must be of type number/);
  range(() => sdfd.listenOptions({ port: 1e6 }), /"options.port" is out of range/);
  type(() => sdfd.listenOptions({ port: 80, path: '/x' }), /must not have both "port" and "path"/);
  type(() => sdfd.listenOptions({ host: '127.0.0.1' }), /has "host" but no "port"/);
  type(() => sdfd.listenOptions({ name: 3, port: 80 }), /"options.name" property must be of type string/);
  type(() => sdfd.listenOptions(5), /"options" argument must be of type object/);
  type(() => sdfd.notify(42), /"state" argument must be of type string or object/);
  type(() => sdfd.notify('READY=1\0'), /"state" argument must not contain null bytes/);
  type(() => sdfd.notify({}), /"state" argument must not be empty/);
  type(() => sdfd.notify({ 'A=B': 1 }), /invalid key "A=B"/);
  type(() => sdfd.notify({ STATUS: 'a\nb' }), /"state.STATUS" property must not contain newlines/);
  type(() => sdfd.notify({ STATUS: {} }), /"state.STATUS" property must be a string, number, bigint or boolean/);
  type(() => sdfd.notify('READY=1', { unsetEnvironment: 'no' }), /"options.unsetEnvironment" property must be of type boolean/);
});

test('promise-returning functions reject on bad arguments', async () => {
  await assert.rejects(sdfd.listen(null, { port: 0 }), { name: 'TypeError', message: /The "server" argument must be a net.Server/ });
  await assert.rejects(sdfd.listen({}, { port: 0 }), { name: 'TypeError' });
  await assert.rejects(sdfd.listen(net.createServer(), { port: -5 }), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' });
  await assert.rejects(sdfd.notifyBarrier({ timeout: -1 }), { name: 'RangeError', message: /"options.timeout" is out of range/ });
  await assert.rejects(sdfd.notifyBarrier({ timeout: '1' }), { name: 'TypeError' });
});
