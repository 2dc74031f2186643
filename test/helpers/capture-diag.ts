import type { DiagLogger } from '@opentelemetry/api';
import { diag, DiagLogLevel } from '@opentelemetry/api';

export type DiagLevel = 'error' | 'warn' | 'info' | 'debug' | 'verbose';

export interface DiagRecord {
  level: DiagLevel;
  message: string;
  args: unknown[];
}

export interface CapturedDiag {
  readonly records: DiagRecord[];
  /** Messages at one level. */
  messages(level: DiagLevel): string[];
  /** Every message and its arguments as one string (to check nothing leaked). */
  text(): string;
  clear(): void;
  /** Removes the logger from `diag`. */
  restore(): void;
}

/** Installs a recording `diag` logger (level ALL). Call `restore()` after the test. */
export function captureDiag(): CapturedDiag {
  const records: DiagRecord[] = [];
  const at =
    (level: DiagLevel) =>
    (message: string, ...args: unknown[]): void => {
      // Component loggers pass their namespace first and the text as the next argument.
      const text = [message, ...args.filter((a): a is string => typeof a === 'string')].join(' ');
      records.push({ level, message: text, args });
    };
  const logger: DiagLogger = {
    error: at('error'),
    warn: at('warn'),
    info: at('info'),
    debug: at('debug'),
    verbose: at('verbose'),
  };
  diag.disable();
  diag.setLogger(logger, { logLevel: DiagLogLevel.ALL, suppressOverrideMessage: true });
  records.length = 0; // the registration notice
  return {
    records,
    messages: (level) => records.filter((r) => r.level === level).map((r) => r.message),
    text: () => records.map((r) => [r.message, ...r.args.map((a) => String(a))].join(' ')).join('\n'),
    clear: () => {
      records.length = 0;
    },
    restore: () => diag.disable(),
  };
}
