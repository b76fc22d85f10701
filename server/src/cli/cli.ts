import { userInfo } from 'node:os';
import { resolve } from 'node:path';
import { type ApiKeyScope, ApiKeyScopeSchema, EmailSchema, OrgSlugSchema, PasswordSchema, type Role, RoleSchema } from '@axon/contracts';
import { Command, InvalidArgumentError } from 'commander';
import { createAuthService } from '../auth/auth-service';
import { ConfigError, loadConfig } from '../config';
import { AppError } from '../errors';
import { verifyAuditChain } from '../observability/audit-chain';
import { HOME_ORG_ID, openStore, type Store } from '../store';

const ROLES_HELP = 'admin, builder, member or auditor';

const parseScopes = (value: string): ApiKeyScope[] => {
  const scopes = value.split(',').map((s) => s.trim());
  const bad = scopes.find((s) => !ApiKeyScopeSchema.safeParse(s).success);
  if (bad !== undefined || scopes.length === 0)
    throw new InvalidArgumentError(`--scopes: "${bad ?? value}" is not one of chat, embeddings, admin`);
  return [...new Set(scopes)] as ApiKeyScope[];
};

const parseCount = (flag: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${flag}: a whole number of at least 1`);
  return n;
};

const parseDays = (value: string) => {
  const match = /^(\d+)d?$/.exec(value.trim());
  const days = match ? Number(match[1]) : Number.NaN;
  if (!(days >= 1 && days <= 3650)) throw new InvalidArgumentError('--expires: a number of days from 1 to 3650, like 30d');
  return days;
};

/** Events from the command line: the operator at the machine, not a signed-in user. */
const CLI_ACTOR = { actorEmail: `cli:${userInfo().username}`, ip: 'local' };

function parseWith<T>(
  schema: { safeParse(v: unknown): { success: true; data: T } | { success: false; error: { issues: Array<{ message: string }> } } },
  what: string,
) {
  return (value: string): T => {
    const result = schema.safeParse(value);
    if (!result.success) throw new InvalidArgumentError(`${what}: ${result.error.issues[0]?.message ?? 'invalid'}`);
    return result.data;
  };
}

async function withStore<T>(run: (store: Store) => Promise<T>): Promise<T> {
  const config = loadConfig({ env: process.env });
  const store = await openStore(config);
  try {
    return await run(store);
  } finally {
    await store.close();
  }
}

/** The organisation a `--org SLUG` names; the first organisation without one. */
async function orgIdOf(store: Store, slug: string | undefined): Promise<string> {
  if (!slug) return HOME_ORG_ID;
  const org = await store.organizations.findBySlug(slug);
  if (!org) throw new AppError('not_found', { detail: `no organisation "${slug}" (axon org list)` });
  return org.id;
}

function table(rows: Array<Record<string, unknown>>): string {
  if (rows.length === 0) return '(none)';
  const columns = Object.keys(rows[0] as object);
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => cell.padEnd(widths[i] as number))
      .join('  ')
      .trimEnd();
  return [line(columns), ...rows.map((r) => line(columns.map((c) => String(r[c] ?? ''))))].join('\n');
}

/** The `axon` command line. Reads the same configuration as the server. */
export function buildCli(): Command {
  const program = new Command('axon').description('Axon: self-hostable GenAI platform').showHelpAfterError();

  program
    .command('serve')
    .description('start the web app and API')
    .option('-p, --port <port>', 'port to listen on (PORT)')
    .option('--host <host>', 'interface to bind (HOST)')
    .action(async (opts: { port?: string; host?: string }) => {
      // Commands load what they need when they run, so that short ones start fast.
      const { serve } = await import('../main');
      await serve({ ...(opts.port ? { port: opts.port } : {}), ...(opts.host ? { host: opts.host } : {}) });
    });

  program
    .command('migrate')
    .description('create or upgrade the database schema')
    .action(async () => {
      // On PostgreSQL, under the same advisory lock the servers take: run it as a Job before a rollout.
      const config = loadConfig({ env: process.env });
      const store = await openStore(config);
      const { applied, skipped } = store.migration;
      console.log(
        applied.length ? `applied migrations (${store.engine}): ${applied.join(', ')}` : `the ${store.engine} schema is up to date`,
      );
      if (skipped.length) console.log(`left out (an extension is missing): ${skipped.join(', ')}`);
      await store.close();
    });

  const user = program.command('user').description('manage accounts');
  user
    .command('create')
    .requiredOption('--email <email>', 'email address', parseWith(EmailSchema, '--email'))
    .requiredOption('--password <password>', 'password (10+ characters)', parseWith(PasswordSchema, '--password'))
    .option('--role <role>', ROLES_HELP, parseWith(RoleSchema, '--role'), 'member')
    .option('--org <slug>', 'organisation (default: the first)', parseWith(OrgSlugSchema, '--org'))
    .action(async (opts: { email: string; password: string; role: Role; org?: string }) => {
      await withStore(async (store) => {
        const orgId = await orgIdOf(store, opts.org);
        const created = await createAuthService({ store, sessionTtlMs: 0 }).createUser({ ...opts, orgId });
        await store.audit.append({
          ...CLI_ACTOR,
          action: 'user.created',
          target: `user:${created.id}`,
          orgId,
          details: { email: created.email, role: created.role },
        });
        console.log(`created ${created.role} ${created.email} (${created.id})`);
      });
    });
  user
    .command('list')
    .option('--org <slug>', 'organisation (default: the first)', parseWith(OrgSlugSchema, '--org'))
    .action(async (opts: { org?: string }) => {
      await withStore(async (store) =>
        console.log(
          table(
            (await store.users.list(await orgIdOf(store, opts.org))).map(({ id, email, role, createdAt }) => ({
              id,
              email,
              role,
              created: createdAt,
            })),
          ),
        ),
      );
    });

  const org = program.command('org').description('manage organisations (tenants)');
  org
    .command('create')
    .requiredOption('--slug <slug>', 'short name: lower-case letters, digits and -', parseWith(OrgSlugSchema, '--slug'))
    .requiredOption('--name <name>', 'display name')
    .action(async (opts: { slug: string; name: string }) => {
      await withStore(async (store) => {
        const created = await store.organizations.create({ slug: opts.slug, name: opts.name, limits: {}, promptLogMode: null });
        await store.audit.append({ ...CLI_ACTOR, action: 'org.created', target: `org:${created.id}`, details: { slug: created.slug } });
        console.log(`created organisation ${created.slug} (${created.id})`);
      });
    });
  org.command('list').action(async () => {
    await withStore(async (store) =>
      console.log(
        table(
          (await store.organizations.list()).map((o) => ({ slug: o.slug, name: o.name, users: o.users, limits: JSON.stringify(o.limits) })),
        ),
      ),
    );
  });
  user
    .command('set-role')
    .requiredOption('--email <email>', 'email address', parseWith(EmailSchema, '--email'))
    .requiredOption('--role <role>', ROLES_HELP, parseWith(RoleSchema, '--role'))
    .action(async (opts: { email: string; role: Role }) => {
      await withStore(async (store) => {
        const found = await store.users.findByEmail(opts.email);
        if (!found) throw new AppError('not_found', { detail: `no account for ${opts.email}` });
        await store.users.setRole(found.id, opts.role);
        await store.audit.append({
          ...CLI_ACTOR,
          action: 'user.role_changed',
          target: `user:${found.id}`,
          details: { email: found.email, from: found.role, to: opts.role },
        });
        console.log(`${opts.email} is now ${opts.role}`);
      });
    });

  program
    .command('ingest')
    .description('add files and folders to a collection and index them (works while the server runs)')
    .argument('<paths...>', 'files or folders')
    .requiredOption('--collection <name>', 'collection name (created if missing)')
    .option('--user <email>', 'owner of the collection (default: the first admin)', parseWith(EmailSchema, '--user'))
    .action(async (paths: string[], opts: { collection: string; user?: string }) => {
      const config = loadConfig({ env: process.env });
      await withStore(async (store) => {
        const { runIngest } = await import('./ingest-command');
        const failed = await runIngest(config, store, paths, opts);
        if (failed > 0) process.exitCode = 1;
      });
    });

  const demo = program.command('demo').description('set up a demo from the data in ../shared/data');
  demo
    .command('finance')
    .description('the treasury_yields dataset, the FOMC collection and the agent `finance` (agent/finance); safe to run again')
    .option('--user <email>', 'owner of the collection and the agent (default: the first admin)', parseWith(EmailSchema, '--user'))
    .option('--data <dir>', 'the shared data folder (default: ../shared/data)')
    .action(async (opts: { user?: string; data?: string }) => {
      const config = loadConfig({ env: process.env });
      await withStore(async (store) => {
        const { runFinanceDemo } = await import('../agents/finance/demo-finance');
        await runFinanceDemo(config, store, { user: opts.user, dataDir: opts.data });
      });
    });

  const evaluate = program.command('eval').description('measure quality');
  evaluate
    .command('retrieval')
    .description(
      'index test collections into a temporary store and report recall@k, MRR@10 and nDCG@10 for Axon (and with the configured reranker) beside the peer BM25 (wink-bm25-text-search); by default Cranfield and MEDLINE from the shared data, each also with long queries',
    )
    .option('--data <dir>', 'the shared data folder (holding cranfield/ and medline/); default ../shared/data')
    .option('--corpus <path>', 'instead: one collection, corpus.jsonl or the folder holding it')
    .option('--queries <file>', 'with --corpus: queries.jsonl')
    .option('--qrels <file>', 'with --corpus: qrels TSV (query-id, corpus-id, score; with a header)')
    .option('--k <n>', 'cut-off for recall', (v) => Number.parseInt(v, 10), 10)
    .option('--no-long', 'leave out the long-query (query by document) runs')
    .option('--no-peer', 'leave out the peer BM25')
    .option(
      '--store <engine>',
      'where to index and search: sqlite (in-memory indexes, as the server), sqlite-fts (FTS5 and sqlite-vec) or postgres (a temporary database on --database-url)',
      'sqlite',
    )
    .option('--database-url <url>', 'with --store postgres: the PostgreSQL server (default AXON_DATABASE_URL)')
    .option('--json', 'print JSON instead of tables')
    .action(
      async (opts: {
        data?: string;
        corpus?: string;
        queries?: string;
        qrels?: string;
        k: number;
        long: boolean;
        peer: boolean;
        store: string;
        databaseUrl?: string;
        json?: boolean;
      }) => {
        if (!['sqlite', 'sqlite-fts', 'postgres'].includes(opts.store))
          throw new InvalidArgumentError('--store: sqlite, sqlite-fts or postgres');
        const config = loadConfig({ env: process.env });
        const { existsSync } = await import('node:fs');
        const { join } = await import('node:path');
        const { openEvaluationStore } = await import('../rag/eval/evaluation-store');
        const { readBeir } = await import('../rag/eval/evaluate-retrieval');
        const { evaluateRetrievalSuite, readBeirFolder, SUITE_COLLECTIONS } = await import('../rag/eval/retrieval-suite');
        const { createEmbedderFromConfig } = await import('../rag/embed/create-embedder');
        const { createRerankerFromConfig } = await import('../rag/search/rerank');
        let collections: Array<{ name: string; beir: Awaited<ReturnType<typeof readBeir>> }>;
        if (opts.corpus) {
          if (!opts.queries || !opts.qrels) throw new InvalidArgumentError('--corpus needs --queries and --qrels');
          collections = [{ name: opts.corpus, beir: await readBeir({ corpus: opts.corpus, queries: opts.queries, qrels: opts.qrels }) }];
        } else {
          const data = resolve(
            opts.data ?? [resolve('../shared/data'), resolve('../../shared/data')].find((d) => existsSync(d)) ?? '../shared/data',
          );
          collections = [];
          for (const c of SUITE_COLLECTIONS) collections.push({ name: c.name, beir: await readBeirFolder(join(data, c.folder)) });
        }
        const embedder = createEmbedderFromConfig(config);
        const reranker = createRerankerFromConfig(config);
        const evaluation = await openEvaluationStore(opts.store as 'sqlite' | 'sqlite-fts' | 'postgres', {
          databaseUrl: opts.databaseUrl ?? config.databaseUrl,
        });
        const store = evaluation.store;
        try {
          const owner = await store.users.create({ email: 'eval@localhost', passwordHash: null, role: 'admin', orgId: HOME_ORG_ID });
          if (!opts.json)
            console.log(
              `store: ${evaluation.description}; embedder: ${embedder?.model ?? 'none (full-text only)'}; reranker: ${reranker ? `${reranker.model} (top ${reranker.candidates})` : 'none'}; peer: ${opts.peer ? 'wink-bm25-text-search (stemmed, stop-words out, k1 1.2, b 0.75)' : 'none'}`,
            );
          const results = await evaluateRetrievalSuite(store, owner.id, collections, {
            embedder,
            reranker,
            chunkTokens: config.rag.chunkTokens,
            k: opts.k,
            peer: opts.peer,
            longQueries: opts.long,
            onResult: (result) => {
              if (opts.json) return;
              const peer = result.scores.find((s) => s.mode === 'peer-bm25');
              console.log(`\n${result.collection}: ${result.documents} documents, ${result.queries} queries`);
              console.log(
                table(
                  result.scores.map((s) => ({
                    ranking: s.mode,
                    [`recall@${opts.k}`]: s.recall.toFixed(3),
                    'MRR@10': s.mrr10.toFixed(3),
                    'nDCG@10': s.ndcg10.toFixed(3),
                    'nDCG vs peer': peer && s.mode !== 'peer-bm25' && peer.ndcg10 > 0 ? `${(s.ndcg10 / peer.ndcg10).toFixed(3)}×` : '',
                    'p50 ms': s.p50Ms.toFixed(2),
                  })),
                ),
              );
            },
          });
          if (opts.json)
            console.log(
              JSON.stringify(
                { k: opts.k, store: evaluation.description, embedder: embedder?.model ?? null, reranker: reranker?.model ?? null, results },
                null,
                2,
              ),
            );
        } finally {
          await evaluation.close();
        }
      },
    );

  evaluate
    .command('answers')
    .description(
      'ask a set of questions through the full chat path (retrieval, grounded prompt, model, citations) of a temporary server and report answer found, citation valid and both',
    )
    .option('--questions <file>', 'the question set (JSON: collections and questions)', 'server/src/rag/eval/fomc-questions.json')
    .option('--data <dir>', "the folder holding the set's collection folders; default ../shared/data")
    .option('--model <id>', 'the model answering', 'local/extractive')
    .option('--failures <n>', 'how many failed questions to print', parseCount('--failures'), 10)
    .option('--json', 'print JSON instead of tables')
    .action(async (opts: { questions: string; data?: string; model: string; failures: number; json?: boolean }) => {
      const { mkdtempSync, rmSync, existsSync } = await import('node:fs');
      const { tmpdir } = await import('node:os');
      const { join } = await import('node:path');
      const { readAnswerSet, runAnswerEvaluation } = await import('../rag/eval/evaluate-answers');
      const { createServer } = await import('../server');
      const { createLogger } = await import('../observability/logger');
      const questionsFile = [resolve(opts.questions), resolve('..', opts.questions)].find((f) => existsSync(f)) ?? resolve(opts.questions);
      const set = await readAnswerSet(questionsFile);
      const data = resolve(
        opts.data ?? [resolve('../shared/data'), resolve('../../shared/data')].find((d) => existsSync(d)) ?? '../shared/data',
      );
      const dataDir = mkdtempSync(join(tmpdir(), 'axon-eval-answers-'));
      const base = loadConfig({ env: process.env });
      const config = loadConfig({
        env: process.env,
        overrides: {
          port: 0,
          host: '127.0.0.1',
          dataDir,
          webDir: join(dataDir, 'no-web'),
          localModel: { ...base.localModel, enabled: true, wordDelayMs: 0 },
          limits: { ...base.limits, userRpm: 0 },
        },
      });
      const server = await createServer(config, { logger: createLogger({ level: 'warn' }) });
      try {
        const url = await server.listen();
        const report = await runAnswerEvaluation({
          baseUrl: url,
          account: { email: 'eval@localhost.localdomain', password: 'evaluation password 1', setup: true },
          set,
          dataDir: data,
          model: opts.model,
          indexed: () => server.ingestion.idle(),
        });
        if (opts.json) return console.log(JSON.stringify(report, null, 2));
        const pct = (n: number, of: number) => `${n}/${of} (${((100 * n) / Math.max(1, of)).toFixed(0)}%)`;
        console.log(`${report.questions} questions from ${questionsFile}; model ${report.model}\n`);
        console.log(
          table([
            ...Object.entries(report.byKind).map(([kind, r]) => ({
              questions: kind,
              n: r.questions,
              'answer found': pct(r.answerFound, r.questions),
              'citation valid': pct(r.citationValid, r.questions),
              both: pct(r.both, r.questions),
            })),
            {
              questions: 'all',
              n: report.questions,
              'answer found': pct(report.answerFound, report.questions),
              'citation valid': pct(report.citationValid, report.questions),
              both: pct(report.both, report.questions),
            },
          ]),
        );
        console.log(`\nan expected source among the passages retrieved: ${pct(report.sourceRetrieved, report.questions)}`);
        const failed = report.results.filter((r) => !r.answerFound || !r.citationValid).slice(0, opts.failures);
        for (const r of failed)
          console.log(
            `\n✗ ${r.id}: ${r.question}\n  answer ${r.answerFound ? 'found' : 'not found'}, cited ${r.cited.join(', ') || 'nothing'}\n  ${r.answer.replace(/\s+/g, ' ').slice(0, 300)}`,
          );
      } finally {
        await server.shutdown();
        rmSync(dataDir, { recursive: true, force: true });
      }
    });

  evaluate
    .command('redaction')
    .description(
      'precision, recall and F2 of PII and secret redaction per entity type, on the built-in sets or on a labelled set of your own (--dataset)',
    )
    .option('--dataset <file>', "a JSON labelled set: Presidio's format ({ full_text, spans }), marked texts or { text, spans }")
    .option('--types <list>', 'comma-separated entity types to score (default: those the set labels; all for the built-in sets)')
    .option('--phone-regions <list>', 'comma-separated regions for national phone formats (default: the configured default list)')
    .option('--false-hits <n>', 'how many false hits and misses to print per set', parseCount('--false-hits'), 20)
    .option('--json', 'print JSON instead of tables')
    .action(async (opts: { dataset?: string; types?: string; phoneRegions?: string; falseHits: number; json?: boolean }) => {
      const { evaluateRedactionReport } = await import('../redaction/evaluate-redaction');
      const { HELD_OUT_TEXTS, LABELLED_TEXTS } = await import('../redaction/labelled-set');
      const { markedToSpans, parseRedactionDataset } = await import('../redaction/redaction-dataset');
      const { createRedactor, ENTITY_TYPES } = await import('../redaction/redact');
      const list = (value?: string) =>
        value
          ?.split(',')
          .map((v) => v.trim())
          .filter(Boolean);
      const phoneRegions = list(opts.phoneRegions);
      const redactor = createRedactor(phoneRegions ? { phoneRegions } : {});
      const types = list(opts.types);
      const sets: Record<string, ReturnType<typeof evaluateRedactionReport>> = {};
      if (opts.dataset) {
        const { readFileSync } = await import('node:fs');
        let examples: ReturnType<typeof parseRedactionDataset>;
        try {
          examples = parseRedactionDataset(JSON.parse(readFileSync(opts.dataset, 'utf8')));
        } catch (error) {
          throw new AppError('validation_failed', { detail: `${opts.dataset}: ${(error as Error).message}` });
        }
        sets[opts.dataset] = evaluateRedactionReport(redactor, examples, types ? { types } : {});
      } else {
        const { EVAL_SETS } = await import('../redaction/eval-set/eval-sets');
        const scored = { types: types ?? ENTITY_TYPES };
        sets['Generated set, tuning part (the detectors were tuned on it)'] = evaluateRedactionReport(redactor, EVAL_SETS.tuning, scored);
        sets['Generated set, held-out part (not used for tuning)'] = evaluateRedactionReport(redactor, EVAL_SETS.heldOut, scored);
        sets['Small labelled set (tuned on)'] = evaluateRedactionReport(redactor, LABELLED_TEXTS.map(markedToSpans), scored);
        sets['Small held-out set'] = evaluateRedactionReport(redactor, HELD_OUT_TEXTS.map(markedToSpans), scored);
      }
      if (opts.json) return console.log(JSON.stringify(sets, null, 2));
      for (const [name, report] of Object.entries(sets)) {
        console.log(`\n${name}\n`);
        console.log(
          table(report.scores.map((s) => ({ ...s, precision: s.precision.toFixed(3), recall: s.recall.toFixed(3), f2: s.f2.toFixed(3) }))),
        );
        if (report.falseHits.length > 0) {
          console.log(`\nFalse hits (${report.falseHits.length}):`);
          for (const hit of report.falseHits.slice(0, opts.falseHits))
            console.log(`  ${hit.type} ${JSON.stringify(hit.value)} in ${JSON.stringify(hit.text)}`);
        }
        if (report.misses.length > 0) {
          console.log(`\nMisses (${report.misses.length}):`);
          for (const miss of report.misses.slice(0, opts.falseHits))
            console.log(`  ${miss.type} ${JSON.stringify(miss.value)} in ${JSON.stringify(miss.text)}`);
        }
      }
    });

  const keys = program.command('keys').description('manage API keys');
  keys
    .command('create')
    .requiredOption('--user <email>', 'owner of the key', parseWith(EmailSchema, '--user'))
    .requiredOption('--name <name>', 'what the key is for')
    .option('--scopes <list>', 'comma-separated: chat, embeddings, admin', parseScopes, ['chat', 'embeddings'])
    .option('--rpm <n>', "requests per minute for this key (on top of the user's limits)", parseCount('--rpm'))
    .option('--tpm <n>', 'tokens per minute for this key', parseCount('--tpm'))
    .option('--expires <days>', 'valid for this long, e.g. 30d or 30', parseDays)
    .option('--prompt <template>', "the prompt template the key's requests use")
    .description('create a key; it is printed once, alone on the last line')
    .action(
      async (opts: {
        user: string;
        name: string;
        scopes: ApiKeyScope[];
        rpm?: number;
        tpm?: number;
        expires?: number;
        prompt?: string;
      }) => {
        await withStore(async (store) => {
          const owner = await store.users.findByEmail(opts.user);
          if (!owner) throw new AppError('not_found', { detail: `no account for ${opts.user}` });
          if (opts.scopes.includes('admin') && owner.role !== 'admin')
            throw new AppError('forbidden', { detail: `${owner.email} is not an admin: a key with the admin scope would not work` });
          const { apiKey, key } = await createAuthService({ store, sessionTtlMs: 0 }).createApiKey(owner.id, opts.name, {
            scopes: opts.scopes,
            rpm: opts.rpm ?? null,
            tpm: opts.tpm ?? null,
            expiresInDays: opts.expires ?? null,
            prompt: opts.prompt ?? null,
          });
          await store.audit.append({
            ...CLI_ACTOR,
            action: 'key.created',
            target: `key:${apiKey.id}`,
            orgId: owner.orgId,
            details: {
              name: apiKey.name,
              user: owner.email,
              scopes: apiKey.scopes,
              rpm: apiKey.rpm,
              tpm: apiKey.tpm,
              expiresAt: apiKey.expiresAt,
            },
          });
          const limits = [apiKey.rpm && `${apiKey.rpm} requests/min`, apiKey.tpm && `${apiKey.tpm} tokens/min`].filter(Boolean).join(', ');
          console.log(
            `created key ${apiKey.id} "${apiKey.name}" for ${owner.email} (scopes ${apiKey.scopes.join(', ')}${limits ? `; ${limits}` : ''}${apiKey.expiresAt ? `; expires ${apiKey.expiresAt}` : ''}); store it now, it is not shown again:`,
          );
          console.log(key);
        });
      },
    );
  keys
    .command('list')
    .option('--user <email>', "only this user's keys", parseWith(EmailSchema, '--user'))
    .action(async (opts: { user?: string }) => {
      await withStore(async (store) => {
        const orgs = await store.organizations.list();
        const users = new Map((await Promise.all(orgs.map((o) => store.users.list(o.id)))).flat().map((u) => [u.id, u.email]));
        const all = (await Promise.all(orgs.map((o) => store.apiKeys.listAll(o.id)))).flat();
        const rows = all
          .filter((k) => !opts.user || users.get(k.userId) === opts.user)
          .map((k) => ({
            id: k.id,
            name: k.name,
            prefix: k.prefix,
            user: users.get(k.userId),
            created: k.createdAt,
            lastUsed: k.lastUsedAt ?? '-',
            revoked: k.revokedAt ?? '-',
          }));
        console.log(table(rows));
      });
    });
  keys
    .command('revoke')
    .argument('<id>', 'key id (from keys list)')
    .action(async (id: string) => {
      await withStore(async (store) => {
        const orgs = await store.organizations.list();
        let revoked = false;
        for (const o of orgs) revoked ||= await store.apiKeys.revoke(id, { orgId: o.id });
        if (!revoked) throw new AppError('not_found', { detail: `no active key ${id}` });
        await store.audit.append({ ...CLI_ACTOR, action: 'key.revoked', target: `key:${id}` });
        console.log(`revoked ${id}`);
      });
    });
  const audit = program.command('audit').description('the audit trail');
  audit
    .command('verify')
    .description('check that no audit row was edited, deleted or reordered (exit status 1 when one was)')
    .action(async () => {
      await withStore(async (store) => {
        const verdict = await verifyAuditChain(store.audit.all(), await store.audit.lastIssued());
        if (verdict.ok) {
          console.log(`audit trail intact: ${verdict.events} event(s), every hash matches`);
          return;
        }
        console.error(`audit trail broken at row ${verdict.seq}${verdict.id ? ` (id ${verdict.id})` : ''}: ${verdict.reason}`);
        process.exitCode = 1;
      });
    });

  program
    .command('backup')
    .description('write the database and uploaded originals to one archive, with checksums (works while the server runs)')
    .requiredOption('--to <file>', 'the archive to write (.tar.gz)')
    .option('--force', 'replace the file if it exists')
    .action(async (opts: { to: string; force?: boolean }) => {
      const { runBackupCommand } = await import('../backup/backup-command');
      await runBackupCommand(loadConfig({ env: process.env }), opts);
    });
  program
    .command('restore')
    .description('check a backup and restore it into the data directory, keeping the current data aside (stop the server first)')
    .argument('<file>', 'an archive written by axon backup')
    .option('--allow-broken-audit', "restore even if the backup's audit trail does not verify (exit status 1 all the same)")
    .action(async (file: string, opts: { allowBrokenAudit?: boolean }) => {
      const { runRestoreCommand } = await import('../backup/backup-command');
      await runRestoreCommand(loadConfig({ env: process.env }), file, opts);
    });
  return program;
}

export async function runCli(argv: string[]): Promise<void> {
  try {
    await buildCli().parseAsync(argv);
  } catch (error) {
    if (error instanceof ConfigError || AppError.isInstance(error)) {
      process.stderr.write(`axon: ${error.message}\n`);
      process.exit(error instanceof ConfigError ? 2 : 1);
    }
    throw error;
  }
}
