'use strict';
// Not socket-activated: the same service listens on a port or path itself.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { FIXTURES, start, freePort, get, readyInfo, tmpDir } = require('./helpers.js');

const T = { timeout: 30000 };

function service(t, config, env = {}) {
  const clean = { ...process.env, ...env };
  for (const k of ['LISTEN_PID', 'LISTEN_FDS', 'LISTEN_FDNAMES']) if (!(k in env)) delete clean[k];
  return start(t, process.execPath, [path.join(FIXTURES, 'server.cjs'), JSON.stringify(config)], { env: clean });
}

test('falls back to a TCP port when no socket was passed', T, async (t) => {
  const port = await freePort();
  const proc = service(t, { servers: [{ name: 'web', kind: 'http', port, host: '127.0.0.1' }] });
  const info = await readyInfo(proc);
  assert.deepEqual(info.names, { value: [] });
  assert.deepEqual(info.servers.web, { activated: false, address: { address: '127.0.0.1', family: 'IPv4', port } });
  const res = await get({ port }, '/fallback');
  assert.deepEqual(res.json, { server: 'web', pid: info.pid, url: '/fallback' });
});

test('falls back to a unix socket path', T, async (t) => {
  const sock = path.join(tmpDir(t), 'web.sock');
  const proc = service(t, { servers: [{ name: 'web', kind: 'http', path: sock }] });
  const info = await readyInfo(proc);
  assert.deepEqual(info.servers.web, { activated: false, address: sock });
  assert.ok(fs.statSync(sock).isSocket());
  assert.equal((await get({ socketPath: sock }, '/u')).json.url, '/u');
});

test('variables meant for another process are ignored (and the fallback used)', T, async (t) => {
  const port = await freePort();
  // LISTEN_PID of some other process: not for us, whatever LISTEN_FDS says.
  const proc = service(t, { servers: [{ name: 'web', kind: 'http', port, host: '127.0.0.1' }] },
    { LISTEN_PID: String(process.pid), LISTEN_FDS: '1', LISTEN_FDNAMES: 'web' });
  const info = await readyInfo(proc);
  assert.equal(info.envAtStart.LISTEN_PID, String(process.pid));
  assert.deepEqual(info.fds, { value: [] });
  assert.equal(info.servers.web.activated, false);
  assert.equal((await get({ port }, '/')).json.server, 'web');
  // unsetEnvironment removes them even so.
  assert.deepEqual(info.envAfterUnset, {});
  assert.deepEqual(info.childEnvAfterUnset, {});
});

test('broken activation variables are an error, not a silent fallback', T, async (t) => {
  const port = await freePort();
  const proc = service(t, { servers: [{ name: 'web', kind: 'http', port, host: '127.0.0.1' }] },
    { LISTEN_PID: 'self', LISTEN_FDS: '1' });
  const m = await proc.waitFor(/^LISTEN-ERROR (.*)$/m, { stream: 'stderr' });
  assert.deepEqual(JSON.parse(m[1]).code, 'EINVAL');
  assert.deepEqual(await proc.exit(), { code: 2, signal: null });
});
