// A CommonJS TypeScript user of the package. `@ts-expect-error` lines
// fail the check if the declarations stopped rejecting them.
import sdfd = require('sdfd');
import http = require('node:http');

const fds: number[] = sdfd.listenFds({ unsetEnvironment: true });
const named: { fd: number; name: string }[] = sdfd.listenFdsWithNames();
const web: number[] = sdfd.collect('web');
const opts = sdfd.listenOptions({ name: 'web', port: 8080, host: '127.0.0.1', backlog: 16 });
http.createServer().listen(opts);
async function main(): Promise<void> {
  const r = await sdfd.listen(http.createServer(), { name: 'web', path: '/run/x.sock' });
  const activated: boolean = r.activated;
  const fd: number | undefined = r.fd;
  void activated; void fd;
  const done: boolean = await sdfd.notifyBarrier({ timeout: 1000 });
  void done;
}
void main;
const b: boolean = sdfd.isSocket(3, { family: 'inet6', type: 'stream', listening: true })
  && sdfd.isSocketInet(3, { port: 80 }) && sdfd.isSocketUnix(3, { path: '\0abstract' })
  && sdfd.isSocketSockaddr(3, { address: '::1', port: 80 }) && sdfd.isFifo(3, '/x') && sdfd.isSpecial(3)
  && sdfd.isMq(3, null) && sdfd.notify('READY=1') && sdfd.notify({ READY: 1, STATUS: 'ok' }, { fds: [3] });
const w: number | null = sdfd.watchdogEnabled();
const start: 3 = sdfd.LISTEN_FDS_START;
void fds; void named; void web; void b; void w; void start;

// @ts-expect-error fd must be a number
sdfd.isSocket('3');
// @ts-expect-error unknown option
sdfd.listenFds({ unset: true });
// @ts-expect-error unsetEnvironment is boolean
sdfd.listenFds({ unsetEnvironment: 1 });
// @ts-expect-error name is required
sdfd.collect();
// @ts-expect-error address is required
sdfd.isSocketSockaddr(3, {});
// @ts-expect-error listening is boolean
sdfd.isSocket(3, { listening: 1 });
// @ts-expect-error state values are scalars
sdfd.notify({ STATUS: {} });
async function upgrade(server: http.Server): Promise<void> {
  await sdfd.handoff.offer('/run/x.handoff', [{ name: 'web', fd: server }], { timeout: 5 });
  const n: number = sdfd.handoff.receive('/run/x.handoff', { timeout: null });
  const pid: number = sdfd.handoff.spawn('/usr/bin/node', ['app.js'], { web: 3 });
  void n; void pid;
}
void upgrade;
// @ts-expect-error the options are checked
sdfd.handoff.offer('/run/x.handoff', { web: 3 }, { timeoutMs: 5 });
