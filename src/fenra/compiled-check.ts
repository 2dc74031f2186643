import type { ZodType } from 'zod';

/**
 * A fast acceptance test compiled FROM a zod schema, for the hot path where almost every value
 * is valid. The predicate is sound: it returns true only for values the schema accepts. It
 * may return false for a value the schema would accept (it is conservative on odd objects), so
 * callers treat false as "ask zod" — zod stays the judge of every rejection and its message.
 *
 * Compiled node kinds: object (strict, or with a catchall), string, number, boolean, enum of
 * strings, array, record with a plain string key, union, optional, never; checks min_length,
 * greater_than / less_than, and refinements (`.refine`) on nodes whose parsed output equals
 * their input. Anything else (transforms, defaults, formats, other checks...) is checked by
 * calling zod on that node, so a schema change can make this slower, never wrong.
 */

type Check = (v: unknown) => boolean;

interface CheckDef {
  check: string;
  minimum?: number;
  value?: unknown;
  inclusive?: boolean;
  fn?: (v: unknown) => unknown;
}

interface NodeDef {
  type: string;
  checks?: ReadonlyArray<{ _zod: { def: CheckDef } }>;
  shape?: Record<string, ZodType>;
  catchall?: ZodType;
  entries?: Record<string, unknown>;
  element?: ZodType;
  keyType?: ZodType;
  valueType?: ZodType;
  options?: readonly ZodType[];
  innerType?: ZodType;
  coerce?: boolean;
}

const defOf = (s: ZodType): NodeDef => (s as unknown as { _zod: { def: NodeDef } })._zod.def;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

/** Code points, as zod counts a string's length. */
function codePoints(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}

interface Compiled {
  check: Check;
  /** The node's parsed output equals its input (no stripping, no transform). */
  identity: boolean;
}

function viaZod(schema: ZodType): Compiled {
  return { check: (v) => schema.safeParse(v).success, identity: false };
}

/** One check of a node; undefined when not compiled. */
function compileRule(
  def: CheckDef,
  identity: boolean,
  base: 'string' | 'number' | 'other',
): Check | undefined {
  switch (def.check) {
    case 'min_length': {
      const min = def.minimum;
      if (typeof min !== 'number') return undefined;
      if (base === 'string') {
        return (v) => {
          const s = v as string;
          if (s.length >= 2 * min) return true;
          return s.length >= min && codePoints(s) >= min;
        };
      }
      return (v) => (v as { length: number }).length >= min;
    }
    case 'greater_than':
    case 'less_than': {
      const limit = def.value;
      if (base !== 'number' || typeof limit !== 'number') return undefined;
      if (def.check === 'greater_than') {
        return def.inclusive ? (v) => (v as number) >= limit : (v) => (v as number) > limit;
      }
      return def.inclusive ? (v) => (v as number) <= limit : (v) => (v as number) < limit;
    }
    case 'custom': {
      const fn = def.fn;
      if (!identity || typeof fn !== 'function') return undefined;
      // A promise (async refinement) is not a pass here: zod decides.
      return (v) => {
        const r = fn(v);
        return !!r && !(r instanceof Promise);
      };
    }
    default:
      return undefined;
  }
}

