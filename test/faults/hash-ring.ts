import { crc32 } from 'node:zlib';

/**
 * A consistent-hash ring over trace ids, built the way the Collector's `loadbalancing` exporter
 * builds its own (written here from its documented behaviour): the circle has 36,000
 * positions; each backend takes 100 of them, at the CRC-32 of its name followed by one byte
 * (0..99), modulo 36,000, a position already taken staying with its first owner; a trace goes to
 * the first backend at or after the CRC-32 of its 16 id bytes, modulo 36,000, wrapping around.
 * Adding a backend to N moves about 1/(N+1) of the trace ids; removing one moves only its own.
 */
const POSITIONS = 36_000;
const POINTS_PER_BACKEND = 100;

export class HashRing {
  private readonly _positions: number[] = [];
  private readonly _owners: string[] = [];

  constructor(backends: readonly string[]) {
    const taken = new Map<number, string>();
    for (const name of backends) {
      const bytes = Buffer.from(name, 'utf8');
      for (let i = 0; i < POINTS_PER_BACKEND; i++) {
        const at = crc32(Buffer.concat([bytes, Buffer.of(i)])) % POSITIONS;
        if (!taken.has(at)) taken.set(at, name);
      }
    }
    for (const [at, name] of [...taken].sort((a, b) => a[0] - b[0])) {
      this._positions.push(at);
      this._owners.push(name);
    }
  }

  /** The backend of a trace (hex id), or undefined when the ring is empty. */
  owner(traceIdHex: string): string | undefined {
    if (this._positions.length === 0) return undefined;
    const at = crc32(Buffer.from(traceIdHex, 'hex')) % POSITIONS;
    // The first position at or after `at` (binary search), else the first one (wrap around).
    let lo = 0;
    let hi = this._positions.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this._positions[mid]! < at) lo = mid + 1;
      else hi = mid;
    }
    return this._owners[lo === this._positions.length ? 0 : lo];
  }
}
