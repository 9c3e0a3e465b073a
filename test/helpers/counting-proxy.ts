/**
 * A pass-through HTTP proxy in front of an S3 endpoint (radosgw), given to the backend double as its public
 * endpoint so the URLs it presigns point here: it counts the requests by method and how many PUTs were in
 * flight at once, and forwards every byte and header unchanged (Host included, so signatures still match),
 * except that a PUT waits for S3's `100 Continue` before its body goes on (see forward()).
 */
import { createServer, request } from 'node:http';
import { listen } from '../../src/sandbox/listen.js';

export interface CountingProxy {
  endpoint: string;
  /** Requests seen, by method (PUT: part uploads). */
  count(method: string): number;
  /** The most PUTs in flight at one moment since the last reset. */
  maxInFlight(): number;
  reset(): void;
  /** The next `times` PUTs are answered with this instead of being forwarded (their body is read first). */
  failPuts(times: number, status: number, body: string, headers?: Record<string, string>): void;
  /** After `after` more PUTs go through, the next `times` are read but never answered (a stalled upload). */
  stallPuts(times: number, after?: number): void;
  /**
   * PUTs are held (not forwarded) until `n` of them are open at once, then all go on; a test of parallel
   * parts then does not depend on how fast the machine is. Released anyway after `timeoutMs`.
   */
  gatePuts(n: number, timeoutMs?: number): void;
  /** Drops the faults no PUT has met yet. */
  clearFaults(): void;
  close(): Promise<void>;
}

export async function startCountingProxy(target: string): Promise<CountingProxy> {
  const to = new URL(target);
  const counts = new Map<string, number>();
  let inFlight = 0;
  let max = 0;
  const faults: (
    | { kind: 'fail'; status: number; body: string; headers: Record<string, string> }
    | { kind: 'stall' }
    | { kind: 'pass' }
  )[] = [];
  let gate: { n: number; waiting: (() => void)[]; timer: NodeJS.Timeout } | null = null;
  const openGate = () => {
    if (!gate) return;
    clearTimeout(gate.timer);
    for (const go of gate.waiting) go();
    gate = null;
  };
  const server = createServer((req, res) => {
    const method = req.method ?? 'GET';
    counts.set(method, (counts.get(method) ?? 0) + 1);
    const put = method === 'PUT';
    const next = put ? faults.shift() : undefined;
    const fault = next?.kind === 'pass' ? undefined : next;
    if (fault) {
      req.resume();
      if (fault.kind === 'fail')
        req.on('end', () => {
          res.writeHead(fault.status, { 'content-type': 'application/xml', ...fault.headers });
          res.end(fault.body);
        });
      return;
    }
    if (put) max = Math.max(max, ++inFlight);
    let ended = false;
    const done = () => {
      if (put && !ended) inFlight--;
      ended = true;
    };
    const forward = () => {
      // A PUT asks S3 to say it wants the body first: S3 refusing a part early (404 NoSuchUpload) then
      // answers before any byte of it is written, so the proxy is never writing into a closed socket
      // (EPIPE), which would lose that answer.
      const headers = put ? { ...req.headers, expect: '100-continue' } : req.headers;
      let piped = false;
      const upstream = request(
        { host: to.hostname, port: to.port, method, path: req.url, headers },
        (answer) => {
          // Answered without asking for the body: it is read and dropped.
          if (!piped) req.resume();
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
          answer.on('end', done);
        },
      );
      upstream.on('error', () => {
        done();
        // S3 may answer before the body is all there (404 NoSuchUpload for a part of an aborted upload)
        // and close its side: the client still gets that answer, and the rest of its body is read and
        // dropped, as S3 itself would have it. Only a request that got no answer at all is cut off.
        if (res.headersSent) {
          req.unpipe(upstream);
          req.resume();
          return;
        }
        res.destroy();
      });
      req.on('close', () => {
        if (!req.complete) {
          done();
          upstream.destroy();
        }
      });
      const send = () => {
        piped = true;
        req.pipe(upstream);
      };
      if (put) upstream.on('continue', send);
      else send();
    };
    if (put && gate) {
      gate.waiting.push(forward);
      if (gate.waiting.length >= gate.n) openGate();
    } else forward();
  });
  const endpoint = await listen(server, 0, '127.0.0.1');
  return {
    endpoint,
    count: (m) => counts.get(m) ?? 0,
    maxInFlight: () => max,
    reset: () => {
      counts.clear();
      max = inFlight;
    },
    failPuts: (times, status, body, headers = {}) => {
      for (let i = 0; i < times; i++) faults.push({ kind: 'fail', status, body, headers });
    },
    clearFaults: () => {
      faults.length = 0;
    },
    gatePuts: (n, timeoutMs = 10_000) => {
      gate = { n, waiting: [], timer: setTimeout(openGate, timeoutMs) };
    },
    stallPuts: (times, after = 0) => {
      for (let i = 0; i < after; i++) faults.push({ kind: 'pass' });
      for (let i = 0; i < times; i++) faults.push({ kind: 'stall' });
    },
    close: () =>
      new Promise<void>((resolve) => {
        openGate();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
