import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { targetUrl } from '../../gateway/upstream-call';
import type { WireTarget } from '../../providers/model-connections';
import { defaultAgents } from '../../providers/openai-chat-model';

/**
 * One health check: `GET <baseURL>/models` with the target's headers and query, over the shared
 * keep-alive sockets. Resolves true for a 2xx answer within `timeoutMs`, false for anything else.
 */
export function probeEndpoint(target: WireTarget, timeoutMs: number): Promise<boolean> {
  const url = targetUrl(target, 'models');
  const secure = url.protocol === 'https:';
  const send = secure ? httpsRequest : httpRequest;
  return new Promise((resolve) => {
    let settled = false;
    const done = (healthy: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(healthy);
    };
    const req = send(url, {
      method: 'GET',
      agent: secure ? defaultAgents.https : defaultAgents.http,
      headers: { accept: 'application/json', ...target.headers },
    });
    const timer = setTimeout(() => {
      done(false);
      req.destroy();
    }, timeoutMs);
    timer.unref();
    req.on('error', () => done(false));
    req.on('response', (res) => {
      const status = res.statusCode ?? 0;
      // The body is not read, but drained so that the socket goes back to the pool.
      res.resume();
      res.on('end', () => done(status >= 200 && status < 300));
      res.on('error', () => done(false));
      res.on('close', () => done(false));
    });
    req.end();
  });
}
