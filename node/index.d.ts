// Types for sdfd: systemd socket activation and notification via libsdfd.

import type { ListenOptions, Server } from 'node:net';
import type { AddressInfo } from 'node:net';

/** First passed descriptor (SD_LISTEN_FDS_START). */
export declare const LISTEN_FDS_START: 3;
export declare const AF_UNSPEC: 0;
export declare const AF_UNIX: 1;
export declare const AF_INET: 2;
export declare const AF_INET6: 10;
export declare const SOCK_STREAM: 1;
export declare const SOCK_DGRAM: 2;
export declare const SOCK_SEQPACKET: 5;

/**
 * Errors from the C side carry the errno name and the negative errno, as
 * Node's own system errors do.
 */
export interface SdfdError extends Error {
  /** 'EBADF', 'EINVAL', ... ('ENOSYS' when the library lacks the function). */
  code: string;
  /** The negative errno, e.g. -9 for EBADF. */
  errno: number;
  /** The C function that failed, e.g. 'sd_is_socket'. */
  syscall: string;
}

export interface EnvironmentOptions {
  /**
   * Remove the variables the call reads (LISTEN_PID, LISTEN_FDS,
   * LISTEN_FDNAMES; NOTIFY_SOCKET; WATCHDOG_USEC, WATCHDOG_PID) from the
   * environment, and from process.env. Default false.
   */
  unsetEnvironment?: boolean;
}

export interface NamedFd {
  fd: number;
  /** From LISTEN_FDNAMES; 'unknown' when the manager passed no names. */
  name: string;
}

/** [3, 4, ...]: the passed descriptors, [] when not socket-activated. */
export declare function listenFds(options?: EnvironmentOptions): number[];
/** The passed descriptors with their names. */
export declare function listenFdsWithNames(options?: EnvironmentOptions): NamedFd[];
/** The passed descriptors named `name` (names need not be unique). */
export declare function collect(name: string, options?: EnvironmentOptions): number[];
/**
 * The activated socket bound to `address` ('8080' for any IP address,
 * '127.0.0.1:8080', '[::1]:8080', '/run/app.sock', '@abstract') as an fd for
 * `server.listen({ fd })`, or null if not activated or no activated socket has
 * that address. Never modifies the environment. Throws EINVAL for a
 * malformed address.
 */
export declare function findSocket(address: string, options?: { type?: number }): number | null;

export interface ActivationListenOptions extends EnvironmentOptions {
  /** The activated socket's name (FileDescriptorName=, --fdname=). Omitted: the first passed socket. */
  name?: string;
  /** Fallback: TCP port to listen on when no such socket was passed (0: any free port). */
  port?: number;
  /** Fallback: host for `port`. */
  host?: string;
  /** Fallback: unix socket path to listen on when no such socket was passed. */
  path?: string;
  backlog?: number;
  exclusive?: boolean;
  readableAll?: boolean;
  writableAll?: boolean;
  ipv6Only?: boolean;
  signal?: AbortSignal;
}

/** `{ fd }` for the activated socket, else `{ port, host }` / `{ path }`, for server.listen(). */
export declare function listenOptions(options?: ActivationListenOptions): ListenOptions;

export interface ListenResult {
  /** true when listening on a socket passed by the service manager. */
  activated: boolean;
  /** The activated descriptor, when `activated`. */
  fd?: number;
  /** Its name (LISTEN_FDNAMES), when `activated`. */
  name?: string;
  address: AddressInfo | string | null;
}

/** server.listen() on the activated socket or the fallback; resolves once listening. */
export declare function listen(server: Server, options?: ActivationListenOptions): Promise<ListenResult>;

export type Family = 'unix' | 'inet' | 'inet6' | 'IPv4' | 'IPv6' | 'ipv4' | 'ipv6' | number;
export type SocketType = 'stream' | 'dgram' | 'seqpacket' | number;

export interface SocketCheck {
  /** Socket type; omitted or 0: any. */
  type?: SocketType;
  /** true: listening, false: not listening, omitted: either. */
  listening?: boolean;
}

