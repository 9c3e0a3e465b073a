/**
 * One quantity from the unit Apple wrote to what the SDK route is sent (table.ts).
 */
import { UNIT_RULES, type UnitRule } from './table.js';

const PREFIX = 'HKQuantityTypeIdentifier';
/** `mmol<180.15588000005408>/L`: millimoles of a substance of that molar mass (g/mol) per litre. */
const MOLAR = /^mmol<(\d+(?:\.\d+)?)>\/L$/;

export type Converted = { ok: true; value: number; unit: string } | { ok: false };

const byFullType = new Map<string, UnitRule | undefined>();

/** The rule for a full HK identifier, or undefined for a type that has none (not a mapped quantity). */
export function unitRuleOf(type: string): UnitRule | undefined {
  let rule = byFullType.get(type);
  if (rule === undefined && !byFullType.has(type)) {
    rule = type.startsWith(PREFIX) ? UNIT_RULES[type.slice(PREFIX.length)] : undefined;
    // An export has a few dozen types; a file of made-up ones must not grow this without end.
    if (byFullType.size < 1024) byFullType.set(type, rule);
  }
  return rule;
}

/**
 * `value` (a number) in `unit` as Apple wrote it → what to send; `{ok: false}` for a unit the rule does
 * not know (a missing unit included). The result keeps 12 significant digits, so 0.97 × 100 is 97.
 */
export function convertQuantity(rule: UnitRule, unit: string | undefined, value: number): Converted {
  if (unit === undefined) return { ok: false };
  let base: number;
  const scale = rule.from[unit];
  if (scale !== undefined) {
    base = value * scale.factor + (scale.offset ?? 0);
  } else if (rule.molar) {
    const m = MOLAR.exec(unit);
    if (m === null) return { ok: false };
    // mmol/L × g/mol = mg/L; ÷ 10 = mg/dL.
    base = (value * Number(m[1])) / 10;
  } else {
    return { ok: false };
  }
  return { ok: true, value: round12(base * rule.k), unit: rule.unit };
}

export function round12(x: number): number {
  return x === 0 ? 0 : Number(x.toPrecision(12));
}
