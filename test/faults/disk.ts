import { spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs';

/**
 * A small real file system for the spool's disk faults: a tmpfs mounted for the test (root
 * only), which can be filled to the last byte and remounted read-only. Without root the fault
 * tests fall back to the spool's file-system seam (test/helpers/faulty-fs.ts).
 */
export interface SmallDisk {
  readonly dir: string;
  /** Fills it to the last byte (a filler file). */
  fill(): void;
  /** Removes the filler. */
  free(): void;
  readOnly(): void;
  writable(): void;
  unmount(): void;
}

function run(cmd: string, args: string[], tries = 1): boolean {
  for (let i = 0; i < tries; i++) {
    if (spawnSync(cmd, args, { stdio: 'ignore' }).status === 0) return true;
    // A remount read-only fails (EBUSY) while a file is open for writing: try again shortly.
    spawnSync('sleep', ['0.05']);
  }
  return false;
}

/** Mounts a tmpfs of `sizeMb` at `dir`; undefined when this process may not mount. */
export function mountSmallDisk(dir: string, sizeMb: number): SmallDisk | undefined {
  // FENRA_FAULTS_NO_MOUNT=1 runs the fallback as root too (to check it).
  if (process.getuid?.() !== 0 || process.env['FENRA_FAULTS_NO_MOUNT'] === '1') return undefined;
  mkdirSync(dir, { recursive: true });
  if (!run('mount', ['-t', 'tmpfs', '-o', `size=${sizeMb}m`, 'tmpfs', dir])) return undefined;
  const filler = `${dir}/filler.bin`;
  return {
    dir,
    fill() {
      const fd = openSync(filler, 'a');
      const chunk = Buffer.alloc(64 * 1024);
      try {
        for (;;) writeSync(fd, chunk);
      } catch {
        // ENOSPC: full
      }
      const byte = Buffer.alloc(1);
      try {
        for (;;) writeSync(fd, byte);
      } catch {
        // to the last byte
      } finally {
        closeSync(fd);
      }
    },
    free() {
      rmSync(filler, { force: true });
    },
    readOnly() {
      if (!run('mount', ['-o', 'remount,ro', dir], 100)) throw new Error('cannot remount read-only');
    },
    writable() {
      if (!run('mount', ['-o', 'remount,rw', dir], 20)) throw new Error('cannot remount read-write');
    },
    unmount() {
      run('umount', ['-l', dir]);
    },
  };
}
