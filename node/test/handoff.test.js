'use strict';
// Hand-off without a supervisor: offer (async, the event loop goes on),
// receive in a successor process, spawn, and the error paths.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const { test } = require('node:test');
const { execFile } = require('node:child_process');
const { tmpDir, libraryUnderTest } = require('./helpers');
const sdfd = require('..');

const FIXTURE = path.join(__dirname, 'fixtures', 'handoff_successor.js');
const env = { ...process.env, SDFD_LIBRARY: libraryUnderTest() };

function listening(server) {
  return new Promise((resolve) => server.listen({ port: 0, host: '127.0.0.1' }, resolve));
}

function run(file, args) {
  return new Promise((resolve, reject) => {
    execFile(file, args, { env, timeout: 20000 }, (err, stdout) => (err ? reject(err) : resolve(stdout)));
  });
}

test('a Node successor started by spawn finds the sockets by name', async (t) => {
  const dir = tmpDir(t);
  const out = path.join(dir, 'out.json');
  const web = net.createServer();
  const aux = net.createServer();
  await listening(web);
  await listening(aux);
  t.after(() => { web.close(); aux.close(); });
  const port = web.address().port;
  const pid = sdfd.handoff.spawn(process.execPath, [FIXTURE, '--spawned', String(port), out],
    [{ name: 'web', fd: web }, { name: 'aux', fd: aux._handle.fd }], { env });
  assert.ok(pid > 0);
  for (let i = 0; i < 400 && !fs.existsSync(out); i++) await new Promise((r) => setTimeout(r, 25));
  await new Promise((r) => setTimeout(r, 50));
  const got = JSON.parse(fs.readFileSync(out, 'utf8'));
  assert.equal(got.n, 2);
  assert.deepEqual(got.named, [{ fd: 3, name: 'web' }, { fd: 4, name: 'aux' }]);
  assert.deepEqual(got.web, [3]);
  assert.equal(got.pid, true);
  assert.equal(got.webIsPort, true);
});

test('offer waits on a worker thread; a Node successor cannot receive (its runtime holds fds 3..): EBUSY, the offerer keeps everything', async (t) => {
  const dir = tmpDir(t);
  const sock = path.join(dir, 'handoff.sock');
  const web = net.createServer();
  await listening(web);
  t.after(() => web.close());
  const port = web.address().port;
  let ticks = 0;
  const timer = setInterval(() => { ticks++; }, 5);
  const offered = sdfd.handoff.offer(sock, [{ name: 'web', fd: web }], { timeout: 15 });
  const settled = offered.then(() => 'resolved', (e) => e.code);
  const out = await run(process.execPath, [FIXTURE, sock, String(port)]);
  clearInterval(timer);
  assert.deepEqual(JSON.parse(out), { error: 'EBUSY' });
  assert.equal(await settled, 'ECONNABORTED');
  assert.ok(ticks > 0, 'the event loop ran during the offer');
  assert.equal(fs.existsSync(sock), false, 'the socket path is removed');
  assert.equal(sdfd.isSocketInet(web._handle.fd, { port }), true, 'this process still holds its socket');
});

test('offer to a successor that receives (python): resolves after the acknowledgement', async (t) => {
  const dir = tmpDir(t);
  const sock = path.join(dir, 'handoff.sock');
  const web = net.createServer();
  await listening(web);
  t.after(() => web.close());
  const lib = libraryUnderTest();
  const script = 'import ctypes,os,sys\n' +
    'l=ctypes.CDLL(sys.argv[1]); l.sdfd_handoff_receive.argtypes=[ctypes.c_char_p,ctypes.c_uint64,ctypes.c_uint]\n' +
    'n=l.sdfd_handoff_receive(sys.argv[2].encode(), 10000000, 0xFFFFFFFF)\n' +
    'g=ctypes.CDLL(None).getenv; g.restype=ctypes.c_char_p\n' +
    'print(n, g(b"LISTEN_FDNAMES").decode(), g(b"LISTEN_PID").decode()==str(os.getpid()))\n';
  const offered = sdfd.handoff.offer(sock, { web }, { timeout: 15 });
  const out = await run('/usr/bin/python3', ['-c', script, lib, sock]);
  await offered;
  assert.equal(out.trim(), '1 web True');
});

