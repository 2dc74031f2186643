/**
 * `flushFenra()`: lets an app started with the register entry deliver what is queued before it
 * exits by itself (a SIGTERM handler that ends in `process.exit()` skips the register entry's own
 * flush). The register bundle and the library bundle are separate module instances, so the
 * register entry publishes its flush on a global symbol.
 */
const FLUSH_HANDLE = Symbol.for('@fenra/otel/register.flush');

export interface RegisterFlushHandle {
  /** Flushes the register entry's tracer provider, waiting at most `timeoutMillis`; never rejects. */
  flush(timeoutMillis?: number): Promise<void>;
}

type WithHandle = Record<symbol, RegisterFlushHandle | undefined>;

export function publishFlushHandle(handle: RegisterFlushHandle | undefined): void {
  (globalThis as unknown as WithHandle)[FLUSH_HANDLE] = handle;
}

export interface FlushFenraOptions {
  /** Longest wait, ms. Default: `FENRA_SHUTDOWN_TIMEOUT_MILLIS` (5000). */
  timeoutMillis?: number;
}

/**
 * Sends what the `@fenra/otel/register` entry still holds (spans not yet exported, transactions
 * queued or in flight) and resolves when that is done, or after the timeout. Resolves at once
 * when the register entry is not running (not loaded, disabled, or stepped aside for the app's
 * own tracer provider). Never rejects.
 *
 * ```js
 * import { flushFenra } from '@fenra/otel';
 * process.on('SIGTERM', () => server.close(() => flushFenra().then(() => process.exit(0))));
 * ```
 *
 * With your own tracer provider, call its `forceFlush()` (or `shutdown()`) instead: it flushes
 * `FenraSpanProcessor` too.
 */
export async function flushFenra(options: FlushFenraOptions = {}): Promise<void> {
  const handle = (globalThis as unknown as WithHandle)[FLUSH_HANDLE];
  if (handle === undefined) return;
  try {
    await handle.flush(options.timeoutMillis);
  } catch {
    // The handle never rejects; an app's exit path must not fail here either way.
  }
}
