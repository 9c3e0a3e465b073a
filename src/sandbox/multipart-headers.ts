/** What both local servers (backend double and S3 endpoint) need to read multipart/form-data framing. */

export interface PartHead {
  name: string;
  filename: string | null;
  contentType: string | null;
}

/** The boundary of a multipart/form-data Content-Type, or null when the request is not one. */
export function formBoundary(contentType: string | undefined): string | null {
  if (!contentType || !/^\s*multipart\/form-data\b/i.test(contentType)) return null;
  const match = /;\s*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  return match?.[1] ?? match?.[2] ?? null;
}

/** Parses one part's header block (CRLF-separated) into its form name, filename and type. */
export function partHeaders(block: string): PartHead {
  let name = '';
  let filename: string | null = null;
  let contentType: string | null = null;
  for (const line of block.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const key = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (key === 'content-type') contentType = value;
    if (key !== 'content-disposition') continue;
    for (const param of value.matchAll(/;\s*([a-zA-Z*]+)=(?:"((?:[^"\\]|\\.)*)"|([^;]*))/g)) {
      const paramValue = (param[2] ?? param[3] ?? '').replace(/\\(.)/g, '$1');
      if (param[1]?.toLowerCase() === 'name') name = paramValue;
      if (param[1]?.toLowerCase() === 'filename') filename = paramValue;
    }
  }
  return { name, filename, contentType };
}
