import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AgentConfig } from '@axon/contracts';
import { AgentConfigSchema } from '@axon/contracts';
import pino from 'pino';
import type { BlobStore } from '../../blobs/blob-store';
import { openBlobStore, sharedBlobStore } from '../../blobs/open-blob-store';
import type { Config } from '../../config';
import { AppError } from '../../errors';
import { createIngestionService } from '../../rag/ingest/ingestion-service';
import { ingestionLimits } from '../../server';
import { HOME_ORG_ID, type Store } from '../../store';
import { createDatasetFiles, type DatasetFiles } from '../tools/dataset-files';
import { loadCsvDataset } from '../tools/datasets';
import { documentDateOf } from '../tools/document-dates';
import { TREASURY_DATASET } from './treasury-plan';
import { TREASURY_COLUMNS } from './treasury-summary';

export const FINANCE_COLLECTION = 'FOMC';
export const FINANCE_AGENT = 'finance';
const TREASURY_CSV = ['treasury', 'daily-treasury-par-yield-curve-2021-2025.csv'];
/** FOMC minutes are released three weeks after the meeting they record. */
const MINUTES_DELAY_DAYS = 21;

export interface FinanceDemoOptions {
  /** The owner of the collection and the agent; the first admin when absent. */
  user?: string | undefined;
  /** The shared data folder (`../shared/data` from the working directory by default). */
  dataDir?: string | undefined;
  out?: NodeJS.WritableStream;
  /** Where the originals go (by default the store's: PostgreSQL, or the data directory's `files/`). */
  blobs?: BlobStore | undefined;
  /** Where the dataset goes (the data directory's `datasets/` when absent). */
  datasetFiles?: DatasetFiles | undefined;
}

/** How often the demo looks whether the documents another process took are indexed. */
const INDEXED_POLL_MS = 200;

/** Resolves once every document is indexed or has failed, by whichever process's worker took it. */
async function untilIndexed(store: Store, ids: string[]): Promise<void> {
  for (const id of ids) {
    for (;;) {
      const status = (await store.documents.get(id))?.status;
      if (!status || status === 'ready' || status === 'failed') break;
      await sleep(INDEXED_POLL_MS);
    }
  }
}

