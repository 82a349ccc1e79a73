'use strict';
// One taken set per process, the library's (sdfd_activate_socket): a name
// that C code in the process took is not handed out by collect(), and a
// name JavaScript holds is refused to C code.
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

// Runs in a child whose fds 3 and 4 are the pipes below: its own LISTEN_*.
const CHILD = `
process.env.LISTEN_PID = String(process.pid);
process.env.LISTEN_FDS = '2';
process.env.LISTEN_FDNAMES = 'web:log';
const sdfd = require('sdfd');
const koffi = require('koffi');
// "C code": libsdfd's sdfd_activate_socket, loaded from the file the binding uses.
const activate = koffi.load(sdfd.libraryPath()).func('int sdfd_activate_socket(const char *name, void *sockets, void *count)');
const c = (name) => activate(name, Buffer.alloc(8), Buffer.alloc(8));
const out = { cBefore: c('log') };
out.log = sdfd.collect('log');
out.web = sdfd.collect('web');
out.webAgain = sdfd.collect('web');
out.cAfter = c('web');
process.stdout.write(JSON.stringify(out));
`;

test('a name taken by C code is not handed out by collect(); one collect() took is refused to C', () => {
  const r = spawnSync(process.execPath, ['-e', CHILD], {
    cwd: path.join(__dirname, '..'),
    stdio: ['ignore', 'pipe', 'pipe', 'pipe', 'pipe'],
    encoding: 'utf8',
    timeout: 30000,
  });
  assert.equal(r.status, 0, r.stderr);
  const EALREADY = require('node:os').constants.errno.EALREADY;
  assert.deepEqual(JSON.parse(r.stdout), { cBefore: 0, log: [], web: [3], webAgain: [3], cAfter: -EALREADY });
});
