'use strict';
// A real service started by systemd-socket-activate: named TCP and unix
// sockets passed in, HTTP requests served on them.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { activate, get, readAll, readyInfo, notifyReceiver, tmpDir } = require('./helpers.js');

const T = { timeout: 30000 };

for (const fixture of ['server.cjs', 'server.mjs']) {
  test(`named TCP and unix sockets serve HTTP (${fixture})`, T, async (t) => {
    const dir = tmpDir(t);
    const sock = path.join(dir, 'admin.sock');
    const receiver = await notifyReceiver(t, path.join(dir, 'notify.sock'));
    const { proc, ports } = await activate(t, {
      listen: ['127.0.0.1:PORT', sock],
      fdnames: ['web', 'admin'],
      setenv: { NOTIFY_SOCKET: path.join(dir, 'notify.sock') },
      fixture,
      config: (p) => ({
        servers: [
          { name: 'web', kind: 'http', port: 1 }, // fallbacks must not be used
          { name: 'admin', kind: 'http', path: path.join(dir, 'never.sock') },
        ],
        probes: [
          { fd: 3, port: p[0], address: '127.0.0.1', path: sock },
          { fd: 4, port: p[0] === 65535 ? 65534 : p[0] + 1, address: '127.0.0.2', path: sock },
        ],
      }),
    });
    const [port] = ports;

    // The first request is what makes systemd-socket-activate start the service.
    const web = await get({ port }, '/hello');
    assert.equal(web.status, 200);
    assert.equal(web.json.server, 'web');
    assert.equal(web.json.url, '/hello');
    const admin = await get({ socketPath: sock }, '/');
    assert.equal(admin.json.server, 'admin');
    assert.equal(admin.json.pid, web.json.pid);

    const info = await readyInfo(proc);
    assert.equal(info.moduleKind, fixture.endsWith('.mjs') ? 'esm' : 'cjs');
    assert.equal(info.pid, web.json.pid);
    assert.deepEqual(info.envAtStart, { LISTEN_PID: String(info.pid), LISTEN_FDS: '2', LISTEN_FDNAMES: 'web:admin' });
    assert.deepEqual(info.fds, { value: [3, 4] });
    assert.deepEqual(info.names, { value: [{ fd: 3, name: 'web' }, { fd: 4, name: 'admin' }] });
    assert.deepEqual(info.collected, { web: [3], admin: [4] });
    assert.deepEqual(info.checks, [
      { fd: 3, isSocket: true, stream: true, dgram: false, inet: true, inet4: true, unix: false, fifo: false },
      { fd: 4, isSocket: true, stream: true, dgram: false, inet: false, inet4: false, unix: true, fifo: false },
    ]);
    // Port, address and path checks against the real sockets.
    assert.equal(info.probes[0].inetPort, true);
    assert.equal(info.probes[0].sockaddr, true);
    assert.equal(info.probes[0].unixPath, false);
    assert.equal(info.probes[1].inetPort, false);
    assert.equal(info.probes[1].sockaddr, false);
    assert.equal(info.probes[1].unixPath, true);

    assert.equal(info.servers.web.activated, true);
    assert.equal(info.servers.web.fd, 3);
    assert.deepEqual(info.servers.web.address, { address: '127.0.0.1', family: 'IPv4', port });
    assert.equal(info.servers.admin.activated, true);
    assert.equal(info.servers.admin.fd, 4);
    // Node cannot tell the path of a unix socket it got as an fd.
    assert.equal(info.servers.admin.address, null);
    assert.equal(info.servers.admin.name, 'admin');
    assert.equal(fs.existsSync(path.join(dir, 'never.sock')), false);

    // unsetEnvironment: gone from the C environment, process.env and children.
    assert.deepEqual(info.unset, { value: [3, 4] });
    assert.deepEqual(info.envAfterUnset, {});
    assert.deepEqual(info.childEnvAfterUnset, {});
    assert.deepEqual(info.fdsAfterUnset, []);
    // ...but collect() remembers what was consumed.
    assert.deepEqual(info.collectedAfterUnset, { web: [3], admin: [4] });

    // READY=1 reached the (stand-in) service manager.
    assert.equal(info.notified, true);
    assert.equal(info.notifySocketLeft, false);
    assert.deepEqual(await receiver.messages(1), [{ data: 'READY=1\nSTATUS=serving web, admin', nfds: 0 }]);

    // Still serving after that; then shut down on request.
    assert.equal((await get({ port }, '/again')).json.url, '/again');
    assert.deepEqual((await get({ port }, '/quit')).json, { bye: true });
    // systemd-socket-activate exec'd the service: the process we started is it.
    assert.equal(proc.child.pid, info.pid);
    assert.deepEqual(await proc.exit(), { code: 0, signal: null });
  });
}

