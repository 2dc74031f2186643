/**
 * The disk spool when its disk refuses writes (full, read-only, failing), through the file-system
 * seam: the first failure flips `problem()` and is logged once, appends are refused at once
 * meanwhile, acks and removals of what was delivered are kept and written once the disk takes
 * writes again, and a restart then replays nothing that was delivered.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DiskSpool } from '../../src/sidecar/disk-spool.js';
import { SpoolUnavailableError } from '../../src/sidecar/spool.js';
import type { CapturedDiag } from '../helpers/capture-diag.js';
import { captureDiag } from '../helpers/capture-diag.js';
import { faultyFs } from '../helpers/faulty-fs.js';
import { ManualScheduler } from '../helpers/manual-scheduler.js';
import { makeSpan } from '../helpers/span.js';
import { until } from './spawn-sidecar.js';

/** Lets the file-system calls a timer started finish (they are promises, not timers). */
const io = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
};
/** Runs `n` recovery attempts (every 10 ms on the spool's clock), each to its end. */
async function attempts(clock: ManualScheduler, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    clock.advance(10);
    await io();
  }
}

let dir: string;
let logs: CapturedDiag;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'fenra-spool-faults-'));
  logs = captureDiag();
});
afterEach(() => {
  logs.restore();
  rmSync(dir, { recursive: true, force: true });
});

const lines = (text: string): string[] => text.split('\n').filter((l) => l !== '');
const records = (): string[] => readdirSync(dir).filter((f) => f.startsWith('rec-'));

