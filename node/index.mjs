// ESM entry point: the same module as index.js (one copy of its state).
import sdfd from './index.js';

export default sdfd;
export const {
  LISTEN_FDS_START,
  AF_UNSPEC, AF_UNIX, AF_INET, AF_INET6,
  SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET,
  listenFds,
  listenFdsWithNames,
  collect,
  findSocket,
  listenOptions,
  listen,
  isSocket,
  isSocketInet,
  isSocketUnix,
  isSocketSockaddr,
  isFifo,
  isSpecial,
  isMq,
  notify,
  notifyBarrier,
  watchdogEnabled,
  booted,
  libraryPath,
  handoff,
} = sdfd;
