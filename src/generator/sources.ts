import type { Rng } from './prng.js';
import type { DayCtx } from './world.js';

/** Who wrote a sample (format §5.3): name with U+2019, version by era, device string with a fresh pointer. */
export interface Source {
  name: string;
  version: string;
  /** The device description after the pointer, already XML-escaped; undefined for apps without one. */
  deviceTail?: string;
  /** Share of samples that carry the device attribute. */
  deviceRate: number;
}

const YEAR0 = 2014;

function yearOf(ctx: DayCtx): number {
  const d = new Date(ctx.day * 86400000);
  // Major OS versions ship in September.
  return d.getUTCFullYear() + (d.getUTCMonth() >= 8 ? 1 : 0);
}

function watchOs(ctx: DayCtx): string {
  const major = Math.max(4, yearOf(ctx) - YEAR0);
  return `${major}.${Math.floor(ctx.day / 73) % 5}`;
}

function iOs(ctx: DayCtx): string {
  const major = Math.max(11, yearOf(ctx) - YEAR0 + 7);
  return `${major}.${Math.floor(ctx.day / 91) % 4}.1`;
}

export function watch(ctx: DayCtx): Source {
  const w = ctx.w;
  const version = watchOs(ctx);
  const hardware = yearOf(ctx) >= 2022 ? 'Watch6,2' : 'Watch4,2';
  const manufacturer = yearOf(ctx) >= 2019 ? 'Apple Inc.' : 'Apple';
  // The emoji-named watch (opendroid's real sample) owns the first tenth of the span.
  const name = w.quirkyNames && ctx.index < Math.ceil(w.days / 10) ? '🕛🕐🕑🕒' : `${w.owner}’s Apple Watch`;
  return {
    name,
    version,
    deviceTail: `, name:Apple Watch, manufacturer:${manufacturer}, model:Watch, hardware:${hardware}, software:${version}&gt;`,
    deviceRate: 0.96,
  };
}

export function phone(ctx: DayCtx): Source {
  const version = iOs(ctx);
  return {
    name: `${ctx.w.owner}’s iPhone`,
    version,
    deviceTail: `, name:iPhone, manufacturer:Apple Inc., model:iPhone, hardware:iPhone14,5, software:${version}, creation date:2023-09-19 06:12:44 +0000&gt;`,
    deviceRate: 0.94,
  };
}

export function app(name: string, version: string): Source {
  return { name, version, deviceRate: 0 };
}

export function deviceAttr(src: Source, rng: Rng): string {
  if (src.deviceTail === undefined || !rng.chance(src.deviceRate)) return '';
  return ` device="&lt;&lt;HKDevice: 0x${rng.hex(9)}&gt;${src.deviceTail}"`;
}
