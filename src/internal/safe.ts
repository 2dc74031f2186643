/** Runs `fn`; on a throw reports it and returns `fallback`. For user callbacks and third-party calls. */
export function safely<T>(fn: () => T, onError: (e: unknown) => void, fallback: T): T {
  try {
    return fn();
  } catch (e) {
    try {
      onError(e);
    } catch {
      // the reporter itself failed: nothing more to do
    }
    return fallback;
  }
}

export function errorText(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}
