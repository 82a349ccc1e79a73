'use strict';
// sdfd for Node.js: systemd socket activation (sd_listen_fds and friends)
// and readiness notification through libsdfd.
//
// This file is what require('sdfd') compiles, so it is kept to what a
// service does at start: listenFds(), listenFdsWithNames() and notify(state)
// without options, through the bundled Node-API addon. Every other call, and
// these with options, with SDFD_LIBRARY set or without the addon, is
// answered by api.js, loaded on first use. (On node 20, compiling the whole
// API at require() cost as much as node's own CommonJS loader: see
// bench/RESULTS.md.) The export list at the end is an object literal of
// plain names so that node's CommonJS export detection gives ES modules the
// same names (`import { listenFds } from 'sdfd'`).

/** First passed descriptor (`SD_LISTEN_FDS_START`). */
const LISTEN_FDS_START = 3;
// Linux values (libsdfd is a Linux library).
const AF_UNSPEC = 0;
const AF_UNIX = 1;
const AF_INET = 2;
const AF_INET6 = 10;
const SOCK_STREAM = 1;
const SOCK_DGRAM = 2;
const SOCK_SEQPACKET = 5;

const addon = require('./addon.js');
let apiModule = null;
const api = () => apiModule || (apiModule = require('./api.js'));

/**
 * The descriptors passed by the service manager: [3, 4, ...], or [] when the
 * process was not socket-activated. Sets FD_CLOEXEC on them.
 */
function listenFds(options) {
  const n = options === undefined && addon();
  if (!n) return api().listenFds(options);
  const rc = n.sd_listen_fds(0);
  if (rc < 0) api().check('sd_listen_fds', rc);
  return Array.from({ length: rc }, (_, i) => LISTEN_FDS_START + i);
}

/** The passed descriptors with their names (LISTEN_FDNAMES; 'unknown' when
 *  the manager gave none): [{ fd: 3, name: 'web' }, ...]. */
function listenFdsWithNames(options) {
  const n = options === undefined && addon();
  if (!n) return api().listenFdsWithNames(options);
  const got = n.listen_fds_names(0);
  if (typeof got === 'number') api().check('sd_listen_fds_with_names', got);
  return got.map((name, i) => ({ fd: LISTEN_FDS_START + i, name }));
}

/**
 * Send `state` ('READY=1\nSTATUS=...', or { READY: 1, STATUS: '...' }) to
 * the service manager. true if sent, false if NOTIFY_SOCKET is not set.
 * `options.fds`: descriptors to pass along (FDSTORE=1); `options.pid`: send
 * on behalf of that process (MAINPID handling; needs privileges).
 */
function notify(state, options) {
  const n = options === undefined && typeof state === 'string' && !state.includes('\0') && addon();
  if (!n) return api().notify(state, options);
  const rc = n.sd_notify(0, Buffer.from(`${state}\0`, 'utf8'));
  if (rc < 0) api().check('sd_notify', rc);
  return rc === 1;
}

// The rest of the API, from api.js (see index.d.ts for each).
function collect(name, options) { return api().collect(name, options); }
function findSocket(address, options) { return api().findSocket(address, options); }
function listenOptions(options) { return api().listenOptions(options); }
function listen(server, options) { return api().listen(server, options); }
function isSocket(fd, options) { return api().isSocket(fd, options); }
function isSocketInet(fd, options) { return api().isSocketInet(fd, options); }
function isSocketUnix(fd, options) { return api().isSocketUnix(fd, options); }
function isSocketSockaddr(fd, options) { return api().isSocketSockaddr(fd, options); }
function isFifo(fd, path) { return api().isFifo(fd, path); }
function isSpecial(fd, path) { return api().isSpecial(fd, path); }
function isMq(fd, path) { return api().isMq(fd, path); }
function notifyBarrier(options) { return api().notifyBarrier(options); }
function watchdogEnabled(options) { return api().watchdogEnabled(options); }
function booted() { return api().booted(); }
function libraryPath() { return api().libraryPath(); }
function offer(path, fds, options) { return api().handoff.offer(path, fds, options); }
function receive(path, options) { return api().handoff.receive(path, options); }
function spawn(file, args, fds, options) { return api().handoff.spawn(file, args, fds, options); }

const handoff = { offer, receive, spawn };

module.exports = {
  handoff,
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
};
