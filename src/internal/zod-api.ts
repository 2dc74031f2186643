/**
 * The part of zod this package uses at run time (the config and wire schemas), as
 * {@link loadZod} hands it out. The register entry's build bundles this file alone into
 * `register-zod.cjs` (tsup.config.ts), so that it holds only these.
 */
export {
  array,
  boolean,
  custom,
  enum,
  number,
  object,
  prettifyError,
  record,
  strictObject,
  string,
  union,
} from 'zod';