function compileNode(schema: ZodType): Compiled {
  const def = defOf(schema);
  if (def.coerce) return viaZod(schema);
  let base: Compiled | undefined;
  let kind: 'string' | 'number' | 'other' = 'other';
  switch (def.type) {
    case 'string':
      kind = 'string';
      base = { check: (v) => typeof v === 'string', identity: true };
      break;
    case 'number':
      kind = 'number';
      base = { check: (v) => typeof v === 'number' && Number.isFinite(v), identity: true };
      break;
    case 'boolean':
      base = { check: (v) => typeof v === 'boolean', identity: true };
      break;
    case 'never':
      base = { check: () => false, identity: true };
      break;
    case 'enum': {
      const values = Object.values(def.entries ?? {});
      if (!values.every((x) => typeof x === 'string')) return viaZod(schema);
      const set: ReadonlySet<unknown> = new Set<unknown>(values);
      base = { check: (v) => set.has(v), identity: true };
      break;
    }
    case 'optional': {
      if (def.innerType === undefined) return viaZod(schema);
      const inner = compileNode(def.innerType);
      base = { check: (v) => v === undefined || inner.check(v), identity: inner.identity };
      break;
    }
    case 'union': {
      const opts = (def.options ?? []).map(compileNode);
      if (opts.length === 0) return viaZod(schema);
      base = {
        check: (v) => {
          for (let i = 0; i < opts.length; i++) if (opts[i]!.check(v)) return true;
          return false;
        },
        identity: opts.every((o) => o.identity),
      };
      break;
    }
    case 'array': {
      if (def.element === undefined) return viaZod(schema);
      const el = compileNode(def.element);
      base = {
        check: (v) => {
          if (!Array.isArray(v)) return false;
          for (let i = 0; i < v.length; i++) if (!el.check(v[i])) return false;
          return true;
        },
        identity: el.identity,
      };
      break;
    }
    case 'record': {
      const { keyType, valueType } = def;
      if (keyType === undefined || valueType === undefined) return viaZod(schema);
      const keyDef = defOf(keyType);
      const keyValues = (keyType as unknown as { _zod: { values?: unknown } })._zod.values;
      if (keyDef.type !== 'string' || keyValues !== undefined) return viaZod(schema);
      const key = compileNode(keyType);
      const value = compileNode(valueType);
      base = {
        check: (v) => {
          if (!isPlainObject(v)) return false;
          // zod also reads symbol keys (and rejects them for a string key type).
          if (Object.getOwnPropertySymbols(v).length > 0) return false;
          for (const k in v) {
            if (k === '__proto__' || !key.check(k) || !value.check(v[k])) return false;
          }
          return true;
        },
        identity: key.identity && value.identity,
      };
      break;
    }
    case 'object': {
      const shape = def.shape ?? {};
      const keys = Object.keys(shape);
      if (Object.getOwnPropertySymbols(shape).length > 0 || keys.includes('__proto__')) return viaZod(schema);
      const fields = keys.map((k) => compileNode(shape[k]!));
      // zod refuses an absent required key even when its schema accepts undefined.
      const required = keys.map((k) => defOf(shape[k]!).type !== 'optional');
      const keySet = new Set(keys);
      const rest = def.catchall === undefined ? undefined : compileNode(def.catchall);
      const strict = rest !== undefined && defOf(def.catchall!).type === 'never';
      base = {
        check: (v) => {
          if (!isPlainObject(v)) return false;
          for (let i = 0; i < keys.length; i++) {
            const x = v[keys[i]!];
            if ((x === undefined && required[i]) || !fields[i]!.check(x)) return false;
          }
          if (rest === undefined) return true;
          for (const k in v) {
            if (keySet.has(k)) continue;
            if (strict || k === '__proto__' || !rest.check(v[k])) return false;
          }
          return true;
        },
        // Without a catchall zod strips unknown keys: the output is not the input.
        identity: rest !== undefined && (rest.identity || strict) && fields.every((f) => f.identity),
      };
      break;
    }
    default:
      return viaZod(schema);
  }
  const rules: Check[] = [];
  for (const c of def.checks ?? []) {
    const rule = compileRule(c._zod.def, base.identity, kind);
    if (rule === undefined) return viaZod(schema);
    rules.push(rule);
  }
  if (rules.length === 0) return base;
  const typeCheck = base.check;
  return {
    check: (v) => {
      if (!typeCheck(v)) return false;
      for (let i = 0; i < rules.length; i++) if (!rules[i]!(v)) return false;
      return true;
    },
    identity: base.identity,
  };
}

/** Compiles a sound, conservative acceptance test from a zod schema (see the file comment). */
export function compileAcceptance(schema: ZodType): (value: unknown) => boolean {
  return compileNode(schema).check;
}
