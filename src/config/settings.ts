import type { Mode, Setting } from './setting.js';
import { readBy } from './setting.js';
import { ATTRIBUTION_SETTINGS } from './settings-attribution.js';
import { DELIVERY_SETTINGS } from './settings-delivery.js';
import { SIDECAR_SETTINGS } from './settings-sidecar.js';
import { ZERO_CODE_SETTINGS } from './settings-zero-code.js';

/**
 * Every setting of every mode, each defined once (see {@link Setting}), in the order of the
 * README's configuration table.
 */
export const SETTINGS = {
  ...DELIVERY_SETTINGS,
  ...ATTRIBUTION_SETTINGS,
  ...SIDECAR_SETTINGS,
  ...ZERO_CODE_SETTINGS,
} as const satisfies Record<string, Setting>;

export type SettingId = keyof typeof SETTINGS;

/** The settings a mode reads, in table order. */
export function settingsOf(mode: Mode): [SettingId, Setting][] {
  return (Object.entries(SETTINGS) as [SettingId, Setting][]).filter(([, s]) => readBy(s, mode));
}
