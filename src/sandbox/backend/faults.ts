/** Which requests a fault applies to; unset fields match anything. */
export interface FaultMatch {
  method?: string;
  /** The full path, e.g. `/api/v1/users`; a string must match exactly. */
  path?: string | RegExp;
}

export interface FaultResponse {
  status: number;
  /** An object is sent as JSON; a string as-is. Defaults to `{"detail": <reason phrase>}`. */
  body?: unknown;
  headers?: Record<string, string>;
}

interface Counted<T> {
  remaining: number;
  match: FaultMatch | undefined;
  value: T;
}

/** What the server should do with one request before (or instead of) routing it. */
export type FaultDecision =
  | { kind: 'stall' }
  | { kind: 'drop'; afterBytes: number }
  | { kind: 'respond'; response: FaultResponse }
  | { kind: 'pass'; delayMs: number };

function matches(match: FaultMatch | undefined, method: string, path: string): boolean {
  if (!match) return true;
  if (match.method && match.method.toUpperCase() !== method.toUpperCase()) return false;
  if (match.path === undefined) return true;
  return typeof match.path === 'string' ? match.path === path : match.path.test(path);
}

/** Scripted misbehaviour for the next matching requests; unmatched requests behave normally. */
export class FaultInjector {
  private responses: Counted<FaultResponse>[] = [];
  private drops: Counted<{ afterBytes: number }>[] = [];
  private delays: { ms: number; match: FaultMatch | undefined }[] = [];
  private stalls: (FaultMatch | undefined)[] = [];

  /** The next `n` matching requests get `response` instead of being handled. */
  next(n: number, response: FaultResponse, match?: FaultMatch): this {
    this.responses.push({ remaining: n, match, value: response });
    return this;
  }

  /** Every matching request waits `ms` before being handled, until `clear()`. */
  delay(ms: number, match?: FaultMatch): this {
    this.delays.push({ ms, match });
    return this;
  }

  /** The next `n` matching requests have their socket destroyed, optionally after reading `afterBytes` of body. */
  drop(n: number, match?: FaultMatch, opts: { afterBytes?: number } = {}): this {
    this.drops.push({ remaining: n, match, value: { afterBytes: opts.afterBytes ?? 0 } });
    return this;
  }

  /** Matching requests are never answered (until `clear()` or the server closes). */
  stall(match?: FaultMatch): this {
    this.stalls.push(match);
    return this;
  }

  clear(): void {
    this.responses = [];
    this.drops = [];
    this.delays = [];
    this.stalls = [];
  }

  /** Decides (and consumes counted faults) for one request. */
  decide(method: string, path: string): FaultDecision {
    if (this.stalls.some((m) => matches(m, method, path))) return { kind: 'stall' };
    const drop = this.drops.find((d) => d.remaining > 0 && matches(d.match, method, path));
    if (drop) {
      drop.remaining--;
      return { kind: 'drop', afterBytes: drop.value.afterBytes };
    }
    const response = this.responses.find((r) => r.remaining > 0 && matches(r.match, method, path));
    if (response) {
      response.remaining--;
      return { kind: 'respond', response: response.value };
    }
    const delayMs = this.delays
      .filter((d) => matches(d.match, method, path))
      .reduce((sum, d) => sum + d.ms, 0);
    return { kind: 'pass', delayMs };
  }
}
