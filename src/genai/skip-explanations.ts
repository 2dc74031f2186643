import type { SkipReason } from './types.js';

/** Skips worth one sentence to the user (once per cause); the rest are only counted. */
export const SKIP_EXPLANATIONS: Partial<Record<SkipReason, string>> = {
  missing_usage:
    'an LLM call ended without usage and is not billed (for OpenAI streaming, set stream_options: { include_usage: true })',
  failed_no_usage: 'a failed LLM call reported no usage and is not billed',
  missing_model: 'an LLM call had usage but no model id and is not billed',
  invalid_usage:
    'an LLM call stated a token count that is not a whole number in range (NaN, negative, fractional, or above maxTokensPerCall) and is not billed',
  invalid: 'an LLM call carried usage that cannot be billed as it is, and is not sent',
};

/**
 * Says each skip cause once (the first occurrence, with its detail), through `say`; the rest
 * are only counted by the caller. Details are bounded and name attributes, never content.
 */
export class SkipExplainer {
  private readonly _said = new Set<SkipReason>();
  private readonly _say: (text: string) => void;

  constructor(say: (text: string) => void) {
    this._say = say;
  }

  /** `further`: what the user is told of the next ones (where they are counted). */
  explain(reason: SkipReason, detail: string | undefined, further: string): void {
    const text = SKIP_EXPLANATIONS[reason];
    if (text === undefined || this._said.has(reason)) return;
    this._said.add(reason);
    // A detail may quote a kept attribute (an operation id): bounded, whatever the span held.
    const shown = detail !== undefined && detail.length > 300 ? `${detail.slice(0, 300)}…` : detail;
    this._say(`${text}${shown ? ` (${shown})` : ''}; ${further}`);
  }
}
