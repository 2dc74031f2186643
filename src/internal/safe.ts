import { withoutUrlCredentials } from './display-url.js';

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

/** An error as a log line may show it (URLs in it without their credentials). */
export function errorText(e: unknown): string {
  return withoutUrlCredentials(e instanceof Error ? `${e.name}: ${e.message}` : String(e));
}