describe('DiskSpool on a disk that refuses writes', () => {
  it('full: refuses records at once (503 upstream), says so once, and recovers once there is room, said once', async () => {
    const f = faultyFs();
    const s = new DiskSpool(dir, 1e9, { fs: f.fs, recoveryMillis: 10 });
    s.load();
    await s.append([makeSpan({})]);
    f.set('full', 10); // 10 bytes left: no record fits
    const failed = await s.append([makeSpan({})]).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(SpoolUnavailableError);
    expect((failed as SpoolUnavailableError).code).toBe('ENOSPC');
    expect(s.problem()).toMatch(/cannot be written \(ENOSPC while writing a record\)/);
    const refusedBefore = f.refused;
    await expect(s.append([makeSpan({})])).rejects.toBeInstanceOf(SpoolUnavailableError);
    expect(f.refused).toBe(refusedBefore); // refused without touching the disk
    expect(records()).toHaveLength(1); // no partial record left behind
    expect(logs.messages('error')).toHaveLength(1);

    f.set(undefined); // room made
    await until(() => s.problem() === undefined, 'the spool to recover');
    expect(logs.messages('info').filter((m) => m.includes('can be written again'))).toHaveLength(1);
    await s.append([makeSpan({})]);
    expect(records()).toHaveLength(2);
    expect(logs.messages('error')).toHaveLength(1);
    await s.close();
  });

  it('full: the acks of what was delivered still land (the ballast gives its room), so a restart sends nothing twice', async () => {
    const f = faultyFs();
    const s = new DiskSpool(dir, 1e9, { fs: f.fs, recoveryMillis: 10 });
    s.load();
    await until(() => readdirSync(dir).includes('reserve.bin'), 'the ballast');
    const a = await s.append([makeSpan({})]);
    f.set('full', 0); // not one byte left
    await s.ack(['t1:s1', 't2:s2'], [a]); // resolves: durable
    expect(readdirSync(dir)).not.toContain('reserve.bin');
    // (A failed write may have left a torn line: the next one starts on a new line.)
    expect(lines(readFileSync(join(dir, 'acks.log'), 'utf8'))).toEqual([`${a} t1:s1`, `${a} t2:s2`]);
    expect(s.problem()).toMatch(/ENOSPC while writing the ack log/);
    // A restart on the full disk: the lock is rewritten in place.
    s.unlock();
    const again = new DiskSpool(dir, 1e9, { fs: f.fs });
    const contents = again.load();
    expect([...contents.acked].sort()).toEqual(['t1:s1', 't2:s2']);
    f.set(undefined);
  });

  it('read-only: acks and removals of delivered records wait, and are written once it is writable again', async () => {
    const f = faultyFs();
    const clock = new ManualScheduler();
    const s = new DiskSpool(dir, 1e9, { fs: f.fs, recoveryMillis: 10, scheduler: clock });
    s.load();
    const a = await s.append([makeSpan({})]);
    const b = await s.append([makeSpan({})]);
    f.set('read-only');
    let acked = false;
    void s.ack(['t1:s1'], [a, b]).then(() => (acked = true));
    s.release(b);
    await io();
    await attempts(clock, 6); // six recovery attempts, each refused
    expect(acked).toBe(false);
    expect(records()).toHaveLength(2); // nothing could be removed
    expect(s.problem()).toMatch(/EROFS/);
    expect(logs.messages('error')).toHaveLength(1);
    expect(clock.pending).toBe(1); // and it keeps trying

    f.set(undefined); // remounted read-write
    await attempts(clock, 1);
    await until(() => s.problem() === undefined, 'the spool to recover');
    await until(() => acked, 'the ack to land');
    await s.settle();
    expect(records()).toHaveLength(1);
    expect(lines(readFileSync(join(dir, 'acks.log'), 'utf8'))).toEqual([`${a},${b} t1:s1`]);
    // A restart finds what is left, and knows what was delivered.
    const contents = new DiskSpool(dir, 1e9).load();
    expect(contents.records.map((r) => r.id)).toEqual([a]);
    expect([...contents.acked]).toEqual(['t1:s1']);
  });

  it('an I/O error is one episode too: logged once, whatever fails during it', async () => {
    const f = faultyFs();
    const clock = new ManualScheduler();
    const s = new DiskSpool(dir, 1e9, { fs: f.fs, recoveryMillis: 10, scheduler: clock });
    s.load();
    const a = await s.append([makeSpan({})]);
    f.set('io');
    await expect(s.append([makeSpan({})])).rejects.toBeInstanceOf(SpoolUnavailableError);
    s.release(a);
    void s.ack(['t:s'], [a]);
    s.sending(['t:s'], [a]);
    await io();
    await attempts(clock, 4); // four recovery attempts fail too: still one line
    expect(logs.messages('error')).toHaveLength(1);
    f.set(undefined);
    await attempts(clock, 1);
    await until(() => s.problem() === undefined, 'the spool to recover');
    await s.settle();
    expect(records()).toEqual([]);
  });

  it('notes what was put on the wire; a restart finds it (possible duplicates) unless it was acked', async () => {
    const s = new DiskSpool(dir, 1e9);
    s.load();
    const a = await s.append([makeSpan({})]);
    s.sending(['t1:s1', 't2:s2'], [a]);
    await s.ack(['t1:s1'], [a]);
    // Killed here.
    const second = new DiskSpool(dir, 1e9);
    const contents = second.load();
    expect([...contents.sent]).toEqual(['t2:s2']);
    expect([...contents.sentByLastRun]).toEqual(['t2:s2']);
    expect([...contents.acked]).toEqual(['t1:s1']);
    // Killed again before sending it again: still a possible copy, but not one more.
    const third = new DiskSpool(dir, 1e9);
    const again = third.load();
    expect([...again.sent]).toEqual(['t2:s2']);
    expect([...again.sentByLastRun]).toEqual([]);
    // Sent again, then killed before the answer: one more possible copy.
    third.sending(['t2:s2'], [a]);
    const fourth = new DiskSpool(dir, 1e9).load();
    expect([...fourth.sent]).toEqual(['t2:s2']);
    expect([...fourth.sentByLastRun]).toEqual(['t2:s2']);
  });
});
