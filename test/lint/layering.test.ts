/**
 * `npm run lint` enforces the layering of src/ (eslint.config.mjs): an import against the
 * order fails, one along it passes. Linted as text at real paths, so the rules that apply are
 * the ones the project's own configuration gives those files.
 */
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const eslint = new ESLint({ cwd: process.cwd() });

async function layeringErrors(file: string, source: string): Promise<string[]> {
  const [result] = await eslint.lintText(source, { filePath: file });
  return result!.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('the layering lint', () => {
  it.each([
    ['src/genai/probe.ts', "import { PriceBook } from '../pricing/price-book.js';", 'src/pricing'],
    [
      'src/genai/dialects/probe.ts',
      "import { DeliveryPipeline } from '../../pipeline/delivery-pipeline.js';",
      'src/pipeline',
    ],
    ['src/span/probe.ts', "import type { ModelCall } from '../genai/types.js';", 'src/genai'],
    ['src/pricing/probe.ts', "import { ConversionStage } from '../stage/conversion-stage.js';", 'src/stage'],
    [
      'src/stage/probe.ts',
      "import { renderTransaction } from '../fenra/render-transaction.js';",
      'src/fenra',
    ],
    ['src/fenra/probe.ts', "import { resolveConfig } from '../config/library.js';", 'src/config'],
    // The pipeline takes its own DeliveryConfig; the entry points resolve it.
    ['src/pipeline/probe.ts', "import type { ResolvedConfig } from '../config/library.js';", 'src/config'],
    [
      'src/pipeline/probe.ts',
      "import { renderTransaction } from '../fenra/render-transaction.js';",
      'src/fenra',
    ],
    ['src/sidecar/probe.ts', "import { Ledger } from '../local/ledger.js';", 'src/local'],
    ['src/local/probe.ts', "import { runServe } from '../cli/serve.js';", 'src/cli'],
    ['src/internal/probe.ts', "import { SpanKind } from '../span/span-view.js';", 'src/span'],
  ])('%s: %s is refused', async (file, source, target) => {
    const errors = await layeringErrors(file, `${source}\nexport const x = 1;\n`);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain(`may not import ${target}`);
  });

  it.each([
    ['src/stage/probe.ts', "import { PriceBook } from '../pricing/price-book.js';"],
    ['src/fenra/probe.ts', "import type { PricedTransaction } from '../stage/priced-transaction.js';"],
    ['src/genai/probe.ts', "import { BoundedMap } from '../internal/bounded-map.js';"],
    ['src/cli/probe.ts', "import { Ledger } from '../local/ledger.js';"],
    ['src/genai/probe.ts', "import { VERSION } from '../version.js';"],
  ])('%s: %s is allowed', async (file, source) => {
    expect(await layeringErrors(file, `${source}\nexport const x = 1;\n`)).toEqual([]);
  });
});
