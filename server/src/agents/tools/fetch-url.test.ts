import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ToolRefusal } from '../tool';
import { fetchPublicUrl, type ResolveHost } from './fetch-url';
import { isPublicAddress } from './public-address';

/** A server on a loopback address that records every request it gets. */
async function startRecorder(host: string, handle?: (req: IncomingMessage, res: ServerResponse) => void) {
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    if (handle) return handle(req, res);
    res.writeHead(200, { 'content-type': 'text/plain' }).end('secret internal data');
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const port = (server.address() as AddressInfo).port;
  return { requests, port, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

let recorder: Awaited<ReturnType<typeof startRecorder>>;
let loopback: Awaited<ReturnType<typeof startRecorder>>;
let allowed: Awaited<ReturnType<typeof startRecorder>>;

/** Test DNS: names that resolve to loopback, and one with a public and an internal address. */
const resolve: ResolveHost = async (hostname) => {
  const table: Record<string, Array<{ address: string; family: number }>> = {
    'internal.test': [{ address: '127.0.0.2', family: 4 }],
    'mixed.test': [
      { address: '93.184.216.34', family: 4 },
      { address: '127.0.0.2', family: 4 },
    ],
    'mapped.test': [{ address: '::ffff:127.0.0.2', family: 6 }],
    localhost: [{ address: '127.0.0.1', family: 4 }],
  };
  const found = table[hostname];
  if (!found) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
  return found;
};

beforeAll(async () => {
  recorder = await startRecorder('127.0.0.2');
  loopback = await startRecorder('127.0.0.1');
  // An allow-listed host on 127.0.0.3: pages, a redirect to the recorder, a large body, a stall, an image.
  allowed = await startRecorder('127.0.0.3', (req, res) => {
    if (req.url === '/page')
      return res
        .writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
        .end(
          '<html><head><title>Rates</title><script>steal()</script><style>p{}</style></head><body><h1>Yields</h1><p>The 10-year rose.</p><ul><li>One</li><li>Two</li></ul></body></html>',
        );
    if (req.url === '/to-recorder') return res.writeHead(302, { location: `http://127.0.0.2:${recorder.port}/?q=leak` }).end();
    if (req.url === '/to-localhost') return res.writeHead(301, { location: `http://localhost:${loopback.port}/` }).end();
    if (req.url === '/to-decimal') return res.writeHead(307, { location: `http://2130706434:${recorder.port}/` }).end();
    if (req.url === '/big') return res.writeHead(200, { 'content-type': 'text/plain' }).end('x'.repeat(50_000));
    if (req.url === '/image') return res.writeHead(200, { 'content-type': 'image/png' }).end(Buffer.alloc(10));
    if (req.url === '/stall') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('start');
      return;
    }
    res.writeHead(404).end();
  });
});
afterAll(async () => {
  await Promise.all([recorder.close(), loopback.close(), allowed.close()]);
});

const caps = { maxBytes: 10_000, timeoutMs: 1500, maxRedirects: 3, maxChars: 5000 };
const fetchIt = (url: string, allowHosts: string[] = []) =>
  fetchPublicUrl(url, { allowHosts, signal: new AbortController().signal, caps, resolve });

async function refusal(url: string, allowHosts: string[] = []): Promise<string> {
  try {
    await fetchIt(url, allowHosts);
  } catch (error) {
    expect(ToolRefusal.isInstance(error), `${url}: ${(error as Error).message}`).toBe(true);
    return (error as Error).message;
  }
  throw new Error(`${url} was fetched`);
}

describe('fetch_url refuses internal addresses in every encoding', () => {
  const P = () => recorder.port;
  const table: Array<[string, () => string]> = [
    ['dotted quad', () => `http://127.0.0.2:${P()}/`],
    ['decimal', () => `http://2130706434:${P()}/`],
    ['hex', () => `http://0x7f000002:${P()}/`],
    ['hex per byte', () => `http://0x7f.0x0.0x0.0x2:${P()}/`],
    ['octal', () => `http://0177.0.0.02:${P()}/`],
    ['octal whole', () => `http://017700000002:${P()}/`],
    ['short form', () => `http://127.2:${P()}/`],
    ['mixed short hex', () => `http://0x7f.2:${P()}/`],
    ['leading zeros', () => `http://127.000.000.002:${P()}/`],
    ['full-width digits', () => `http://１２７.０.０.２:${P()}/`],
    ['IPv4-mapped IPv6', () => `http://[::ffff:127.0.0.2]:${P()}/`],
    ['IPv4-mapped IPv6 in hex', () => `http://[::ffff:7f00:2]:${P()}/`],
    ['IPv4-mapped IPv6 long form', () => `http://[0:0:0:0:0:ffff:127.0.0.2]:${P()}/`],
    ['IPv4-compatible IPv6', () => `http://[::127.0.0.2]:${P()}/`],
    ['NAT64 IPv6', () => `http://[64:ff9b::7f00:2]:${P()}/`],
    ['6to4 IPv6', () => `http://[2002:7f00:2::]:${P()}/`],
    ['IPv6 loopback', () => `http://[::1]:${P()}/`],
    ['unspecified (connects to this host)', () => `http://0.0.0.0:${P()}/`],
    ['zero', () => `http://0:${P()}/`],
    ['private 10/8', () => 'http://10.0.0.1/'],
    ['private 172.16/12', () => 'http://172.16.0.1/'],
    ['private 192.168/16', () => 'http://192.168.1.1/'],
    ['link-local (cloud metadata)', () => 'http://169.254.169.254/latest/meta-data/'],
    ['carrier-grade NAT', () => 'http://100.64.0.1/'],
    ['multicast', () => 'http://224.0.0.1/'],
    ['broadcast', () => 'http://255.255.255.255/'],
    ['IPv6 link-local', () => 'http://[fe80::1]/'],
    ['IPv6 unique-local', () => 'http://[fd00::1]/'],
    ['IPv6 multicast', () => 'http://[ff02::1]/'],
    ['a name resolving to loopback', () => `http://internal.test:${P()}/`],
    ['a name with one internal address among public ones', () => `http://mixed.test:${P()}/`],
    ['a name resolving to IPv4-mapped loopback', () => `http://mapped.test:${P()}/`],
    ['localhost', () => `http://localhost:${loopback.port}/`],
    ['a redirect to the recorder', () => `http://127.0.0.3:${allowed.port}/to-recorder`],
    ['a redirect to localhost', () => `http://127.0.0.3:${allowed.port}/to-localhost`],
    ['a redirect to a decimal address', () => `http://127.0.0.3:${allowed.port}/to-decimal`],
  ];
  for (const [name, url] of table) {
    it(name, async () => {
      const message = await refusal(url(), [`127.0.0.3:${allowed.port}`]);
      expect(message).toMatch(/internal|private|loopback/);
    });
  }

  it('refuses other schemes and credentials', async () => {
    expect(await refusal('file:///etc/passwd')).toMatch(/Only http and https/);
    expect(await refusal('gopher://127.0.0.2:70/')).toMatch(/Only http and https/);
    expect(await refusal('http://user:pw@example.com/')).toMatch(/credentials/);
  });

  it('the recorders on loopback got nothing', () => {
    expect(recorder.requests).toEqual([]);
    expect(loopback.requests).toEqual([]);
  });
});

describe('fetch_url on a host the admin allowed', () => {
  const host = () => `127.0.0.3:${allowed.port}`;
  it('turns HTML into text without scripts or styles', async () => {
    const page = await fetchIt(`http://${host()}/page`, [host()]);
    expect(page).toMatchObject({ status: 200, contentType: 'text/html', title: 'Rates', truncated: false });
    expect(page.text).toBe('Yields\nThe 10-year rose.\nOne\nTwo');
  });
  it('caps the size', async () => {
    const page = await fetchIt(`http://${host()}/big`, [host()]);
    expect(page.truncated).toBe(true);
    expect(page.text.length).toBe(5000);
  });
  it('refuses content types that are not text', async () => {
    expect(await refusal(`http://${host()}/image`, [host()])).toMatch(/content type image\/png/);
  });
  it('gives up on a server that stalls', async () => {
    const started = performance.now();
    expect(await refusal(`http://${host()}/stall`, [host()])).toMatch(/1500 ms|failed/);
    expect(performance.now() - started).toBeLessThan(3000);
  });
  it('is stopped by its signal', async () => {
    const stop = new AbortController();
    const pending = fetchPublicUrl(`http://${host()}/stall`, {
      allowHosts: [host()],
      signal: stop.signal,
      caps: { ...caps, timeoutMs: 10_000 },
      resolve,
    });
    setTimeout(() => stop.abort(), 100);
    await expect(pending).rejects.toThrow(/stopped/);
  });
});

describe('isPublicAddress', () => {
  it('accepts public unicast and nothing else', () => {
    expect(['93.184.216.34', '8.8.8.8', '2606:4700::6810:84e5'].every(isPublicAddress)).toBe(true);
    expect(
      ['127.0.0.1', '10.1.1.1', '::1', '::ffff:8.8.8.8', '::8.8.8.8', '64:ff9b::808:808', 'fe80::1%eth0', 'not-an-ip', '100::1'].some(
        isPublicAddress,
      ),
    ).toBe(false);
  });
});
