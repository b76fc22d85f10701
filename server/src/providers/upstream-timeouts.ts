import type { ClientRequest, IncomingMessage } from 'node:http';
import type { UpstreamTimeouts } from './model-connections';

/** A time limit of an upstream call ran out; `name` is `TimeoutError`, as the classifier reads it. */
export class UpstreamTimeoutError extends Error {
  constructor(
    readonly phase: 'connect' | 'first byte' | 'idle',
    ms: number,
  ) {
    super(
      phase === 'connect'
        ? `The model provider could not be connected to within ${ms} ms`
        : phase === 'first byte'
          ? `The model provider did not start answering within ${ms} ms`
          : `The model provider sent nothing for ${ms} ms`,
    );
    this.name = 'TimeoutError';
  }
}

/**
 * Arms the connect and first-byte limits of a `node:http` request: `fail` gets an
 * `UpstreamTimeoutError` when one runs out (a socket from the keep-alive pool is connected
 * already, so only the first byte is timed). Returns what disarms them, for when the response arrives.
 */
export function limitRequest(req: ClientRequest, timeouts: UpstreamTimeouts, fail: (error: UpstreamTimeoutError) => void): () => void {
  let timer: NodeJS.Timeout | undefined;
  const firstByte = () => {
    clearTimeout(timer);
    timer = setTimeout(() => fail(new UpstreamTimeoutError('first byte', timeouts.firstByteMs)), timeouts.firstByteMs);
  };
  req.on('socket', (socket) => {
    if (socket.connecting) {
      timer = setTimeout(() => fail(new UpstreamTimeoutError('connect', timeouts.connectMs)), timeouts.connectMs);
      socket.once('connect', firstByte);
    } else firstByte();
  });
  // A request that failed or was aborted before its answer holds no timer (nor itself, through one).
  req.once('close', () => clearTimeout(timer));
  return () => clearTimeout(timer);
}

/**
 * Destroys a response with an `UpstreamTimeoutError` when no data arrives for `idleMs` while it is
 * read (one timer, pushed back on every read). A response paused because its reader is slow is not
 * timed: the silence is not the upstream's.
 */
export function limitIdle(res: IncomingMessage, idleMs: number): void {
  let idle: NodeJS.Timeout | undefined;
  const arm = () => {
    clearTimeout(idle);
    idle = undefined;
    // `resume` is told a tick after `resume()`: by then the reader may have paused again.
    if (res.isPaused()) return;
    idle = setTimeout(() => res.destroy(new UpstreamTimeoutError('idle', idleMs)), idleMs);
  };
  arm();
  res.on('data', () => idle?.refresh());
  res.on('pause', () => {
    clearTimeout(idle);
    idle = undefined;
  });
  res.on('resume', arm);
  res.once('close', () => {
    clearTimeout(idle);
    res.off('resume', arm);
  });
}

type FetchLike = typeof fetch;

const TIMEOUT_CODES: Record<string, UpstreamTimeoutError['phase']> = {
  UND_ERR_CONNECT_TIMEOUT: 'connect',
  UND_ERR_HEADERS_TIMEOUT: 'first byte',
  UND_ERR_BODY_TIMEOUT: 'idle',
};

/** The phase of an undici time limit somewhere in an error's causes. */
function timeoutPhase(error: unknown): UpstreamTimeoutError['phase'] | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && typeof current === 'object' && current !== null; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && TIMEOUT_CODES[code]) return TIMEOUT_CODES[code];
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * A `fetch` for the AI SDK's provider clients (the calls Axon translates between wire formats)
 * with a connection's three limits: undici's connect timeout, its headers timeout for the first
 * byte and its body timeout for silence mid-stream, on sockets of the connection's own. A limit
 * that runs out before the answer is an `UpstreamTimeoutError` naming it (the AI SDK passes errors
 * named `TimeoutError` on as they are); one that runs out mid-stream errors the body, and the
 * classifier names it from undici's code.
 */
export function fetchWithTimeouts(timeouts: UpstreamTimeouts, base?: FetchLike): FetchLike {
  if (base) return makeFetchWithTimeouts(timeouts, base);
  // One per set of limits: undici's Agent keeps a pool per origin, shared by every model it serves.
  const key = `${timeouts.connectMs}/${timeouts.firstByteMs}/${timeouts.idleMs}`;
  let made = shared.get(key);
  if (!made) {
    made = makeFetchWithTimeouts(timeouts);
    shared.set(key, made);
  }
  return made;
}

const shared = new Map<string, FetchLike>();

function makeFetchWithTimeouts(timeouts: UpstreamTimeouts, base?: FetchLike): FetchLike {
  const msOf = { connect: timeouts.connectMs, 'first byte': timeouts.firstByteMs, idle: timeouts.idleMs };
  // undici is loaded at the first translated call, not with every process (most calls are relayed).
  let client: Promise<(input: unknown, init: unknown) => Promise<Response>> | undefined;
  const load = async () => {
    const { Agent, fetch: undiciFetch } = await import('undici');
    const dispatcher = new Agent({
      connect: { timeout: timeouts.connectMs },
      headersTimeout: timeouts.firstByteMs,
      bodyTimeout: timeouts.idleMs,
    });
    return (input: unknown, init: unknown) =>
      undiciFetch(input as Parameters<typeof undiciFetch>[0], { ...(init as object), dispatcher }) as unknown as Promise<Response>;
  };
  return (async (input, init) => {
    try {
      // A `fetch` given in its place (a test's, a proxy's) is used as it is, without the limits.
      if (base) return await base(input, init);
      client ??= load();
      return await (await client)(input, init);
    } catch (error) {
      const phase = timeoutPhase(error);
      throw phase ? Object.assign(new UpstreamTimeoutError(phase, msOf[phase]), { cause: error }) : error;
    }
  }) as FetchLike;
}
