'use strict';
// The README's example, run as written (only the port changed): activated
// by systemd-socket-activate, and on its own.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { start, freePort, get, tmpDir, SOCKET_ACTIVATE, notifyReceiver } = require('./helpers.js');

const ROOT = path.dirname(__dirname);

function example(t, port) {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const m = readme.match(/```js\n(\/\/ server\.js\n[\s\S]*?)```/);
  assert.ok(m, 'README has the server.js example');
  assert.match(m[1], /8080/);
  const dir = tmpDir(t);
  fs.mkdirSync(path.join(dir, 'node_modules'));
  fs.symlinkSync(ROOT, path.join(dir, 'node_modules', 'sdfd'));
  const file = path.join(dir, 'server.js');
  fs.writeFileSync(file, m[1].replaceAll('8080', String(port)));
  return file;
}

test('README example: activated', { timeout: 30000 }, async (t) => {
  const port = await freePort();
  const dir = tmpDir(t);
  const receiver = await notifyReceiver(t, path.join(dir, 'notify.sock'));
  const env = [];
  for (const v of ['SDFD_LIBRARY', 'PKG_CONFIG_PATH', 'PATH']) if (process.env[v] !== undefined) env.push(`--setenv=${v}`);
  const proc = start(t, SOCKET_ACTIVATE, ['-l', `127.0.0.1:${port}`, '--fdname=web', ...env,
    `--setenv=NOTIFY_SOCKET=${path.join(dir, 'notify.sock')}`, process.execPath, example(t, port)]);
  await proc.waitFor(/^Listening on /m, { stream: 'stderr' });
  const res = await get({ port }, '/');
  assert.equal(res.body, `hello from ${proc.child.pid}\n`);
  await proc.waitFor(/^serving on activated fd 3$/m, { stream: 'stdout' });
  assert.deepEqual(await receiver.messages(1), [{ data: 'READY=1\nSTATUS=serving', nfds: 0 }]);
});

test('README example: falls back', { timeout: 30000 }, async (t) => {
  const port = await freePort();
  const env = { ...process.env };
  delete env.NOTIFY_SOCKET;
  const proc = start(t, process.execPath, [example(t, port)], { env });
  await proc.waitFor(new RegExp(`^serving on 127\\.0\\.0\\.1:${port}$`, 'm'), { stream: 'stdout' });
  assert.equal((await get({ port }, '/')).body, `hello from ${proc.child.pid}\n`);
});
