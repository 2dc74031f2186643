/**
 * `new Date(ms).toISOString()` for many times close together (the transactions of one batch
 * end within a few seconds of each other): the text up to the seconds is formatted once per
 * second and kept, only the milliseconds are appended. Same output as toISOString for every
 * valid time (the fractional part of `ms` is dropped, as Date does).
 */
let cachedSecond = NaN;
let cachedPrefix = '';

export function isoTime(ms: number): string {
  const whole = Math.trunc(ms);
  const second = Math.floor(whole / 1000);
  if (second !== cachedSecond) {
    // "…T12:34:56." from the full text of the whole second (its ".000Z" cut off).
    cachedPrefix = new Date(second * 1000).toISOString().slice(0, -4);
    cachedSecond = second;
  }
  const milli = whole - second * 1000;
  return cachedPrefix + (milli < 10 ? '00' : milli < 100 ? '0' : '') + milli + 'Z';
}
