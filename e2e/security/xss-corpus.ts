import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** An HTTP server on 127.0.0.2 that counts every request: any hit means a payload ran or loaded. */
export interface Recorder {
  /** `http://127.0.0.2:PORT` */
  origin: string;
  /** Paths (with query) of the requests received, in order. */
  hits: string[];
  close(): Promise<void>;
}

export async function startRecorder(): Promise<Recorder> {
  const hits: string[] = [];
  const server: Server = createServer((req, res) => {
    hits.push(req.url ?? '');
    res.writeHead(200, { 'content-type': 'image/gif', 'access-control-allow-origin': '*', 'cache-control': 'no-store' });
    res.end(Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.2', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.2:${port}`,
    hits,
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * Stored-XSS payloads, each of which reaches `${origin}/hit?p=N` if it runs or loads anything:
 * tags with handlers, script in SVG and MathML, iframes, `javascript:` and `data:` URLs in HTML
 * and markdown, remote images and styles, attribute break-outs, entity-encoded and Unicode variants.
 */
export function xssPayloads(origin: string): string[] {
  const url = (n: number) => `${origin}/hit?p=${n}`;
  const js = (n: number) => `fetch('${url(n)}')`;
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const entities = (s: string) => [...s].map((c) => `&#${c.charCodeAt(0)};`).join('');
  const build: Array<(n: number) => string> = [
    (n) => `<script>${js(n)}</script>`,
    (n) => `<img src=x onerror="${js(n)}">`,
    (n) => `<img src="${url(n)}">`,
    (n) => `<svg onload="${js(n)}"></svg>`,
    (n) => `<svg><script>${js(n)}</script></svg>`,
    (n) => `<iframe srcdoc="<script>${js(n)}</script>"></iframe>`,
    (n) => `<iframe src="${url(n)}"></iframe>`,
    (n) => `"><script>${js(n)}</script>`,
    (n) => `'><img src=x onerror=${js(n)}>`,
    (n) => `[click me](javascript:${js(n)})`,
    (n) => `![pixel](${url(n)})`,
    (n) => `![pixel][r${n}]\n\n[r${n}]: ${url(n)}`,
    (n) => `<a href="javascript:${js(n)}">link</a>`,
    (n) => `<style>@import '${url(n)}';</style>`,
    (n) => `<div style="background-image:url(${url(n)})">styled</div>`,
    (n) => `&lt;script&gt;${js(n)}&lt;/script&gt;`,
    (n) => `&#60;img src=x onerror=${js(n)}&#62;`,
    (n) => `<img src=x onerror="${entities(js(n))}">`,
    (n) => `[data link](data:text/html;base64,${b64(`<script>${js(n)}</script>`)})`,
    (n) => `<object data="${url(n)}"></object>`,
    (n) => `<embed src="${url(n)}">`,
    (n) => `<video><source onerror="${js(n)}"></video>`,
    (n) => `<details open ontoggle="${js(n)}">x</details>`,
    (n) => `<input autofocus onfocus="${js(n)}">`,
    (n) => `<math><mtext><table><mglyph><style><img src=x onerror="${js(n)}">`,
    (n) => `＜script＞${js(n)}＜/script＞`,
    (n) => `<scr\u200bipt>${js(n)}</scr\u200bipt> \u202e<img src=x onerror="${js(n)}">`,
    (n) => `<link rel="stylesheet" href="${url(n)}">`,
    (n) => `<meta http-equiv="refresh" content="0;url=${url(n)}">`,
    (n) => `<img srcset="${url(n)} 1x">`,
    (n) => `<a href="jav&#x09;ascript:${js(n)}">tabbed</a>`,
    (n) => `<base href="${origin}/hit?p=${n}&base=">`,
    (n) => `{{constructor.constructor("${js(n).replaceAll("'", '\\x27')}")()}}`,
    (n) => `<${url(n)}> and [ref](${url(n)})`,
    (n) => `\`\`\`html\n<img src=x onerror="${js(n)}">\n\`\`\``,
  ];
  return build.map((make, n) => make(n));
}
