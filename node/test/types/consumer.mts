// An ES module TypeScript user: named and default imports.
import sdfd, { listen, listenFdsWithNames, type NamedFd, type SdfdError } from 'sdfd';
import { createServer } from 'node:net';

const names: NamedFd[] = listenFdsWithNames();
const n: number = sdfd.listenFds().length;
const r = await listen(createServer(), { port: 0 });
const address = r.address;
try {
  sdfd.isSocket(-1);
} catch (e) {
  const err = e as SdfdError;
  const code: string = err.code;
  const errno: number = err.errno;
  void code; void errno;
}
void names; void n; void address;

// @ts-expect-error not exported
import { nothing } from 'sdfd';
void nothing;
