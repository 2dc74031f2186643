import { diag } from '@opentelemetry/api';
import type { FenraWarningCode } from '../internal/process-warning.js';
import { firstInProcess, warnProcessOnce } from '../internal/process-warning.js';

/**
 * A configuration problem found while resolving: a value ignored (`warn`), or a setting that
 * stops delivery (`error`: a malformed URL). The resolvers are pure and return these; the
 * in-process modes report them with {@link reportProblems}, `serve` prints them and exits.
 */
export interface ConfigProblem {
  level: 'warn' | 'error';
  code: Extract<FenraWarningCode, 'FENRA_INVALID_ENV' | 'FENRA_INVALID_CONFIG'>;
  /** Names only settings of the mode that resolved it; never a secret's value. */
  message: string;
  /** One report per process per cause. */
  cause: string;
}

const log = diag.createComponentLogger({ namespace: '@fenra/otel/config' });

export interface ReportOptions {
  /**
   * Also emit each problem as a Node process warning (once per process per cause), visible
   * without a diag logger. The in-process processor and exporter set it. Default false.
   */
  processWarnings?: boolean;
}

/**
 * Logs each problem through `diag` (and as a process warning when asked), once per process per
 * cause however many processors or exporters read the same environment.
 */
export function reportProblems(problems: readonly ConfigProblem[], o: ReportOptions = {}): void {
  for (const p of problems) {
    if (firstInProcess(`diag:config:${p.cause}`)) {
      if (p.level === 'error') log.error(p.message);
      else log.warn(p.message);
    }
    if (o.processWarnings === true) warnProcessOnce(p.code, `@fenra/otel: ${p.message}`, p.cause);
  }
}
