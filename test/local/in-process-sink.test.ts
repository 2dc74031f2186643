import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resetOncePerProcess } from '../../src/internal/process-warning.js';
import { InProcessSinkSender, unwritableDir } from '../../src/local/in-process-sink.js';
import { parseRecordLines } from '../../src/local/records.js';
import type { CapturedDiag } from '../helpers/capture-diag.js';
import { captureDiag } from '../helpers/capture-diag.js';
import { makeBatch } from '../helpers/priced.js';

let dir: string;
let logs: CapturedDiag;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'fenra-inproc-sink-'));
  logs = captureDiag();
  resetOncePerProcess();
});
afterEach(() => {
  logs.restore();
  rmSync(dir, { recursive: true, force: true });
});

describe('the local sink in process', () => {
  it('writes priced transactions (the local price kept)', async () => {
    const sender = new InProcessSinkSender(join(dir, 'data'));
    const r = await sender.send(makeBatch(2));
    expect(r.outcome).toEqual({ kind: 'accepted', status: 202 });
    const { records } = parseRecordLines(readFileSync(join(dir, 'data', 'transactions.jsonl'), 'utf8'));
    expect(records).toHaveLength(2);
    expect(records[0]!.price).not.toBeNull();
    await sender.close();
  });

  it('fails soft when the file cannot be written: said once, then every batch refused at once', async () => {
    const target = join(dir, 'data');
    const sender = new InProcessSinkSender(target);
    writeFileSync(target, 'a file where the directory should be');
    const first = await sender.send(makeBatch(1));
    expect(first.outcome).toMatchObject({ kind: 'failed' });
    const second = await sender.send(makeBatch(3));
    expect(second.outcome).toMatchObject({ kind: 'failed' });
    expect(sender.unwritable).toMatch(/cannot be written \((EEXIST|ENOTDIR)\)/);
    expect(logs.messages('warn').filter((m) => m.includes('cannot be written'))).toHaveLength(1);
  });

  it('tells an unwritable directory before writing anything', () => {
    expect(unwritableDir(join(dir, 'not', 'yet', 'made'))).toBeUndefined();
    writeFileSync(join(dir, 'f'), '');
    expect(unwritableDir(join(dir, 'f', 'sub'))).toBe('ENOTDIR');
    expect(unwritableDir('/dev/null/x')).toBe('ENOTDIR');
  });
});
