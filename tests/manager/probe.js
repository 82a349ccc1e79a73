// probe.js ACTION...: tests/manager/probe.c's actions through sdfd's Node
// binding (node/index.js, koffi). Same report lines as probe.c for listen,
// notify, store, barrier, watchdog, ping, child (a second Node process,
// as Node cannot fork), sleep, pause, exit.
'use strict';
const fs = require('fs');
const { spawnSync } = require('child_process');
const sdfd = require(process.env.SDFD_NODE);

const path = process.env.PROBE_OUT;
let invocation = 1;
try { invocation = parseInt(fs.readFileSync(path + '.n', 'utf8'), 10) + 1 || 1; } catch (e) { /* first */ }
fs.writeFileSync(path + '.n', `${invocation}\n`);
const report = (line) => fs.appendFileSync(path, `${invocation} ${line}\n`);
const sleep = (ms) => new Promise((res) => setTimeout(res, ms));

async function main() {
  for (let a of process.argv.slice(2)) {
    const m = /^(\d+)=(.*)$/.exec(a);
    if (m) { if (parseInt(m[1], 10) !== invocation) continue; a = m[2]; }
    const i = a.indexOf(':');
    const act = i < 0 ? a : a.slice(0, i);
    const arg = i < 0 ? '' : a.slice(i + 1);
    if (act === 'listen') {
      const fds = sdfd.listenFdsWithNames();
      report(`listen n=${fds.length} names=${fds.map((e) => e.name).join(',')}`);
      for (const { fd, name } of fds) {
        const isSock = sdfd.isSocket(fd) ? 1 : 0;
        report(`fd ${fd} name=${name} is_socket=${isSock} unix=${sdfd.isSocketUnix(fd) ? 1 : 0} inet=${sdfd.isSocketInet(fd) ? 1 : 0}`);
        if (!isSock) {
          const buf = Buffer.alloc(64);
          const n = fs.readSync(fd, buf, 0, 64, 0);
          report(`content ${name}=${buf.toString('utf8', 0, n)}`);
        }
      }
    } else if (act === 'notify') {
      report(`notify ${arg} r=${sdfd.notify(arg.replace(/\|/g, '\n')) ? 1 : 0}`);
    } else if (act === 'store') {
      // A file of its own (Node has no memfd_create), unlinked once opened.
      const p = `${path}.${arg}.${process.pid}`;
      fs.writeFileSync(p, arg);
      const fd = fs.openSync(p, 'r');
      fs.unlinkSync(p);
      report(`store ${arg} r=${sdfd.notify(`FDSTORE=1\nFDNAME=${arg}`, { fds: [fd] }) ? 1 : 0}`);
      fs.closeSync(fd);
    } else if (act === 'barrier') {
      report(`barrier r=${(await sdfd.notifyBarrier()) ? 1 : 0}`);
    } else if (act === 'watchdog') {
      const usec = sdfd.watchdogEnabled();
      report(`watchdog r=${usec === null ? 0 : 1} usec=${usec === null ? 0 : usec}`);
    } else if (act === 'ping') {
      const [n, ms] = arg.split(':').map((x) => parseInt(x, 10));
      let ok = 0;
      for (let k = 0; k < n; k++) { ok += sdfd.notify('WATCHDOG=1') ? 1 : 0; await sleep(ms); }
      report(`ping ${n} sent=${ok}`);
    } else if (act === 'child') {
      const code = 'const s = require(process.env.SDFD_NODE);'
        + 'const r = s.notify(process.argv[1].replace(/\\|/g, "\\n")) ? 1 : 0;'
        + 's.notifyBarrier().then((b) => process.stdout.write(`r=${r} barrier=${b ? 1 : 0}`));';
      const c = spawnSync(process.execPath, ['-e', code, arg], { encoding: 'utf8' });
      report(`child ${arg} ${c.stdout || c.stderr}`);
    } else if (act === 'sleep') {
      await sleep(parseInt(arg, 10));
    } else if (act === 'pause') {
      report('pause');
      setInterval(() => {}, 1 << 30);
      return;
    } else if (act === 'exit') {
      report(`exit ${arg}`);
      process.exit(parseInt(arg, 10));
    } else {
      report(`unsupported ${act}`);
    }
  }
}
main().catch((e) => { report(`error ${e.message}`); process.exit(1); });
