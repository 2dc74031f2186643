import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';

/**
 * Every file-system call the disk spool makes, in one seam: the spool's writes and removals
 * go through it, so a test can make them fail as a full, read-only or broken disk would
 * (ENOSPC, EROFS, EIO) without a real one. {@link nodeSpoolFs} is the real thing.
 */
export interface SpoolFs {
  mkdirp(dir: string): void;
  list(dir: string): string[];
  read(path: string): string;
  size(path: string): number;
  /** Writes a whole file (`wx`: must not exist; `w`: replace; `a`: append), fsync'ed when `sync`. */
  write(path: string, data: Buffer | string, flag: 'wx' | 'w' | 'a', sync: boolean): Promise<void>;
  /** The same, synchronously. `r+` writes at offset 0 in place (the file must exist). */
  writeSync(path: string, data: Buffer | string, flag: 'w' | 'a' | 'r+', sync: boolean): void;
  unlink(path: string): Promise<void>;
  unlinkSync(path: string): void;
  rename(from: string, to: string): Promise<void>;
  renameSync(from: string, to: string): void;
  /** Makes a directory's entries durable (some file systems refuse: ignored). */
  syncDir(dir: string): Promise<void>;
}

export const nodeSpoolFs: SpoolFs = {
  // Owner only: records hold customer ids (see SECURITY.md).
  mkdirp: (dir) => void mkdirSync(dir, { recursive: true, mode: 0o700 }),
  list: (dir) => readdirSync(dir),
  read: (path) => readFileSync(path, 'utf8'),
  size: (path) => statSync(path).size,
  async write(path, data, flag, sync) {
    const fh = await open(path, flag);
    try {
      await fh.writeFile(data);
      if (sync) await fh.sync();
    } finally {
      await fh.close();
    }
  },
  writeSync(path, data, flag, sync) {
    const fd = openSync(path, flag);
    try {
      if (typeof data === 'string') writeSync(fd, data);
      else writeSync(fd, data);
      if (sync) fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  },
  unlink: (path) => unlink(path),
  unlinkSync: (path) => unlinkSync(path),
  rename: (from, to) => rename(from, to),
  renameSync: (from, to) => renameSync(from, to),
  async syncDir(dir) {
    const fh = await open(dir, 'r');
    try {
      await fh.sync();
    } catch {
      // some file systems refuse fsync on a directory; the file itself is synced
    } finally {
      await fh.close();
    }
  },
};

/** Error codes that mean "the disk cannot take writes now" (as opposed to a bug of ours). */
export const DISK_ERRORS: ReadonlySet<string> = new Set([
  'ENOSPC',
  'EROFS',
  'EIO',
  'EDQUOT',
  'EFBIG',
  'EACCES',
  'EPERM',
]);

export function errorCode(e: unknown): string {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : e instanceof Error ? e.message : String(e);
}