const plusDays = (date: string, days: number) => new Date(Date.parse(`${date}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);

/** The finance agent's configuration: the dataset, the FOMC collection, and the structured summary. */
export function financeAgentConfig(model: string, collectionId: string): AgentConfig {
  return AgentConfigSchema.parse({
    model,
    instructions:
      'You are a fixed-income analyst. Answer questions about US Treasury yields from the treasury_yields dataset (query it with query_data; yields are in percent, changes in basis points) and about Federal Reserve policy from the FOMC collection (search_documents, cite passages as [n]). Never state a number you did not get from a tool.',
    tools: [{ name: 'query_data' }, { name: 'search_documents' }, { name: 'calculator' }],
    collections: [collectionId],
    datasets: [TREASURY_DATASET],
    output: 'treasury-summary',
  });
}

/**
 * `axon demo finance [--user EMAIL]`: loads the Treasury par yield curves as the dataset
 * `treasury_yields`, the FOMC statements and minutes as the organisation-wide collection "FOMC"
 * (each document dated by its release), and creates the agent `finance` (`agent/finance`) on the
 * configured default model (offline: the local model). Running it again changes nothing that is
 * already there.
 */
export async function runFinanceDemo(config: Config, store: Store, options: FinanceDemoOptions = {}): Promise<void> {
  const out = options.out ?? process.stdout;
  const dataDir = resolve(options.dataDir ?? join(process.cwd(), '..', 'shared', 'data'));
  if (!existsSync(join(dataDir, ...TREASURY_CSV)))
    throw new AppError('not_found', {
      detail: `No Treasury data at ${join(dataDir, ...TREASURY_CSV)}; pass --data with the shared data folder.`,
    });
  const owner = options.user
    ? await store.users.findByEmail(options.user)
    : (await store.users.list(HOME_ORG_ID)).find((u) => u.role === 'admin' && !u.disabledAt);
  if (!owner)
    throw new AppError('not_found', {
      detail: options.user
        ? `No account for ${options.user}`
        : 'No admin account exists yet; create one first (axon user create --role admin).',
    });

  // The dataset: loaded again only when the CSV has a different number of rows.
  const csv = readFileSync(join(dataDir, ...TREASURY_CSV), 'utf8');
  const rows = csv.trim().split('\n').length - 1;
  const existing = await store.datasets.get(owner.orgId, TREASURY_DATASET);
  if (existing?.tables[0]?.rows === rows) out.write(`= dataset ${TREASURY_DATASET}: ${rows} rows already loaded\n`);
  else {
    await loadCsvDataset(
      store.datasets,
      options.datasetFiles ?? createDatasetFiles({ dir: resolve(config.dataDir, 'datasets'), blobs: sharedBlobStore(store) }),
      {
        orgId: owner.orgId,
        name: TREASURY_DATASET,
        description:
          'US Treasury daily par yield curve rates in percent, one row per trading day (date YYYY-MM-DD; m1…m6 months, y1…y30 years)',
        csv,
        columns: TREASURY_COLUMNS,
      },
    );
    out.write(`+ dataset ${TREASURY_DATASET}: ${rows} trading days\n`);
  }

  // The FOMC texts, named by release date; minutes carry the meeting they record too.
  const collection =
    (await store.collections.findByName(owner.id, FINANCE_COLLECTION)) ??
    (await store.collections.create({
      ownerId: owner.id,
      name: FINANCE_COLLECTION,
      description: 'Federal Reserve FOMC post-meeting statements (2018–2023) and minutes (2021–2022), dated by release',
      visibility: 'organisation',
      organisationRole: 'viewer',
    }));
  const files: Array<{ path: string; name: string; date: string }> = [];
  for (const file of readdirSync(join(dataDir, 'fomc-statements')).sort()) {
    const date = documentDateOf(file);
    if (file.endsWith('.txt') && date) files.push({ path: join(dataDir, 'fomc-statements', file), name: `fomc-statements/${file}`, date });
  }
  for (const file of readdirSync(join(dataDir, 'fomc-minutes')).sort()) {
    const meeting = documentDateOf(file);
    if (!file.endsWith('.txt') || !meeting) continue;
    const released = plusDays(meeting, MINUTES_DELAY_DAYS);
    files.push({
      path: join(dataDir, 'fomc-minutes', file),
      name: `fomc-minutes/${released} minutes of the ${meeting} meeting.txt`,
      date: released,
    });
  }
  const ingestion = createIngestionService({
    store,
    blobs: options.blobs ?? openBlobStore(config, store),
    limits: ingestionLimits(config),
    chunking: { maxTokens: config.rag.chunkTokens, overlapTokens: config.rag.chunkOverlapTokens },
    logger: pino({ level: 'silent' }),
  });
  let added = 0;
  const dated: Array<{ id: string; date: string }> = [];
  for (const file of files) {
    const result = await ingestion.addFile({
      collectionId: collection.id,
      userId: owner.id,
      name: file.name,
      bytes: new Uint8Array(readFileSync(file.path)),
    });
    if ('error' in result) throw new AppError('validation_failed', { detail: `${file.path}: ${result.error}` });
    dated.push({ id: result.document.id, date: file.date });
    if (!result.duplicateOf) added++;
  }
  await ingestion.start();
  await ingestion.idle();
  // A running server works the same queue: the documents it took are waited for here too.
  await untilIndexed(
    store,
    dated.map((d) => d.id),
  );
  await ingestion.stop();
  for (const { id, date } of dated) await store.documents.describe(id, { date: { value: date, source: 'manual' } });
  out.write(`${added > 0 ? '+' : '='} collection ${FINANCE_COLLECTION}: ${files.length} documents (${added} new)\n`);

  // The agent: created once; a new version only when its configuration changed.
  const agentConfig = financeAgentConfig(config.defaultModel ?? '', collection.id);
  const agent = await store.agents.get(owner.orgId, FINANCE_AGENT);
  if (!agent) {
    await store.agents.create({
      orgId: owner.orgId,
      slug: FINANCE_AGENT,
      name: 'Finance',
      description: 'US Treasury yields and FOMC context: "Summarize today’s treasury yield movement."',
      config: agentConfig,
      note: 'axon demo finance',
      createdBy: owner.id,
    });
    out.write(`+ agent ${FINANCE_AGENT} (model id agent/${FINANCE_AGENT})\n`);
  } else if (JSON.stringify(agent.config) !== JSON.stringify(agentConfig)) {
    await store.agents.addVersion(owner.orgId, agent.id, {
      config: agentConfig,
      note: 'axon demo finance',
      createdBy: owner.id,
      activate: true,
    });
    out.write(`~ agent ${FINANCE_AGENT}: new version\n`);
  } else out.write(`= agent ${FINANCE_AGENT} (model id agent/${FINANCE_AGENT})\n`);
  out.write(`Ask agent/${FINANCE_AGENT}: "Summarize today's treasury yield movement." (owner ${owner.email})\n`);
}