export declare function isSocket(fd: number, options?: SocketCheck & { family?: Family }): boolean;
export declare function isSocketInet(fd: number, options?: SocketCheck & {
  /** 'inet', 'inet6' or omitted (either). */
  family?: Family;
  /** Omitted or 0: any port. */
  port?: number;
}): boolean;
export declare function isSocketUnix(fd: number, options?: SocketCheck & {
  /** A path (exact match), '\0name' (abstract), '' (unnamed); omitted: any AF_UNIX socket. */
  path?: string | Uint8Array;
}): boolean;
export declare function isSocketSockaddr(fd: number, options: SocketCheck & {
  /** IPv4 or IPv6 literal; '%zone' allowed for IPv6. */
  address: string;
  /** Omitted or 0: any port. */
  port?: number;
  flowinfo?: number;
  scopeId?: number;
}): boolean;

export type PathLike = string | Uint8Array | URL;
export declare function isFifo(fd: number, path?: PathLike | null): boolean;
/** Regular file or character device. */
export declare function isSpecial(fd: number, path?: PathLike | null): boolean;
/** POSIX message queue (`path` like '/name'). */
export declare function isMq(fd: number, path?: PathLike | null): boolean;

export type NotifyState = string | Record<string, string | number | bigint | boolean>;

export interface NotifyOptions extends EnvironmentOptions {
  /** Descriptors to pass along (with FDSTORE=1); the caller keeps its copies. */
  fds?: number[];
  /** Send on behalf of this process (0: this one); needs privileges to be believed. */
  pid?: number;
}

/**
 * Send state ('READY=1\nSTATUS=...' or { READY: 1, STATUS: '...' }) to the
 * service manager; true if sent, false if NOTIFY_SOCKET is not set.
 */
export declare function notify(state: NotifyState, options?: NotifyOptions): boolean;
/**
 * BARRIER=1 and wait until the manager has processed earlier messages.
 * `timeout` in ms, default 5000, Infinity: forever.
 */
export declare function notifyBarrier(options?: EnvironmentOptions & { timeout?: number }): Promise<boolean>;
/** The watchdog interval in microseconds, or null when not enabled for this process. */
export declare function watchdogEnabled(options?: EnvironmentOptions): number | null;
/** Whether PID 1 is systemd. */
export declare function booted(): boolean;
/** Where libsdfd was loaded from (loads it if not yet loaded). */
export declare function libraryPath(): string;

/** A descriptor to hand off: a number, or a net.Server / net.Socket (its handle's fd). */
export type HandoffFd = number | object;
/** Named descriptors, in order: [{ name, fd }] or { name: fd }. */
export type HandoffFds = Array<{ name: string; fd: HandoffFd }> | Record<string, HandoffFd>;

/** Hand-off without a supervisor (Unix; docs/handoff.md). */
export declare const handoff: {
  /**
   * Offer `fds` to one successor connecting to the unix socket `path`;
   * resolves once it has acknowledged (runs on a worker thread). On
   * rejection (code EADDRINUSE, ETIMEDOUT, ECONNABORTED, ...) this process
   * still holds everything. timeout in seconds (default 30; Infinity or null: none).
   */
  offer(path: string | Buffer | URL, fds: HandoffFds, options?: { timeout?: number | null; allowedUid?: number | null }): Promise<void>;
  /**
   * Receive the descriptors offered on `path`; they become this process's
   * activated sockets (fds 3.., LISTEN_* set). Their number. Needs fds 3..
   * free, which Node's own start-up usually occupies (EBUSY): prefer spawn.
   */
  receive(path: string | Buffer | URL, options?: { timeout?: number | null; offererUid?: number | null }): number;
  /**
   * Start `file` with `args` and `fds` passed the systemd way (fds 3.. in the
   * child only, LISTEN_PID of the child, LISTEN_FDS, LISTEN_FDNAMES); its pid.
   */
  spawn(file: string, args: string[], fds: HandoffFds, options?: { env?: Record<string, string | undefined>; argv0?: string }): number;
};
