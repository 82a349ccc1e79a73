'use strict';
// listenOptions() and listen() without activation, in this process.
const test = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const http = require('node:http');
const path = require('node:path');
const sdfd = require('sdfd');
const { get, freePort, tmpDir } = require('./helpers.js');

for (const k of ['LISTEN_PID', 'LISTEN_FDS', 'LISTEN_FDNAMES']) delete process.env[k];

test('listenOptions: the fallback, with other listen options passed through', () => {
  assert.deepEqual(sdfd.listenOptions({ name: 'web', port: 8080 }), { port: 8080 });
  assert.deepEqual(sdfd.listenOptions({ port: 0, host: '127.0.0.1', backlog: 5, exclusive: true }),
    { port: 0, host: '127.0.0.1', backlog: 5, exclusive: true });
  assert.deepEqual(sdfd.listenOptions({ name: 'web', path: '/run/web.sock', readableAll: true }),
    { path: '/run/web.sock', readableAll: true });
  assert.deepEqual(sdfd.listenOptions({ name: 'web', port: 80, unsetEnvironment: true }), { port: 80 });
});

test('listenOptions: nothing passed and no fallback', () => {
  assert.throws(() => sdfd.listenOptions({ name: 'web' }),
    { code: 'ERR_SDFD_NO_SOCKET', message: 'no socket named "web" was passed and options have no "port" or "path" to listen on instead' });
  assert.throws(() => sdfd.listenOptions(), { code: 'ERR_SDFD_NO_SOCKET', message: /^no socket was passed/ });
});

test('listen: falls back and serves HTTP', { timeout: 20000 }, async (t) => {
  const port = await freePort();
  const server = http.createServer((req, res) => res.end(JSON.stringify({ url: req.url })));
  t.after(() => server.close());
  const r = await sdfd.listen(server, { name: 'web', port, host: '127.0.0.1' });
  assert.deepEqual(r, { activated: false, address: { address: '127.0.0.1', family: 'IPv4', port } });
  assert.deepEqual((await get({ port }, '/in-process')).json, { url: '/in-process' });
});

test('listen: unix path fallback', { timeout: 20000 }, async (t) => {
  const sock = path.join(tmpDir(t), 'x.sock');
  const server = net.createServer((c) => c.end('hi'));
  t.after(() => server.close());
  const r = await sdfd.listen(server, { name: 'x', path: sock });
  assert.deepEqual(r, { activated: false, address: sock });
});

test('listen: rejects with the server\'s own error (port in use)', { timeout: 20000 }, async (t) => {
  const first = net.createServer();
  t.after(() => first.close());
  const { port } = (await sdfd.listen(first, { port: 0, host: '127.0.0.1' })).address;
  const second = net.createServer();
  await assert.rejects(sdfd.listen(second, { port, host: '127.0.0.1' }), { code: 'EADDRINUSE' });
  // The listeners it added are gone.
  assert.equal(second.listenerCount('listening'), 0);
  assert.equal(second.listenerCount('error'), 0);
});