test('plain port (-l PORT, all addresses), an abstract socket, no names', T, async (t) => {
  const abstract = `sdfd-node-${process.pid}-${Date.now()}`;
  const { proc, ports } = await activate(t, {
    listen: ['PORT', `@${abstract}`],
    config: {
      servers: [{ kind: 'http' }], // no name: the first passed socket
      probes: [
        { fd: 4, path: `\0${abstract}` },
        { fd: 4, path: `\0${abstract}x` },
        { fd: 4, path: `\0${abstract}\0` }, // abstract names are length-delimited
        { fd: 4, path: `/${abstract}` },
        { fd: 3, path: `\0${abstract}` },
      ],
    },
  });
  const res = await get({ port: ports[0], host: '127.0.0.1' }, '/x');
  assert.equal(res.status, 200);
  const info = await readyInfo(proc);
  assert.deepEqual(info.names, { value: [{ fd: 3, name: 'unknown' }, { fd: 4, name: 'unknown' }] });
  assert.deepEqual(info.probes.map((p) => p.unixPath), [true, false, false, false, false]);
  assert.deepEqual(info.checks.map((c) => [c.inet, c.unix]), [[true, false], [false, true]]);
  assert.equal(info.servers['(first)'].fd, 3);
  assert.equal(info.servers['(first)'].activated, true);
  assert.equal(info.servers['(first)'].address.port, ports[0]);
  assert.equal(info.envAtStart.LISTEN_FDNAMES, undefined);
});

test('raw net and https servers on activated sockets', T, async (t) => {
  const dir = tmpDir(t);
  const key = path.join(dir, 'key.pem');
  const cert = path.join(dir, 'cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert,
    '-subj', '/CN=localhost', '-days', '1', '-addext', 'subjectAltName=DNS:localhost'], { stdio: 'ignore', timeout: 20000 });
  const { proc, ports } = await activate(t, {
    listen: ['127.0.0.1:PORT', '127.0.0.1:PORT'],
    fdnames: ['raw', 'tls'],
    // Each listen() unsets the environment: the second still finds its socket.
    config: { unsetEachListen: true, servers: [{ name: 'raw', kind: 'net' }, { name: 'tls', kind: 'https', key, cert }] },
  });
  const text = await readAll({ port: ports[0] });
  const info = await readyInfo(proc);
  assert.equal(text, `hello from raw ${info.pid}\n`);
  const res = await get({ port: ports[1] }, '/secure', { protocol: 'https', ca: fs.readFileSync(cert) });
  assert.deepEqual(res.json, { server: 'tls', pid: info.pid, url: '/secure' });
  assert.equal(info.servers.raw.fd, 3);
  assert.equal(info.servers.tls.fd, 4);
  assert.equal(info.servers.tls.name, 'tls');
  assert.deepEqual(info.envAfterUnset, {});
});

test('a missing name without fallback fails clearly', T, async (t) => {
  const { proc, ports } = await activate(t, {
    listen: ['127.0.0.1:PORT'],
    fdnames: ['web'],
    config: { servers: [{ name: 'api', kind: 'http' }] },
  });
  // Trigger the start; the service exits instead of answering.
  await assert.rejects(get({ port: ports[0] }, '/', { timeout: 10000 }));
  const m = await proc.waitFor(/^LISTEN-ERROR (.*)$/m, { stream: 'stderr' });
  const err = JSON.parse(m[1]);
  assert.equal(err.code, 'ERR_SDFD_NO_SOCKET');
  assert.match(err.message, /no socket named "api" was passed \(passed: web\)/);
});

test('a datagram socket is refused as a listener', T, async (t) => {
  const { proc, ports } = await activate(t, {
    listen: ['127.0.0.1:PORT'],
    fdnames: ['web'],
    extraArgs: ['--datagram'],
    config: { servers: [{ name: 'web', kind: 'http', port: 0 }] },
  });
  const dgram = require('node:dgram');
  const s = dgram.createSocket('udp4');
  await new Promise((resolve, reject) => s.send('x', ports[0], '127.0.0.1', (e) => (e ? reject(e) : resolve())));
  s.close();
  const m = await proc.waitFor(/^LISTEN-ERROR (.*)$/m, { stream: 'stderr' });
  const err = JSON.parse(m[1]);
  assert.equal(err.code, 'ERR_SDFD_NOT_STREAM_LISTENER');
  assert.match(err.message, /"web" \(fd 3\) is not a listening stream socket/);
});
