import { HttpError } from './respond.js';

// Pydantic v2 wording, because the backend turns the first validation error into a 400 detail (contract §7).

const BLOCK_STARTS = [0, 9, 14, 19, 24] as const;
const GROUP_LENGTHS = [8, 4, 4, 4, 12] as const;

/** Why the Rust `uuid` crate (used by pydantic-core) rejects `input`, or null when it parses. */
function uuidError(input: string): string | null {
  let body = input;
  let offset = 0;
  let simple = true;
  if (input.length >= 2 && input.startsWith('{') && input.endsWith('}')) {
    body = input.slice(1, -1);
    offset = 1;
    simple = false;
  } else if (input.startsWith('urn:uuid:')) {
    body = input.slice(9);
    offset = 9;
    simple = false;
  }
  const hyphens: number[] = [];
  let index = 0;
  for (const ch of body) {
    if (ch === '-') hyphens.push(index);
    else if (!/^[0-9a-fA-F]$/.test(ch)) {
      return `invalid character: expected an optional prefix of \`urn:uuid:\` followed by [0-9a-fA-F-], found \`${ch}\` at ${index + offset + 1}`;
    }
    index += Buffer.byteLength(ch);
  }
  if (hyphens.length === 0 && simple) {
    return body.length === 32
      ? null
      : `invalid length: expected length 32 for simple format, found ${body.length}`;
  }
  if (hyphens.length !== 4) return `invalid group count: expected 5, found ${hyphens.length + 1}`;
  for (let i = 0; i < 4; i++) {
    const start = BLOCK_STARTS[i] as number;
    const next = BLOCK_STARTS[i + 1] as number;
    if (hyphens[i] !== next - 1) {
      return `invalid group length in group ${i}: expected ${GROUP_LENGTHS[i]}, found ${(hyphens[i] as number) - start}`;
    }
  }
  if (body.length !== 36) {
    return `invalid group length in group 4: expected 12, found ${body.length - BLOCK_STARTS[4]}`;
  }
  return null;
}

/** The canonical (lowercase, hyphenated) UUID, or null when pydantic would reject it. */
export function canonicalUuid(input: string): string | null {
  if (uuidError(input) !== null) return null;
  const hex = input.replace(/^urn:uuid:|[{}-]/g, '').toLowerCase();
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** A UUID path parameter: canonical form, or a 400 "Input should be a valid UUID, …". */
export function requireUuid(input: string): string {
  const error = uuidError(input);
  if (error !== null) throw new HttpError(400, `Input should be a valid UUID, ${error}`);
  return canonicalUuid(input) as string;
}

/** Lax-mode pydantic int: JSON integers, integral floats, bools and integer strings. */
export function coerceInt(value: unknown): number {
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new HttpError(400, 'Input should be a finite number');
    if (!Number.isInteger(value)) {
      throw new HttpError(400, 'Input should be a valid integer, got a number with a fractional part');
    }
    return value;
  }
  if (typeof value === 'string') {
    const trimmed = value.trim();
    if (/^[+-]?\d+(_\d+)*$/.test(trimmed)) return Number(trimmed.replaceAll('_', ''));
    throw new HttpError(400, 'Input should be a valid integer, unable to parse string as an integer');
  }
  throw new HttpError(400, 'Input should be a valid integer');
}

/** An int within [min, max], with pydantic's ge/le messages. */
export function boundedInt(value: unknown, min: number | null, max: number | null): number {
  const n = coerceInt(value);
  if (min !== null && n < min) throw new HttpError(400, `Input should be greater than or equal to ${min}`);
  if (max !== null && n > max) throw new HttpError(400, `Input should be less than or equal to ${max}`);
  return n;
}

/** A string of at most `maxLength` characters (pydantic counts code points). */
export function boundedString(value: unknown, maxLength: number): string {
  if (typeof value !== 'string') throw new HttpError(400, 'Input should be a valid string');
  if ([...value].length > maxLength) {
    throw new HttpError(400, `String should have at most ${maxLength} characters`);
  }
  return value;
}

/** An optional string field: absent or null → null. */
export function optionalString(value: unknown, maxLength: number): string | null {
  if (value === undefined || value === null) return null;
  return boundedString(value, maxLength);
}

/** One of `allowed`, with pydantic's literal_error wording. */
export function literal<T extends string>(value: string, allowed: readonly T[]): T {
  if ((allowed as readonly string[]).includes(value)) return value as T;
  const quoted = allowed.map((a) => `'${a}'`);
  const list =
    quoted.length > 1 ? `${quoted.slice(0, -1).join(', ')} or ${quoted.at(-1)}` : (quoted[0] ?? '');
  throw new HttpError(400, `Input should be ${list}`);
}

/** A required field: pydantic's "Field required" when it is absent. */
export function required<T>(value: unknown, check: (v: unknown) => T): T {
  if (value === undefined) throw new HttpError(400, 'Field required');
  return check(value);
}

/** A list of `min`..`max` items, each checked by `item` (pydantic's list messages). */
export function boundedList<T>(value: unknown, min: number, max: number, item: (v: unknown) => T): T[] {
  if (!Array.isArray(value)) throw new HttpError(400, 'Input should be a valid list');
  const items = value.map(item);
  if (items.length < min) {
    throw new HttpError(
      400,
      `List should have at least ${min} item${min === 1 ? '' : 's'} after validation, not ${items.length}`,
    );
  }
  if (items.length > max) {
    throw new HttpError(400, `List should have at most ${max} items after validation, not ${items.length}`);
  }
  return items;
}

/** A nested model: an object, or pydantic's model_attributes_type message. */
export function object(value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new HttpError(400, 'Input should be a valid dictionary or object to extract fields from');
  }
  return value as Record<string, unknown>;
}
