/**
 * The genai-prices unit registry (usage key → price key, divisor, dimensions), as published
 * in `@pydantic/genai-prices` 0.1.8. The package does not export it, and the fast pricing path
 * needs it to decompose usage exactly as the package does. `price-book.test.ts` cross-checks
 * the fast path against `calcPrice`, so a registry change in a new catalog version fails a test.
 */

export interface UnitDef {
  readonly usageKey: string;
  readonly priceKey: string;
  /** Usage units per priced unit (1e6 for `*_mtok`). */
  readonly per: number;
  readonly dims: Readonly<Record<string, string>>;
  readonly dimCount: number;
  /** `input`, `output` or undefined (requests, tool calls...). */
  readonly direction: string | undefined;
}

type Dims = Record<string, string>;
interface RawUnit {
  priceKey: string;
  per: number;
  dims: Dims;
}

const u = (priceKey: string, per: number, dims: Dims): RawUnit => ({ priceKey, per, dims });

const RAW_UNITS: Record<string, RawUnit> = {
  audio_seconds: u('audio_hours', 3600, { family: 'durations', modality: 'audio' }),
  cache_audio_read_tokens: u('cache_audio_read_mtok', 1000000, {
    direction: 'input',
    family: 'tokens',
    modality: 'audio',
    token_type: 'cache_read',
  }),
  cache_audio_write_1h_tokens: u('cache_audio_write_1h_mtok', 1000000, {
    cache_ttl: '1h',
    direction: 'input',
    family: 'tokens',
    modality: 'audio',
    token_type: 'cache_write',
  }),
  cache_audio_write_5m_tokens: u('cache_audio_write_5m_mtok', 1000000, {
    cache_ttl: '5m',
    direction: 'input',
    family: 'tokens',
    modality: 'audio',
    token_type: 'cache_write',
  }),
  cache_audio_write_tokens: u('cache_audio_write_mtok', 1000000, {
    direction: 'input',
    family: 'tokens',
    modality: 'audio',
    token_type: 'cache_write',
  }),
  cache_image_read_tokens: u('cache_image_read_mtok', 1000000, {
    direction: 'input',
    family: 'tokens',
    modality: 'image',
    token_type: 'cache_read',
  }),
  cache_image_write_1h_tokens: u('cache_image_write_1h_mtok', 1000000, {
    cache_ttl: '1h',
    direction: 'input',
    family: 'tokens',
    modality: 'image',
    token_type: 'cache_write',
  }),
  cache_image_write_5m_tokens: u('cache_image_write_5m_mtok', 1000000, {
    cache_ttl: '5m',
    direction: 'input',
    family: 'tokens',
    modality: 'image',
    token_type: 'cache_write',
  }),
  cache_image_write_tokens: u('cache_image_write_mtok', 1000000, {
    direction: 'input',
    family: 'tokens',
    modality: 'image',
    token_type: 'cache_write',
  }),
  cache_read_tokens: u('cache_read_mtok', 1000000, {
    direction: 'input',
    family: 'tokens',
    token_type: 'cache_read',
  }),
  cache_text_read_tokens: u('cache_text_read_mtok', 1000000, {
    direction: 'input',
    family: 'tokens',
    modality: 'text',
    token_type: 'cache_read',
  }),
  cache_text_write_1h_tokens: u('cache_text_write_1h_mtok', 1000000, {
    cache_ttl: '1h',
    direction: 'input',
    family: 'tokens',
    modality: 'text',
    token_type: 'cache_write',
  }),
  cache_text_write_5m_tokens: u('cache_text_write_5m_mtok', 1000000, {
    cache_ttl: '5m',
    direction: 'input',
    family: 'tokens',
    modality: 'text',
    token_type: 'cache_write',
  }),
  cache_text_write_tokens: u('cache_text_write_mtok', 1000000, {
    direction: 'input',
    family: 'tokens',
    modality: 'text',
    token_type: 'cache_write',
  }),
  cache_video_read_tokens: u('cache_video_read_mtok', 1000000, {
    direction: 'input',
    family: 'tokens',
    modality: 'video',
    token_type: 'cache_read',
  }),
  cache_video_write_1h_tokens: u('cache_video_write_1h_mtok', 1000000, {
    cache_ttl: '1h',
    direction: 'input',
    family: 'tokens',
    modality: 'video',
    token_type: 'cache_write',
  }),
  cache_video_write_5m_tokens: u('cache_video_write_5m_mtok', 1000000, {
    cache_ttl: '5m',
    direction: 'input',
    family: 'tokens',
    modality: 'video',
    token_type: 'cache_write',
  }),
  cache_video_write_tokens: u('cache_video_write_mtok', 1000000, {
    direction: 'input',
    family: 'tokens',
    modality: 'video',
    token_type: 'cache_write',
  }),
  cache_write_1h_tokens: u('cache_write_1h_mtok', 1000000, {
    cache_ttl: '1h',
    direction: 'input',
    family: 'tokens',
    token_type: 'cache_write',
  }),
  cache_write_5m_tokens: u('cache_write_5m_mtok', 1000000, {
    cache_ttl: '5m',
    direction: 'input',
    family: 'tokens',
    token_type: 'cache_write',
  }),
  cache_write_tokens: u('cache_write_mtok', 1000000, {
    direction: 'input',
    family: 'tokens',
    token_type: 'cache_write',
  }),
  code_executions: u('code_executions_kcount', 1000, { family: 'tool_calls', tool_type: 'code_execution' }),
  input_annotated_document_pages: u('input_annotated_document_kpages', 1000, {
    direction: 'input',
    family: 'document_pages',
    page_type: 'annotated',
  }),
  input_audio_seconds: u('input_audio_hours', 3600, {
    direction: 'input',
    family: 'durations',
    modality: 'audio',
  }),
  input_audio_tokens: u('input_audio_mtok', 1000000, {
    direction: 'input',
    family: 'tokens',
    modality: 'audio',
  }),
  input_audio_tool_tokens: u('input_audio_tool_mtok', 1000000, {
    direction: 'input',
    family: 'tokens',
    modality: 'audio',
    token_type: 'tool',
  }),
  input_characters: u('input_mchars', 1000000, { direction: 'input', family: 'characters' }),
  input_document_pages: u('input_document_kpages', 1000, { direction: 'input', family: 'document_pages' }),
  input_image_tokens: u('input_image_mtok', 1000000, {
    direction: 'input',
    family: 'tokens',
    modality: 'image',
  }),
  input_image_tool_tokens: u('input_image_tool_mtok', 1000000, {
    direction: 'input',
    family: 'tokens',
    modality: 'image',
    token_type: 'tool',
  }),
  input_pixels: u('input_gpixels', 1000000000, { direction: 'input', family: 'pixels' }),
  input_text_messages: u('input_text_messages_kcount', 1000, {
    direction: 'input',
    family: 'messages',
    modality: 'text',
  }),
  input_text_tokens: u('input_text_mtok', 1000000, {
    direction: 'input',
    family: 'tokens',
    modality: 'text',
  }),
  input_text_tool_tokens: u('input_text_tool_mtok', 1000000, {
    direction: 'input',
    family: 'tokens',
    modality: 'text',
    token_type: 'tool',
  }),
  input_tokens: u('input_mtok', 1000000, { direction: 'input', family: 'tokens' }),
  input_tool_tokens: u('input_tool_mtok', 1000000, {
    direction: 'input',
    family: 'tokens',
    token_type: 'tool',
  }),
  input_video_tokens: u('input_video_mtok', 1000000, {
    direction: 'input',
    family: 'tokens',
    modality: 'video',
  }),
  input_video_tool_tokens: u('input_video_tool_mtok', 1000000, {
    direction: 'input',
    family: 'tokens',
    modality: 'video',
    token_type: 'tool',
  }),
  output_audio_citation_tokens: u('output_audio_citation_mtok', 1000000, {
    direction: 'output',
    family: 'tokens',
    modality: 'audio',
    token_type: 'citation',
  }),
  output_audio_reasoning_tokens: u('output_audio_reasoning_mtok', 1000000, {
    direction: 'output',
    family: 'tokens',
    modality: 'audio',
    token_type: 'reasoning',
  }),
  output_audio_seconds: u('output_audio_hours', 3600, {
    direction: 'output',
    family: 'durations',
    modality: 'audio',
  }),
  output_audio_tokens: u('output_audio_mtok', 1000000, {
    direction: 'output',
    family: 'tokens',
    modality: 'audio',
  }),
  output_citation_tokens: u('output_citation_mtok', 1000000, {
    direction: 'output',
    family: 'tokens',
    token_type: 'citation',
  }),
  output_image_citation_tokens: u('output_image_citation_mtok', 1000000, {
    direction: 'output',
    family: 'tokens',
    modality: 'image',
    token_type: 'citation',
  }),
  output_image_reasoning_tokens: u('output_image_reasoning_mtok', 1000000, {
    direction: 'output',
    family: 'tokens',
    modality: 'image',
    token_type: 'reasoning',
  }),
  output_image_tokens: u('output_image_mtok', 1000000, {
    direction: 'output',
    family: 'tokens',
    modality: 'image',
  }),
  output_reasoning_tokens: u('output_reasoning_mtok', 1000000, {
    direction: 'output',
    family: 'tokens',
    token_type: 'reasoning',
  }),
  output_text_citation_tokens: u('output_text_citation_mtok', 1000000, {
    direction: 'output',
    family: 'tokens',
    modality: 'text',
    token_type: 'citation',
  }),
  output_text_reasoning_tokens: u('output_text_reasoning_mtok', 1000000, {
    direction: 'output',
    family: 'tokens',
    modality: 'text',
    token_type: 'reasoning',
  }),
  output_text_tokens: u('output_text_mtok', 1000000, {
    direction: 'output',
    family: 'tokens',
    modality: 'text',
  }),
  output_tokens: u('output_mtok', 1000000, { direction: 'output', family: 'tokens' }),
  output_video_citation_tokens: u('output_video_citation_mtok', 1000000, {
    direction: 'output',
    family: 'tokens',
    modality: 'video',
    token_type: 'citation',
  }),
  output_video_reasoning_tokens: u('output_video_reasoning_mtok', 1000000, {
    direction: 'output',
    family: 'tokens',
    modality: 'video',
    token_type: 'reasoning',
  }),
  output_video_tokens: u('output_video_mtok', 1000000, {
    direction: 'output',
    family: 'tokens',
    modality: 'video',
  }),
  requests: u('requests_kcount', 1000, { family: 'requests' }),
  rerank_searches: u('rerank_searches_kcount', 1000, { family: 'rerank' }),
  social_searches: u('social_searches_kcount', 1000, { family: 'tool_calls', tool_type: 'social_search' }),
  storage_searches: u('storage_searches_kcount', 1000, { family: 'tool_calls', tool_type: 'storage_search' }),
  web_searches: u('web_searches_kcount', 1000, { family: 'tool_calls', tool_type: 'web_search' }),
};

