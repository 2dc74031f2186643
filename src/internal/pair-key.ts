/** Providers, and models per provider, whose keys are kept (ids come from spans: bounded). */
const MAX_FIRSTS = 64;
const MAX_SECONDS = 256;

const keys = new Map<string, Map<string, string>>();

/**
 * `${first}/${second}`, the same string object each time for a pair seen recently: a key of a
 * per-model counter is built once, not concatenated (and hashed again) for every call counted.
 */
export function pairKey(first: string, second: string): string {
  let bySecond = keys.get(first);
  if (bySecond === undefined) {
    if (keys.size >= MAX_FIRSTS) keys.clear();
    keys.set(first, (bySecond = new Map()));
  }
  let key = bySecond.get(second);
  if (key === undefined) {
    if (bySecond.size >= MAX_SECONDS) bySecond.clear();
    key = `${first}/${second}`;
    bySecond.set(second, key);
  }
  return key;
}
