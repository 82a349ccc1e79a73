'use strict';
// findSocket(): lookup by configured address, under systemd-socket-activate.
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const net = require('node:net');
const { spawn } = require('node:child_process');
const { tmpDir } = require('./helpers.js');
const sdfd = require('..');

const SCRIPT = `
const sdfd = require(${JSON.stringify(path.join(__dirname, '..'))});
const [p4, p6, sock] = JSON.parse(process.argv[1]);
const q = (a, o) => { try { return sdfd.findSocket(a, o); } catch (e) { return e.code; } };
const out = {
  v4: q('127.0.0.1:' + p4), v6: q('[::1]:' + p6), port: q(String(p4)), unix: q(sock),
  wrongHost: q('127.0.0.2:' + p4), wrongPath: q(sock + '.x'), dgram: q('127.0.0.1:' + p4, { type: sdfd.SOCK_DGRAM }),
  bad: q('localhost:80'), env: process.env.LISTEN_FDS,
};
console.error('RESULT ' + JSON.stringify(out));
`;

function freePort(host) {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, host, () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

test('findSocket finds each configured address, and only those', { timeout: 30000 }, async (t) => {
  const sock = path.join(tmpDir(t), 'find.sock');
  const p4 = await freePort('127.0.0.1');
  const p6 = await freePort('::1');
  const env = ['SDFD_LIBRARY', 'PKG_CONFIG_PATH', 'PATH'].filter((v) => process.env[v] !== undefined).map((v) => `--setenv=${v}`);
  const proc = spawn('/usr/bin/systemd-socket-activate', ['-l', `127.0.0.1:${p4}`, '-l', `[::1]:${p6}`, '-l', sock, ...env,
    process.execPath, '-e', SCRIPT, JSON.stringify([p4, p6, sock])], { stdio: ['ignore', 'ignore', 'pipe'] });
  t.after(() => proc.kill());
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr += d; });
  await new Promise((resolve) => { const iv = setInterval(() => { if (/as 5\./.test(stderr)) { clearInterval(iv); resolve(); } }, 20); });
  net.connect(p4, '127.0.0.1').on('error', () => {}).end();
  await new Promise((resolve) => proc.on('exit', resolve));
  const m = /^RESULT (.*)$/m.exec(stderr);
  assert.ok(m, stderr);
  assert.deepEqual(JSON.parse(m[1]), {
    v4: 3, v6: 4, port: 3, unix: 5, wrongHost: null, wrongPath: null, dgram: null, bad: 'EINVAL', env: '3',
  });
});

test('findSocket without activation is null; bad arguments throw', () => {
  assert.equal(sdfd.findSocket('127.0.0.1:8080'), null);
  assert.throws(() => sdfd.findSocket(8080), TypeError);
  assert.throws(() => sdfd.findSocket('8080', { type: -1 }), RangeError);
  assert.throws(() => sdfd.findSocket('nonsense'), { code: 'EINVAL' });
});

test('findSocket and the C parser (sdfd_find_socket) agree on each address', () => {
  const koffi = require('koffi');
  const cFind = koffi.load(sdfd.libraryPath()).func('int sdfd_find_socket(const char *address, int type)');
  const { ENOENT, ESRCH, EINVAL } = require('node:os').constants.errno;
  const c = (a) => {
    const rc = cFind(a, 0);
    return rc === -ENOENT || rc === -ESRCH ? null : rc === -EINVAL ? 'EINVAL' : rc;
  };
  const node = (a) => {
    try {
      return sdfd.findSocket(a);
    } catch (e) {
      return e.code;
    }
  };
  for (const a of ['[::1]:80', '[::1]', '@abstract', '@', '/run/x.sock', '/', '8080', '80000', '1.2.3.4:0', 'localhost:80']) {
    assert.equal(node(a), c(a), a);
  }
  assert.equal(node('[::1]'), 'EINVAL');
  assert.equal(node('@abstract'), null);
});