function dimsKey(dims: Readonly<Record<string, string>>): string {
  return Object.keys(dims)
    .sort()
    .map((k) => `${k}=${dims[k] ?? ''}`)
    .join(';');
}

const byUsage = new Map<string, UnitDef>();
const byPrice = new Map<string, UnitDef>();
const byDims = new Map<string, UnitDef>();
for (const [usageKey, raw] of Object.entries(RAW_UNITS)) {
  const def: UnitDef = Object.freeze({
    usageKey,
    priceKey: raw.priceKey,
    per: raw.per,
    dims: Object.freeze({ ...raw.dims }),
    dimCount: Object.keys(raw.dims).length,
    direction: raw.dims.direction,
  });
  byUsage.set(usageKey, def);
  byPrice.set(raw.priceKey, def);
  byDims.set(dimsKey(def.dims), def);
}
const ALL: readonly UnitDef[] = [...byUsage.values()];

/** Every registered unit. */
export function allUnits(): readonly UnitDef[] {
  return ALL;
}

export function unitForUsageKey(key: string): UnitDef | undefined {
  return byUsage.get(key);
}

export function unitForPriceKey(key: string): UnitDef | undefined {
  return byPrice.get(key);
}

/** Usage keys genai-prices accepts without warning (all but `requests`, which it sets itself). */
export function isReportedUsageKey(key: string): boolean {
  return key !== 'requests' && byUsage.has(key);
}

/** True when every dimension of `general` is present with the same value in `specific`. */
export function covers(general: UnitDef, specific: UnitDef): boolean {
  for (const k in general.dims) {
    if (specific.dims[k] !== general.dims[k]) return false;
  }
  return true;
}

/** `a` is a strict ancestor (more general unit) of `b`. */
export function isAncestor(a: UnitDef, b: UnitDef): boolean {
  return a !== b && covers(a, b);
}

/** No dimension with conflicting values. */
export function compatible(a: UnitDef, b: UnitDef): boolean {
  for (const k in a.dims) {
    const v = b.dims[k];
    if (v !== undefined && v !== a.dims[k]) return false;
  }
  return true;
}

/** The registered unit whose dimensions are the union of both, if any. */
export function joinUnit(a: UnitDef, b: UnitDef): UnitDef | undefined {
  if (!compatible(a, b)) return undefined;
  return byDims.get(dimsKey({ ...a.dims, ...b.dims }));
}
