// The package loads by name both ways, as one module instance, with types.
import test from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sdfdDefault, { listenFds, listenFdsWithNames, collect, listenOptions, listen, isSocket, isSocketInet,
  isSocketUnix, isSocketSockaddr, isFifo, isSpecial, isMq, notify, notifyBarrier, watchdogEnabled, booted,
  libraryPath, LISTEN_FDS_START, AF_INET, SOCK_STREAM } from 'sdfd';
import * as namespace from 'sdfd';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.dirname(here);
const require = createRequire(import.meta.url);

test('import and require resolve to the one entry point, index.js (package.json has no "exports" map)', () => {
  assert.equal(fileURLToPath(import.meta.resolve('sdfd')), path.join(fs.realpathSync(root), 'index.js'));
  assert.equal(require.resolve('sdfd'), path.join(fs.realpathSync(root), 'index.js'));
  assert.equal(JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).exports, undefined);
});

test('ESM named exports are the CommonJS module\'s functions', () => {
  const cjs = require('sdfd');
  assert.equal(sdfdDefault, cjs);
  const named = { listenFds, listenFdsWithNames, collect, listenOptions, listen, isSocket, isSocketInet,
    isSocketUnix, isSocketSockaddr, isFifo, isSpecial, isMq, notify, notifyBarrier, watchdogEnabled, booted, libraryPath };
  for (const [name, f] of Object.entries(named)) {
    assert.equal(typeof f, 'function', name);
    assert.equal(f, cjs[name], name);
  }
  // Nothing exported by one and not the other.
  assert.deepEqual(Object.keys(namespace).filter((k) => k !== 'default').sort(), Object.keys(cjs).sort());
  assert.equal(LISTEN_FDS_START, 3);
  assert.equal(AF_INET, 2);
  assert.equal(SOCK_STREAM, 1);
});

test('the ESM build works (calls into the library)', () => {
  delete process.env.LISTEN_PID;
  assert.deepEqual(listenFds(), []);
  assert.equal(isSpecial(fs.openSync('/dev/null', 'r')), true);
  assert.throws(() => isSocket(-1), { code: 'EBADF' });
});

test('the TypeScript declarations type-check for CommonJS and ESM users', { timeout: 120000 }, () => {
  const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const out = (project) => {
    try {
      return execFileSync(process.execPath, [tsc, '-p', path.join(here, 'types', project)], { encoding: 'utf8', timeout: 110000 });
    } catch (e) {
      assert.fail(`tsc -p ${project} failed:\n${e.stdout}${e.stderr}`);
    }
  };
  out('tsconfig.json');
});
