/**
 * Delivery at exit, without any code in the app: what a `FenraSpanProcessor` (or the register
 * entry's provider) still holds is flushed, within a bound, when the event loop empties
 * (`beforeExit`: a script that ends by itself) and on SIGTERM / SIGINT (a server stopped by its
 * platform without `sdk.shutdown()`).
 *
 * - `beforeExit`: the due tasks run (each within its `timeoutMillis`); the process then ends as
 *   it would have, with `process.exitCode`. A task still holding work after its run (Fenra
 *   unreachable, the key refused) is reported (`after`) and the process ends at once: nothing
 *   keeps it alive past the bound.
 * - A signal: every task runs; then, if the app installed no listener of its own for that
 *   signal, the signal is raised again so that the process ends by it, as it would have without
 *   us. If the app listens, ending is the app's business. A second signal during the flush ends
 *   it at once (when the app does not listen).
 * - `process.exit()` called by the app skips all of this: Node runs no asynchronous work after it.
 *
 * One set of listeners per process, whatever the number of processors or copies of this package
 * (ESM and CommonJS bundles, the register entry's and the app's): they live in a registry on a
 * global symbol, so that exactly one listener per signal is ours, and "the app listens too" can
 * be told from the listener count. Tasks are held weakly: a processor nobody references any more
 * has nothing left to deliver.
 */

export type ExitOutcome = 'done' | 'timeout' | 'failed';
/** What set the flush off: the event loop emptied, or a signal. */
export type ExitTrigger = 'beforeExit' | 'SIGTERM' | 'SIGINT';

export interface ExitTask {
  /** Delivers what is held; called at exit (maybe more than once: it must be idempotent). */
  run(): Promise<void>;
  /** Longest wait for `run`, ms. */
  readonly timeoutMillis: number;
  /**
   * Whether anything is left to deliver: `beforeExit` runs only tasks with work, and ends the
   * process at once when work is still left after a run. Without it, the task runs at most once
   * at `beforeExit`.
   */
  pending?(): boolean;
  /** After a run at exit (done, failed or at its bound), with what set it off: say what was lost. */
  after?(outcome: ExitOutcome, trigger: ExitTrigger): void;
}

/** Runs `work`, waiting at most `timeoutMs` (a ref'd timer: the process waits); never rejects. */
export async function bounded(
  work: () => Promise<unknown>,
  timeoutMs: number,
  onError: (e: unknown) => void = () => undefined,
): Promise<ExitOutcome> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<ExitOutcome>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), Math.max(0, timeoutMs));
  });
  const run = Promise.resolve()
    .then(work)
    .then(
      (): ExitOutcome => 'done',
      (e: unknown): ExitOutcome => {
        onError(e);
        return 'failed';
      },
    );
  try {
    return await Promise.race([run, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const SIGNALS = ['SIGTERM', 'SIGINT'] as const;
type Signal = (typeof SIGNALS)[number];

interface Entry {
  task: WeakRef<ExitTask> | ExitTask;
  ranAtExit: boolean;
}

interface Registry {
  entries: Set<Entry>;
  running: Promise<void> | undefined;
  signalled: boolean;
  installed: boolean;
  onBeforeExit: () => void;
  onSignal: (signal: Signal) => void;
}

const REGISTRY = Symbol.for('@fenra/otel.exit-flush.v1');

function registry(): Registry {
  const g = globalThis as unknown as Record<symbol, Registry | undefined>;
  return (g[REGISTRY] ??= createRegistry());
}

function live(r: Registry): { entry: Entry; task: ExitTask }[] {
  const out: { entry: Entry; task: ExitTask }[] = [];
  for (const entry of r.entries) {
    const task = entry.task instanceof WeakRef ? entry.task.deref() : entry.task;
    if (task === undefined) r.entries.delete(entry);
    else out.push({ entry, task });
  }
  return out;
}

function safe(fn: () => void): void {
  try {
    fn();
  } catch {
    // reporting must never break the exit path
  }
}

async function runAll(due: { entry: Entry; task: ExitTask }[], trigger: ExitTrigger): Promise<ExitOutcome[]> {
  return Promise.all(
    due.map(async ({ entry, task }) => {
      entry.ranAtExit = true;
      const outcome = await bounded(() => task.run(), task.timeoutMillis);
      safe(() => task.after?.(outcome, trigger));
      return outcome;
    }),
  );
}

function uninstall(r: Registry): void {
  if (!r.installed) return;
  r.installed = false;
  process.removeListener('beforeExit', r.onBeforeExit);
  for (const s of SIGNALS) process.removeListener(s, r.onSignal);
}

function createRegistry(): Registry {
  const r: Registry = {
    entries: new Set(),
    running: undefined,
    signalled: false,
    installed: false,
    onBeforeExit: () => {
      if (r.running !== undefined || r.signalled) return;
      const due = live(r).filter(({ entry, task }) =>
        task.pending !== undefined ? task.pending() : !entry.ranAtExit,
      );
      if (due.length === 0) return;
      const run = runAll(due, 'beforeExit').then((outcomes) => {
        r.running = undefined;
        const stuck =
          outcomes.includes('timeout') ||
          due.some(({ task }) => task.pending !== undefined && task.pending());
        // Work left after its bound cannot be delivered now: end as the app would have (the
        // loss was just reported; a tick lets a process warning print first).
        if (stuck) setImmediate(() => process.exit());
      });
      r.running = run;
    },
    onSignal: (signal) => {
      // Decided now: does the app handle this signal itself (a listener besides ours)?
      const appHandles = process.listenerCount(signal) > 1;
      if (r.signalled) {
        // A second signal while flushing: the user insists, stop waiting.
        if (!appHandles) {
          uninstall(r);
          process.kill(process.pid, signal);
        }
        return;
      }
      r.signalled = true;
      void (async () => {
        await r.running;
        await runAll(live(r), signal);
        if (appHandles) return;
        uninstall(r);
        // After a tick, so that what was just reported (process warnings) is printed.
        setImmediate(() => process.kill(process.pid, signal));
      })();
    },
  };
  return r;
}

/**
 * Flushes `task` at exit (see the module note). `weak`: held only as long as its owner holds it
 * (a processor's). Returns a function that stops doing so (e.g. once the owner was shut down);
 * the listeners go when no task is left.
 */
export function flushAtExit(task: ExitTask, o: { weak?: boolean } = {}): () => void {
  const r = registry();
  const entry: Entry = { task: o.weak === true ? new WeakRef(task) : task, ranAtExit: false };
  r.entries.add(entry);
  if (!r.installed && typeof process !== 'undefined' && typeof process.on === 'function') {
    r.installed = true;
    process.on('beforeExit', r.onBeforeExit);
    for (const s of SIGNALS) process.on(s, r.onSignal);
  }
  return () => {
    r.entries.delete(entry);
    if (live(r).length === 0) uninstall(r);
  };
}
