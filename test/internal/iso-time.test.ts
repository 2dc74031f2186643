import { describe, expect, it } from 'vitest';
import { isoTime } from '../../src/internal/iso-time.js';

describe('isoTime', () => {
  it('writes what Date#toISOString writes, for times in one second and across seconds, days and years', () => {
    const times = [
      1,
      999,
      1000,
      1001.7,
      59_999.999,
      1_733_350_000_123.9,
      1_733_350_000_999,
      1_733_350_001_000,
      253_402_300_799_999, // 9999-12-31T23:59:59.999Z
      253_402_300_800_000, // year 10000: the extended year form
      8.64e15,
    ];
    // A batch's end times: many within the same second, in no order.
    for (let i = 0; i < 2_000; i++) times.push(1_733_350_000_000 + ((i * 7919) % 5_000) + (i % 3) / 3);
    for (const ms of times) expect(isoTime(ms), String(ms)).toBe(new Date(ms).toISOString());
  });
});
