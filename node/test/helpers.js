'use strict';
// Shared test helpers: free ports, processes with bounded lifetimes, HTTP
// requests, a notification receiver.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const http = require('node:http');
const https = require('node:https');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { spawn, execFileSync } = require('node:child_process');

const FIXTURES = path.join(__dirname, 'fixtures');
const SOCKET_ACTIVATE = '/usr/bin/systemd-socket-activate';
const PYTHON = '/usr/bin/python3';

/** The library under test: SDFD_LIBRARY, else pkg-config's libdir. */
function libraryUnderTest() {
  if (process.env.SDFD_LIBRARY) return process.env.SDFD_LIBRARY;
  const libdir = execFileSync('pkg-config', ['--variable=libdir', 'sdfd'], { encoding: 'utf8' }).trim();
  return path.join(libdir, 'libsdfd.so.0');
}

function tmpDir(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sdfd-node-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A TCP port that was free on `host` a moment ago. */
function freePort(host = '127.0.0.1') {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen({ port: 0, host, exclusive: true }, () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/**
 * Start a command in its own process group; it is killed (the whole
 * group) when the test ends. Collects stdout/stderr; waitFor(regex) waits
 * for a matching line.
 */
function start(t, command, args, options = {}) {
  const child = spawn(command, args, { detached: true, stdio: ['pipe', 'pipe', 'pipe'], ...options });
  const proc = { child, stdout: '', stderr: '', exited: null };
  const waiters = [];
  const poke = () => {
    for (const w of waiters.slice()) w();
  };
  child.stdout.setEncoding('utf8').on('data', (d) => { proc.stdout += d; poke(); });
  child.stderr.setEncoding('utf8').on('data', (d) => { proc.stderr += d; poke(); });
  child.on('exit', (code, signal) => { proc.exited = { code, signal }; poke(); });
  const closed = new Promise((resolve) => child.on('close', resolve));
  proc.closed = closed;
  proc.waitFor = (re, { stream = 'both', timeout = 15000, count = 1 } = {}) => new Promise((resolve, reject) => {
    const text = () => (stream === 'stdout' ? proc.stdout : stream === 'stderr' ? proc.stderr : proc.stdout + proc.stderr);
    const g = new RegExp(re.source, re.flags.includes('g') ? re.flags : `${re.flags}g`);
    let timer;
    const check = () => {
      const matches = [...text().matchAll(g)];
      if (matches.length >= count) {
        done();
        resolve(count === 1 ? matches[0] : matches);
      } else if (proc.exited) {
        done();
        reject(new Error(`${command} exited (${JSON.stringify(proc.exited)}) before ${re}\nstdout: ${proc.stdout}\nstderr: ${proc.stderr}`));
      }
    };
    const done = () => {
      clearTimeout(timer);
      const i = waiters.indexOf(check);
      if (i >= 0) waiters.splice(i, 1);
    };
    timer = setTimeout(() => {
      done();
      reject(new Error(`timed out after ${timeout} ms waiting for ${re}\nstdout: ${proc.stdout}\nstderr: ${proc.stderr}`));
    }, timeout);
    waiters.push(check);
    check();
  });
  /** Resolves { code, signal } when the process exits; rejects after `timeout` ms. */
  proc.exit = (timeout = 10000) => new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${command} still running after ${timeout} ms`)), timeout);
    const check = () => {
      if (!proc.exited) return;
      clearTimeout(timer);
      waiters.splice(waiters.indexOf(check), 1);
      resolve(proc.exited);
    };
    waiters.push(check);
    check();
  });
  proc.kill = async () => {
    if (proc.exited) return;
    try { process.kill(-child.pid, 'SIGKILL'); } catch { /* already gone */ }
    let timer;
    await Promise.race([closed, new Promise((r) => { timer = setTimeout(r, 5000); })]);
    clearTimeout(timer);
  };
  t.after(proc.kill);
  return proc;
}

/**
 * systemd-socket-activate with the given listen addresses (fresh free
 * port for each 'PORT' placeholder), running `node fixture config`.
 * Retries when a port was taken in between. Returns { proc, ports }.
 */
async function activate(t, { listen, fdnames, fixture = 'server.cjs', config, extraArgs = [], setenv = {} }) {
  let lastError;
  for (let attempt = 0; attempt < 5; attempt++) {
    const ports = [];
    const args = [];
    for (const l of listen) {
      let a = l;
      if (a.includes('PORT')) {
        const p = await freePort(a.startsWith('127.0.0.1') ? '127.0.0.1' : '::');
        ports.push(p);
        a = a.replace('PORT', String(p));
      }
      args.push('-l', a);
    }
    if (fdnames) args.push(`--fdname=${fdnames.join(':')}`);
    // systemd-socket-activate gives the service a clean environment: pass on
    // what locates the library.
    for (const v of ['SDFD_LIBRARY', 'PKG_CONFIG_PATH', 'PATH']) if (process.env[v] !== undefined) args.push(`--setenv=${v}`);
    for (const [k, v] of Object.entries(setenv)) args.push(`--setenv=${k}=${v}`);
    args.push(...extraArgs, process.execPath, path.join(FIXTURES, fixture), JSON.stringify(typeof config === 'function' ? config(ports) : config));
    const proc = start(t, SOCKET_ACTIVATE, args);
    try {
      await proc.waitFor(/^Listening on .* as \d+\.$/m, { stream: 'stderr', count: listen.length, timeout: 10000 });
      return { proc, ports };
    } catch (e) {
      lastError = e;
      await proc.kill();
      if (!/Address already in use|EADDRINUSE/.test(proc.stderr)) break;
    }
  }
  throw lastError;
}

/** GET `path`; `target` is { port, host } or { socketPath }. Resolves { status, body, json }. */
function get(target, urlPath = '/', { protocol = 'http', ca, timeout = 10000 } = {}) {
  const mod = protocol === 'https' ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.get({
      host: '127.0.0.1', ...target, path: urlPath, agent: false, timeout, ca, servername: ca ? 'localhost' : undefined,
    }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { body += d; });
      res.on('end', () => {
        let json;
        try { json = JSON.parse(body); } catch { /* not JSON */ }
        resolve({ status: res.statusCode, body, json });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`request ${urlPath} timed out after ${timeout} ms`)));
    req.on('error', reject);
  });
}

/** Connect, read until the peer closes. */
function readAll(target, timeout = 10000) {
  return new Promise((resolve, reject) => {
    const c = net.connect({ host: '127.0.0.1', ...target });
    let data = '';
    c.setEncoding('utf8');
    c.setTimeout(timeout, () => c.destroy(new Error('raw read timed out')));
    c.on('data', (d) => { data += d; });
    c.on('end', () => resolve(data));
    c.on('error', reject);
  });
}

/** Start the python notification receiver at `address` (a path or '@name'). */
async function notifyReceiver(t, address) {
  const proc = start(t, PYTHON, [path.join(FIXTURES, 'notify_receiver.py'), address]);
  await proc.waitFor(/^BOUND$/m, { stream: 'stdout' });
  proc.messages = async (count, timeout = 10000) => {
    const m = await proc.waitFor(/^\{.*\}$/m, { stream: 'stdout', count, timeout });
    return (count === 1 ? [m] : m).map((x) => JSON.parse(x[0]));
  };
  return proc;
}

/** The fixture's READY report from stdout. */
async function readyInfo(proc) {
  const m = await proc.waitFor(/^READY (.*)$/m, { stream: 'stdout' });
  return JSON.parse(m[1]);
}

function assertSdfdError(err, code) {
  assert.ok(err instanceof Error, `expected an Error, got ${err}`);
  assert.equal(err.code, code);
  assert.equal(err.errno, -os.constants.errno[code]);
  assert.match(err.message, new RegExp(code));
  return true;
}

module.exports = {
  FIXTURES, SOCKET_ACTIVATE, PYTHON,
  libraryUnderTest, tmpDir, freePort, start, activate, get, readAll, notifyReceiver, readyInfo, assertSdfdError,
};
