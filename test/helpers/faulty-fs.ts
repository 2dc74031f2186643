import type { SpoolFs } from '../../src/sidecar/spool-fs.js';
import { nodeSpoolFs } from '../../src/sidecar/spool-fs.js';

/**
 * The spool's real file-system calls, made to fail on demand the way a broken disk does:
 * `full` (ENOSPC: writes fail, removals work and free room), `read-only` (EROFS: writes and
 * removals fail), `io` (EIO: everything that writes fails). Reads always work. For tests that
 * cannot mount a small or read-only file system (the fault suite uses a real tmpfs as root).
 */
export type DiskFault = 'full' | 'read-only' | 'io';

export interface FaultyFs {
  fs: SpoolFs;
  /**
   * Starts failing (undefined: works again). `full` with `roomBytes`: writes fit while they fit
   * in the room left, removals give their file's size back (a rewrite in place needs none).
   */
  set(fault: DiskFault | undefined, roomBytes?: number): void;
  /** Calls refused so far. */
  readonly refused: number;
}

const CODES: Record<DiskFault, string> = { full: 'ENOSPC', 'read-only': 'EROFS', io: 'EIO' };

export function faultyFs(base: SpoolFs = nodeSpoolFs): FaultyFs {
  let fault: DiskFault | undefined;
  let room = 0;
  let refused = 0;
  const fail = (): never => {
    refused++;
    const code = CODES[fault!];
    throw Object.assign(new Error(`${code}: simulated ${fault} disk`), { code });
  };
  const check = (removal: boolean, bytes = 0, path?: string): void => {
    if (fault === undefined) return;
    if (fault !== 'full') return fail();
    if (removal) {
      try {
        if (path !== undefined) room += base.size(path);
      } catch {
        // already gone
      }
      return;
    }
    if (bytes > room) return fail();
    room -= bytes;
  };
  const size = (data: Buffer | string): number => Buffer.byteLength(data);
  const fs: SpoolFs = {
    mkdirp: (dir) => base.mkdirp(dir),
    list: (dir) => base.list(dir),
    read: (path) => base.read(path),
    size: (path) => base.size(path),
    async write(path, data, flag, sync) {
      check(false, size(data));
      return base.write(path, data, flag, sync);
    },
    writeSync(path, data, flag, sync) {
      check(false, flag === 'r+' ? 0 : size(data));
      base.writeSync(path, data, flag, sync);
    },
    async unlink(path) {
      check(true, 0, path);
      return base.unlink(path);
    },
    unlinkSync(path) {
      check(true, 0, path);
      base.unlinkSync(path);
    },
    async rename(from, to) {
      check(false);
      return base.rename(from, to);
    },
    renameSync(from, to) {
      check(false);
      base.renameSync(from, to);
    },
    syncDir: (dir) => base.syncDir(dir),
  };
  return {
    fs,
    set: (f, roomBytes = 0) => {
      fault = f;
      room = roomBytes;
    },
    get refused() {
      return refused;
    },
  };
}
