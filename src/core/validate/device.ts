/**
 * The `device` attribute without its per-record `0x…` address and `creation date` (format §2.4), so one
 * watch is one source rather than one per record (open-wearables#578).
 */
export function normalizeDevice(device: string | undefined): string {
  if (device === undefined || device === '') return '';
  let d = device;
  if (d.startsWith('<<HKDevice:')) {
    const cut = d.indexOf('>, ');
    d = cut >= 0 ? d.slice(cut + 3) : d.slice(d.indexOf('>') + 1);
    if (d.endsWith('>')) d = d.slice(0, -1);
  }
  const cd = d.indexOf(', creation date:');
  if (cd >= 0) {
    const next = d.indexOf(', ', cd + 16);
    d = next >= 0 && /^, [a-z ]+:/.test(d.slice(next)) ? d.slice(0, cd) + d.slice(next) : d.slice(0, cd);
  }
  return d.trim();
}
