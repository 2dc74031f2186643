import type { Mode, Setting } from './setting.js';
import { flagText } from './setting.js';

/**
 * How a message names a setting: only by the names the running mode reads (issue: a sidecar
 * message must not point at a code option, a zero-code message not at a flag).
 *
 * - library: `FENRA_API_KEY (or the apiKey option)`
 * - register: `FENRA_API_KEY`
 * - serve: `--api-key-file or FENRA_API_KEY` (the config file key when nothing else)
 * - convert: its flag where it has one, and the variable
 */
export function settingName(s: Setting, mode: Mode): string {
  const env = s.env?.[0];
  const flag = flagText(s);
  switch (mode) {
    case 'library':
      if (env !== undefined && s.option !== undefined) return `${env} (or the ${s.option} option)`;
      if (s.option !== undefined) return `the ${s.option} option`;
      return env ?? s.doc;
    case 'register':
      return env ?? s.doc;
    case 'serve':
    case 'convert': {
      const f = mode === 'serve' || s.convertFlag === true ? flag : undefined;
      if (f !== undefined && env !== undefined) return `${f} or ${env}`;
      if (f !== undefined) return f;
      if (env !== undefined) return env;
      return mode === 'serve' && s.file !== undefined ? `config file '${s.file}'` : s.doc;
    }
  }
}

/** Where a value came from, named as the user wrote it. */
export type Source =
  | { from: 'option'; name: string }
  | { from: 'env'; name: string }
  | { from: 'flag'; name: string }
  | { from: 'file'; name: string }
  | { from: 'default' };

/** `the maxQueueSize option`, `FENRA_MAX_QUEUE_SIZE`, `--max-queue`, `config file 'maxQueueSize'`. */
export function sourceName(source: Source, s: Setting, mode: Mode): string {
  switch (source.from) {
    case 'option':
      return `the ${source.name} option`;
    case 'env':
      return source.name;
    case 'flag':
      return `--${source.name}`;
    case 'file':
      return `config file '${source.name}'`;
    case 'default':
      return settingName(s, mode);
  }
}
