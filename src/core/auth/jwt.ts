/** The claims of a JWT, read without verifying it; undefined when it is not one. */
function jwtClaims(token: string): Record<string, unknown> | undefined {
  const parts = token.split('.');
  if (parts.length !== 3 || !parts[1]) return undefined;
  try {
    const payload = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as unknown;
    return typeof payload === 'object' && payload !== null ? (payload as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Reads `exp` from a JWT without verifying it: the backend's tokens carry only `sub` and `exp` (contract §1.1). */
export function jwtExpiryMs(token: string): number | undefined {
  const exp = jwtClaims(token)?.exp;
  return typeof exp === 'number' ? exp * 1000 : undefined;
}

/** True for an SDK user token (`scope: "sdk"`, contract §1.7), which only the SDK routes take. */
export function isSdkToken(token: string): boolean {
  return jwtClaims(token)?.scope === 'sdk';
}

/** The `sub` of a JWT (for an SDK token, the user it is for). */
export function jwtSubject(token: string): string | undefined {
  const sub = jwtClaims(token)?.sub;
  return typeof sub === 'string' ? sub : undefined;
}