test('offer: path in use, timeout, bad names, bad fds', async (t) => {
  const dir = tmpDir(t);
  const busy = path.join(dir, 'busy');
  fs.writeFileSync(busy, 'mine');
  const server = net.createServer();
  await listening(server);
  t.after(() => server.close());
  await assert.rejects(sdfd.handoff.offer(busy, { web: server }, { timeout: 1 }), { code: 'EADDRINUSE' });
  assert.equal(fs.readFileSync(busy, 'utf8'), 'mine');
  const t0 = Date.now();
  await assert.rejects(sdfd.handoff.offer(path.join(dir, 's'), { web: server }, { timeout: 0.2 }), { code: 'ETIMEDOUT' });
  assert.ok(Date.now() - t0 >= 150);
  await assert.rejects(sdfd.handoff.offer(path.join(dir, 's'), { 'a:b': server }, { timeout: 1 }), { code: 'EINVAL' });
  await assert.rejects(sdfd.handoff.offer(path.join(dir, 's'), { web: 999999 }, { timeout: 1 }), { code: 'EBADF' });
  await assert.rejects(sdfd.handoff.offer(path.join(dir, 's'), {}, {}), /must not be empty/);
  await assert.rejects(sdfd.handoff.offer(path.join(dir, 's'), { web: server }, { timeout: -1 }), RangeError);
});

test('a NUL byte in a name, path, argument or env entry is an exact error, never a name cut short', async (t) => {
  const server = net.createServer();
  await listening(server);
  t.after(() => server.close());
  const dir = tmpDir(t);
  const nul = { name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE', message: /must not contain null bytes/ };
  await assert.rejects(sdfd.handoff.offer(path.join(dir, 's'), { 'web\0admin': server }, { timeout: 0 }), nul);
  await assert.rejects(sdfd.handoff.offer(path.join(dir, 's\0x'), { web: server }, { timeout: 0 }), nul);
  assert.throws(() => sdfd.handoff.receive(path.join(dir, 's\0x'), { timeout: 0 }), nul);
  assert.throws(() => sdfd.handoff.spawn('/bin/true', [], { 'web\0admin': server }), nul);
  assert.throws(() => sdfd.handoff.spawn('/bin/true', ['a\0b'], { web: server }), nul);
  assert.throws(() => sdfd.handoff.spawn('/bin/true', [], { web: server }, { env: { A: 'x\0y' } }), nul);
  assert.ok(!fs.existsSync(path.join(dir, 's')));
});

test('receive without an offer: ENOENT after the timeout', (t) => {
  const dir = tmpDir(t);
  const t0 = Date.now();
  assert.throws(() => sdfd.handoff.receive(path.join(dir, 'none'), { timeout: 0.2 }), { code: 'ENOENT' });
  assert.ok(Date.now() - t0 >= 150);
});

test('spawn passes the sockets the systemd way', async (t) => {
  const server = net.createServer();
  await listening(server);
  t.after(() => server.close());
  const dir = tmpDir(t);
  const out = path.join(dir, 'out');
  const script = 'import os,socket,sys\n' +
    's=socket.socket(fileno=3); os.set_inheritable(3, False)\n' +
    'open(sys.argv[1],"w").write("%s %s %s %d %s" % (os.environ["LISTEN_PID"]==str(os.getpid()), ' +
    'os.environ["LISTEN_FDS"], os.environ["LISTEN_FDNAMES"], s.getsockname()[1], sorted(os.listdir("/proc/self/fd"))))\n' +
    's.detach()\n';
  const pid = sdfd.handoff.spawn('/usr/bin/python3', ['-c', script, out], { web: server }, { env: { PATH: '/usr/bin', LISTEN_FDS: '9' } });
  assert.ok(pid > 0);
  for (let i = 0; i < 200 && !fs.existsSync(out); i++) await new Promise((r) => setTimeout(r, 25));
  await new Promise((r) => setTimeout(r, 100));
  const [same, n, names, port] = fs.readFileSync(out, 'utf8').split(' ');
  assert.equal(same, 'True');
  assert.equal(n, '1');
  assert.equal(names, 'web');
  assert.equal(Number(port), server.address().port);
  assert.throws(() => sdfd.handoff.spawn('/nonexistent/prog', [], { web: server }), { code: 'ENOENT' });
});
