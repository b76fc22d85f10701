import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A simulated rerank server speaking the wire formats of the hosted and self-hosted rerank APIs:
 *
 * - Cohere (`POST /v2/rerank`), Jina (`POST /v1/rerank`) and vLLM (`/rerank`, `/v1/rerank`,
 *   `/v2/rerank`): `{ model, query, documents, top_n }` → `{ results: [{ index, relevance_score }] }`
 *   (best first; `document` only with `return_documents`);
 * - Voyage (`POST /voyage/v1/rerank`, or any path when the body has `top_k`):
 *   `{ model, query, documents, top_k }` → `{ object: "list", data: [{ index, relevance_score }], model }`;
 * - Hugging Face TEI (`POST /tei/rerank`, or any path when the body has `texts`):
 *   `{ query, texts }` → `[{ index, score }]`.
 *
 * Its relevance is a deterministic lexical score (share of the query's content words a document
 * holds, plus a bonus for the query's word pairs it holds in order), so tests can predict the order;
 * it stands in for a cross-encoder's wire format, not for its quality.
 */

export interface RerankCall {
  path: string;
  format: 'cohere' | 'voyage' | 'tei';
  headers: IncomingMessage['headers'];
  body: Record<string, unknown>;
}

export interface SimulatedRerankServer {
  /** Base URL without a path, e.g. `http://127.0.0.1:4321`. */
  url: string;
  /** Requests received, in order. */
  calls: RerankCall[];
  /** Answer every request with this HTTP status instead (e.g. 500), until set back to undefined. */
  failWith: number | undefined;
  close(): Promise<void>;
}

const STOP = new Set(
  'a an and are as at be by did do does for from had has have how in is it its of on or that the their this to was were what when where which who why will with would'.split(
    ' ',
  ),
);
const words = (text: string) => (text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []).filter((w) => !STOP.has(w));

/** The simulated relevance of `document` to `query`, in [0, 1.5]. */
export function simulatedRelevance(query: string, document: string): number {
  const q = words(query);
  if (q.length === 0) return 0;
  const d = words(document);
  const present = new Set(d);
  const distinct = [...new Set(q)];
  const coverage = distinct.filter((w) => present.has(w)).length / distinct.length;
  const pairs = new Set(d.slice(1).map((w, i) => `${d[i]} ${w}`));
  const queryPairs = q.slice(1).map((w, i) => `${q[i]} ${w}`);
  const ordered = queryPairs.length ? queryPairs.filter((p) => pairs.has(p)).length / queryPairs.length : 0;
  return Math.round((coverage + 0.5 * ordered) * 1e6) / 1e6;
}

async function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
}

export async function startSimulatedRerankServer(): Promise<SimulatedRerankServer> {
  const state: SimulatedRerankServer = {
    url: '',
    calls: [],
    failWith: undefined,
    close: async () => {},
  };
  const server: Server = createServer(async (req, res) => {
    const path = (req.url ?? '/').split('?')[0] as string;
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method !== 'POST' || !/\/rerank$/.test(path)) return send(404, { error: { message: `no route ${req.method} ${path}` } });
    let body: Record<string, unknown>;
    try {
      body = await readBody(req);
    } catch {
      return send(400, { error: { message: 'the body is not JSON' } });
    }
    const format: RerankCall['format'] =
      path.startsWith('/tei/') || Array.isArray(body.texts) ? 'tei' : path.startsWith('/voyage/') || 'top_k' in body ? 'voyage' : 'cohere';
    state.calls.push({ path, format, headers: req.headers, body });
    if (state.failWith) return send(state.failWith, { message: 'simulated failure' });
    const query = body.query;
    const documents = format === 'tei' ? body.texts : body.documents;
    if (
      typeof query !== 'string' ||
      !Array.isArray(documents) ||
      documents.some((d) => typeof d !== 'string' && typeof d?.text !== 'string')
    )
      return send(422, { message: 'query (a string) and documents (strings) are required' });
    if (format !== 'tei' && typeof body.model !== 'string') return send(422, { message: 'model is required' });
    const texts = (documents as Array<string | { text: string }>).map((d) => (typeof d === 'string' ? d : d.text));
    const limit = Number(body.top_n ?? body.top_k ?? texts.length);
    const ranked = texts
      .map((text, index) => ({ index, score: simulatedRelevance(query, text) }))
      .sort((a, b) => b.score - a.score || a.index - b.index)
      .slice(0, limit);
    if (format === 'tei')
      return send(
        200,
        ranked.map((r) => ({ index: r.index, score: r.score })),
      );
    if (format === 'voyage')
      return send(200, {
        object: 'list',
        data: ranked.map((r) => ({ index: r.index, relevance_score: r.score })),
        model: body.model,
        usage: { total_tokens: texts.join(' ').length },
      });
    return send(200, {
      id: `rerank-${state.calls.length}`,
      results: ranked.map((r) => ({
        index: r.index,
        relevance_score: r.score,
        ...(body.return_documents ? { document: { text: texts[r.index] } } : {}),
      })),
      meta: { billed_units: { search_units: 1 } },
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return state;
}
