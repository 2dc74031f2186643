import { join } from 'node:path';
import type { SpoolFs } from './spool-fs.js';
import { errorCode } from './spool-fs.js';

/**
 * The spool directory's lock: a pid file rewritten in place, never removed (a restart on a full
 * disk needs no new block). A stale one (a dead process, or our own pid after a container
 * restart) is taken over; one held by a live process is refused.
 */

const LOCK = 'lock.pid';
/** The lock file holds a pid padded to this width, rewritten in place: no new block is needed. */
const LOCK_WIDTH = 11;
const lockText = (pid: number): string => String(pid).padEnd(LOCK_WIDTH - 1) + '\n';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes the lock of `dir` or throws (in use by another live process, or the disk refused).
 * On ENOSPC `makeRoom()` may free space once (true when it did) before the write is tried again.
 */
export function takeSpoolLock(fs: SpoolFs, dir: string, makeRoom: () => boolean): void {
  const path = join(dir, LOCK);
  let holder: number | undefined;
  let exists = true;
  try {
    holder = Number(fs.read(path).trim());
  } catch {
    exists = false;
  }
  if (
    holder !== undefined &&
    Number.isInteger(holder) &&
    holder > 0 &&
    holder !== process.pid &&
    alive(holder)
  ) {
    throw new Error(`the spool ${dir} is in use by process ${holder}`);
  }
  try {
    fs.writeSync(path, lockText(process.pid), exists ? 'r+' : 'w', true);
  } catch (e) {
    if (errorCode(e) !== 'ENOSPC' || !makeRoom()) throw e;
    fs.writeSync(path, lockText(process.pid), exists ? 'r+' : 'w', true);
  }
}

/** Gives the directory up (clean shutdown): the lock file stays, holding no pid. Best effort. */
export function releaseSpoolLock(fs: SpoolFs, dir: string): void {
  try {
    fs.writeSync(join(dir, LOCK), lockText(0), 'r+', true);
  } catch {
    // read-only or gone: a stale pid is taken over at the next start anyway
  }
}
