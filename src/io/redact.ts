/**
 * Secrets must never reach output or logs, including with --debug. Known secrets are registered at run
 * time; shapes of the backend's secrets (contract §1.1, §1.5) are masked even when not registered.
 */
const SHAPES: RegExp[] = [
  /eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/g, // JWT
  /\bsk-[0-9a-fA-F]{8,}\b/g, // API key
  /\brt-[0-9a-fA-F]{8,}\b/g, // refresh token
  /(password=)[^&\s]+/gi,
  /(X-Amz-Signature=|"x-amz-signature":\s*"|"signature":\s*")[^"&\s]+/gi,
];

export class Redactor {
  private readonly secrets = new Set<string>();

  add(secret: string | undefined): void {
    if (secret && secret.length >= 4) this.secrets.add(secret);
  }

  redact(text: string): string {
    let out = text;
    for (const s of this.secrets) out = out.split(s).join('***');
    for (const re of SHAPES) {
      out = out.replace(re, (m, prefix?: string) =>
        typeof prefix === 'string' && m.startsWith(prefix) ? `${prefix}***` : '***',
      );
    }
    return out;
  }
}
