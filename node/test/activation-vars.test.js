'use strict';
// The package's copies of the activation variables (LISTEN_VARS,
// NOTIFY_VARS, WATCHDOG_VARS in index.js: what it forgets in process.env when
// the library unsets them in C) equal the library's one list (LISTEN_VARS and
// ACTIVATION_VARS in src/env.rs), and the library under test removes exactly
// that list (sdfd_environ_without_activation).
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const koffi = require('koffi');
const { libraryUnderTest } = require('./helpers.js');

const ENV_RS = path.join(__dirname, '..', '..', 'src', 'env.rs');
const IMPL_JS = path.join(__dirname, '..', 'api.js');

/** The strings of the `&CStr` array constant `name` in src/env.rs. */
function rustList(name) {
  const src = fs.readFileSync(ENV_RS, 'utf8');
  const consts = Object.fromEntries([...src.matchAll(/const (\w+): &CStr = c"([^"]*)";/g)].map((m) => [m[1], m[2]]));
  const m = src.match(new RegExp(`const ${name}: \\[&CStr; \\d+\\] =\\s*\\[([^\\]]*)\\]`));
  assert.ok(m, `${name} not found in ${ENV_RS}`);
  return m[1].split(',').map((s) => s.trim()).filter(Boolean).map((n) => consts[n]);
}

/** The string array constant `name` of api.js. */
function jsList(name) {
  const src = fs.readFileSync(IMPL_JS, 'utf8');
  const m = src.match(new RegExp(`const ${name} = \\[([^\\]]*)\\];`));
  assert.ok(m, `${name} not found in ${IMPL_JS}`);
  return m[1].split(',').map((s) => s.trim().replace(/^'|'$/g, '')).filter(Boolean);
}

test('LISTEN_VARS is the library\'s list', () => {
  assert.deepEqual(jsList('LISTEN_VARS').sort(), rustList('LISTEN_VARS').sort());
});

test('LISTEN_VARS + NOTIFY_VARS + WATCHDOG_VARS are the library\'s activation variables', () => {
  const mine = [...jsList('LISTEN_VARS'), ...jsList('NOTIFY_VARS'), ...jsList('WATCHDOG_VARS')];
  assert.deepEqual(mine.sort(), rustList('ACTIVATION_VARS').sort());
});

test('the library removes exactly that list', () => {
  const lib = koffi.load(libraryUnderTest());
  const without = lib.func('void *sdfd_environ_without_activation(const char **envp)');
  const names = rustList('ACTIVATION_VARS');
  const envp = [...names.map((n) => `${n}=1`), 'KEEP=1', 'LISTEN_FDSX=1', null];
  const out = without(envp);
  assert.ok(out);
  const kept = [];
  for (let i = 0; ; i++) {
    const p = koffi.decode(out, i * koffi.sizeof('void *'), 'char *');
    if (p === null) break;
    kept.push(p);
  }
  const libc = koffi.load('libc.so.6');
  libc.func('void free(void *p)')(out);
  assert.deepEqual(kept, ['KEEP=1', 'LISTEN_FDSX=1']);
});
