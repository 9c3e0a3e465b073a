/**
 * Provenance: the SDK's `SourceInfo` (contract §6.2) from a sample's `sourceName`, `sourceVersion` and
 * `device` string (`<<HKDevice: 0x…>, name:Apple Watch, manufacturer:Apple Inc., model:Watch,
 * hardware:Watch6,2, software:10.1>`, format §2.4). The backend names the data source after `name` and
 * files it under `deviceModel` (device_resolution.py), so each app and each device model gets its own
 * source, unlike the XML path's single `apple_health_xml` one (§5.7). Built once per distinct triple:
 * the JSON text is reused for every sample that shares it.
 */
import { normalizeDevice } from '../../validate/device.js';

export interface SourceInfo {
  name?: string;
  version?: string;
  deviceName?: string;
  deviceManufacturer?: string;
  deviceModel?: string;
  productType?: string;
  deviceHardwareVersion?: string;
  deviceSoftwareVersion?: string;
  operatingSystemVersion?: { majorVersion: number; minorVersion: number; patchVersion: number };
}

/** The `key:value` fields of a device string, its address and creation date left out. */
export function deviceFields(device: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  const d = normalizeDevice(device);
  if (d === '') return out;
  for (const part of d.split(', ')) {
    const colon = part.indexOf(':');
    if (colon <= 0) continue;
    out[part.slice(0, colon).trim()] = part.slice(colon + 1).trim();
  }
  return out;
}

const VERSION = /^(\d+)(?:\.(\d+))?(?:\.(\d+))?$/;

export function sourceInfo(
  sourceName: string | undefined,
  sourceVersion: string | undefined,
  device: string | undefined,
): SourceInfo {
  const s: SourceInfo = {};
  if (sourceName) s.name = sourceName;
  if (sourceVersion) s.version = sourceVersion;
  const f = deviceFields(device);
  if (f.name) s.deviceName = f.name;
  if (f.manufacturer) s.deviceManufacturer = f.manufacturer;
  if (f.model) s.deviceModel = f.model;
  if (f.hardware) {
    // HealthKit's product type is the hardware identifier (`Watch6,2`, `iPhone14,5`).
    s.productType = f.hardware;
    s.deviceHardwareVersion = f.hardware;
  }
  if (f.software) {
    s.deviceSoftwareVersion = f.software;
    const v = VERSION.exec(f.software);
    if (v)
      s.operatingSystemVersion = {
        majorVersion: Number(v[1]),
        minorVersion: Number(v[2] ?? 0),
        patchVersion: Number(v[3] ?? 0),
      };
  }
  return s;
}

const MAX_SOURCES = 4096;

/**
 * The device string past its `<<HKDevice: 0x…>, ` head: the address differs from record to record in
 * many exports (open-wearables#578), and keyed with it the cache would hold (and churn) one entry each.
 */
function withoutAddress(device: string | undefined): string {
  if (device === undefined) return '';
  if (!device.startsWith('<<HKDevice:')) return device;
  const cut = device.indexOf('>, ');
  return cut < 0 ? device : device.slice(cut + 3);
}

/**
 * The data source the backend files a sample under (`extract_device_info`, contract §6.2): its device
 * model (or product type) and its name with the fallbacks the backend takes.
 */
export function dataSourceOf(s: SourceInfo): string {
  return `${s.deviceModel ?? s.productType ?? ''}\u0000${s.name ?? s.deviceName ?? ''}`;
}

export interface CachedSource {
  /** The `source` object's JSON text. */
  json: string;
  /** dataSourceOf the source. */
  dataSource: string;
}

/** The JSON text of each distinct source, built once (an export has a handful). */
export class SourceCache {
  private readonly texts = new Map<string, CachedSource>();
  private last: { name?: string; version?: string; device?: string; cached: CachedSource } | null = null;

  get(
    sourceName: string | undefined,
    sourceVersion: string | undefined,
    device: string | undefined,
  ): CachedSource {
    // Apple writes a type's samples together, mostly from one app and device: the last one usually fits.
    const last = this.last;
    if (last !== null && last.name === sourceName && last.version === sourceVersion && last.device === device)
      return last.cached;
    const cached = this.lookup(sourceName, sourceVersion, device);
    this.last = { name: sourceName, version: sourceVersion, device, cached };
    return cached;
  }

  private lookup(
    sourceName: string | undefined,
    sourceVersion: string | undefined,
    device: string | undefined,
  ): CachedSource {
    const key = `${sourceName ?? ''}\u0000${sourceVersion ?? ''}\u0000${withoutAddress(device)}`;
    let cached = this.texts.get(key);
    if (cached === undefined) {
      const info = sourceInfo(sourceName, sourceVersion, device);
      cached = { json: JSON.stringify(info), dataSource: dataSourceOf(info) };
      // Device strings carry a per-record address in some exports: bound what is kept.
      if (this.texts.size >= MAX_SOURCES) this.texts.clear();
      this.texts.set(key, cached);
    }
    return cached;
  }
}
