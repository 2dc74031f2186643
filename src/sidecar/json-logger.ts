import type { DiagLogger } from '@opentelemetry/api';
import type { Writable } from 'node:stream';
import { withoutUrlCredentials } from '../internal/display-url.js';

/**
 * A `DiagLogger` that writes one JSON object per line: the sidecar's structured logs. Component
 * loggers prefix their namespace, which becomes the `component` field.
 */
export function jsonDiagLogger(out: Writable, now: () => Date = () => new Date()): DiagLogger {
  const write =
    (level: string) =>
    (message: string, ...args: unknown[]): void => {
      let component: string | undefined;
      let msg = message;
      // createComponentLogger passes the namespace as the first argument.
      if (typeof message === 'string' && message.startsWith('@') && typeof args[0] === 'string') {
        component = message;
        msg = args.shift() as string;
      }
      const entry: Record<string, unknown> = { time: now().toISOString(), level };
      if (component) entry['component'] = component;
      entry['msg'] = msg;
      if (args.length) entry['args'] = args.map((a) => (a instanceof Error ? a.message : a));
      // The last line of defence: no URL credentials in any log line, whoever wrote it.
      out.write(withoutUrlCredentials(JSON.stringify(entry)) + '\n');
    };
  return {
    error: write('error'),
    warn: write('warn'),
    info: write('info'),
    debug: write('debug'),
    verbose: write('verbose'),
  };
}
