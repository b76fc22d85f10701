import {
  CollectionMembersSchema,
  CreateCollectionSchema,
  IMAGE_ATTACHMENT_TYPES,
  UpdateCollectionSchema,
  UpdateDocumentSchema,
  type UploadResult,
} from '@axon/contracts';
import type { MultipartFile } from '@fastify/multipart';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { type BlobStore, originalKey } from '../blobs/blob-store';
import { AppError } from '../errors';
import { parseInput } from '../http/parse-input';
import { recordAudit } from '../http/record-audit';
import { requirePrincipal } from '../http/require-principal';
import type { Store } from '../store';
import type { DocumentRecord } from '../store/rag-store';
import { requireCollection } from './collection-access';
import type { IngestionService } from './ingest/ingestion-service';

/** Types a browser runs (scripts in pages and images): their originals are served as plain bytes. */
const BROWSER_EXECUTED_TYPES = new Set([
  'text/html',
  'application/xhtml+xml',
  'image/svg+xml',
  'text/xml',
  'application/xml',
  'text/javascript',
  'application/javascript',
]);

/** Raster images, which run nothing: served inline as their own type, for the chat's thumbnails. SVG is not among them. */
const INLINE_IMAGE_TYPES = new Set<string>(IMAGE_ATTACHMENT_TYPES);

export const ATTACHMENTS_COLLECTION = 'Chat attachments';

const IdParams = z.strictObject({ id: z.string().min(1).max(100) });
const TextWindowQuery = z.strictObject({
  start: z.coerce.number().int().min(0).optional(),
  end: z.coerce.number().int().min(0).optional(),
  context: z.coerce.number().int().min(0).max(20_000).default(1500),
});

export interface CollectionRoutesDeps {
  store: Store;
  ingestion: IngestionService;
  /** Where the uploaded originals are (`files/<document id>`). */
  blobs: BlobStore;
  maxFilesPerUpload: number;
  maxFileBytes: number;
  /** Told when a document's date or metadata is edited (cached answers drawn from its collection are dropped). */
  onDocumentChanged?: ((collectionId: string) => void) | undefined;
}

const publicDocument = ({ sha256: _hash, chars: _chars, createdBy: _by, ...document }: DocumentRecord) => document;

export function registerCollectionRoutes(app: FastifyInstance, deps: CollectionRoutesDeps): void {
  const { store, ingestion } = deps;

  async function requireDocument(id: string, userId: string, needed: 'viewer' | 'editor') {
    const document = await store.documents.get(id);
    if (!document) throw new AppError('not_found', { detail: 'No such document' });
    try {
      await requireCollection(store, document.collectionId, userId, needed);
    } catch (error) {
      if (AppError.isInstance(error) && error.code === 'not_found') throw new AppError('not_found', { detail: 'No such document' });
      throw error;
    }
    return document;
  }

  /** Reads a multipart upload into a collection, file by file; each file is accepted or refused on its own. */
  async function readUpload(request: FastifyRequest, collectionId: string, userId: string): Promise<UploadResult['files']> {
    if (!request.isMultipart()) throw new AppError('unsupported_media_type', { detail: 'Upload files as multipart/form-data.' });
    const files: UploadResult['files'] = [];
    let count = 0;
    try {
      for await (const part of request.parts({ limits: { fileSize: deps.maxFileBytes, files: deps.maxFilesPerUpload, fields: 10 } })) {
        if (part.type !== 'file') continue;
        const file = part as MultipartFile;
        const name = (file.filename || 'upload').slice(0, 255);
        count++;
        const bytes = await file.toBuffer();
        if (file.file.truncated) {
          files.push({ name, error: `This file is larger than ${Math.round(deps.maxFileBytes / 1_048_576)} MB, the limit.` });
          continue;
        }
        const result = await ingestion.addFile({ collectionId, userId, name, bytes: new Uint8Array(bytes) });
        if ('error' in result) files.push({ name, error: result.error });
        else {
          files.push({ name, document: result.document, ...(result.duplicateOf ? { duplicateOf: result.duplicateOf } : {}) });
          if (!result.duplicateOf)
            await recordAudit(store, request, {
              action: 'document.uploaded',
              target: `document:${result.document.id}`,
              details: { name, collectionId, size: bytes.length },
            });
        }
      }
    } catch (error) {
      if (AppError.isInstance(error)) throw error;
      // The multipart reader fails on a body that is cut off or not multipart at all.
      throw new AppError('validation_failed', {
        detail: `The upload is malformed or was cut off: ${(error as Error).message}`,
        errors: [{ path: 'body', message: 'malformed multipart' }],
      });
    }
    if (count === 0)
      throw new AppError('validation_failed', { detail: 'The upload holds no file.', errors: [{ path: 'body', message: 'no file' }] });
    request.log.info({ collectionId, files: files.length, refused: files.filter((f) => f.error).length }, 'documents uploaded');
    return files;
  }

  app.get('/api/collections', async (request) => ({ items: await store.collections.listForUser(requirePrincipal(request).user.id) }));

  app.post('/api/collections', async (request, reply) => {
    const body = parseInput(CreateCollectionSchema, request.body, 'body');
    const user = requirePrincipal(request).user;
    const created = await store.collections.create({ ownerId: user.id, ...body });
    request.log.info({ collectionId: created.id }, 'collection created');
    await recordAudit(store, request, {
      action: 'collection.created',
      target: `collection:${created.id}`,
      details: { name: created.name },
    });
    return reply.status(201).send(await store.collections.getForUser(created.id, user.id));
  });

  app.get('/api/collections/:id', async (request) => {
    const { id } = parseInput(IdParams, request.params, 'params');
    const user = requirePrincipal(request).user;
    const collection = await requireCollection(store, id, user.id, 'viewer');
    return { ...collection, members: collection.access === 'owner' ? await store.collections.listMembers(id) : [] };
  });

  app.patch('/api/collections/:id', async (request) => {
    const { id } = parseInput(IdParams, request.params, 'params');
    const patch = parseInput(UpdateCollectionSchema, request.body, 'body');
    const user = requirePrincipal(request).user;
    const ownerOnly = patch.name !== undefined || patch.visibility !== undefined || patch.organisationRole !== undefined;
    await requireCollection(store, id, user.id, ownerOnly ? 'owner' : 'editor');
    await store.collections.update(id, patch);
    await recordAudit(store, request, { action: 'collection.updated', target: `collection:${id}`, details: patch });
    return store.collections.getForUser(id, user.id);
  });

  app.delete('/api/collections/:id', async (request, reply) => {
    const { id } = parseInput(IdParams, request.params, 'params');
    const user = requirePrincipal(request).user;
    await requireCollection(store, id, user.id, 'owner');
    for (const document of await store.documents.listByCollection(id)) await ingestion.deleteDocument(document);
    await store.collections.delete(id);
    await recordAudit(store, request, { action: 'collection.deleted', target: `collection:${id}` });
    return reply.status(204).send();
  });

  app.put('/api/collections/:id/members', async (request) => {
    const { id } = parseInput(IdParams, request.params, 'params');
    const { members } = parseInput(CollectionMembersSchema, request.body, 'body');
    const user = requirePrincipal(request).user;
    await requireCollection(store, id, user.id, 'owner');
    const resolved = [];
    for (const member of members) {
      const found = await store.users.findByEmail(member.email);
      // Accounts of other organisations are not revealed: they read as missing.
      if (!found || found.orgId !== user.orgId)
        throw new AppError('validation_failed', {
          detail: `No account for ${member.email} in your organisation`,
          errors: [{ path: 'body.members', message: `no account for ${member.email}` }],
        });
      if (found.id !== user.id) resolved.push({ userId: found.id, role: member.role });
    }
    await store.collections.setMembers(id, resolved);
    await recordAudit(store, request, { action: 'collection.members_changed', target: `collection:${id}`, details: { members } });
    return { members: await store.collections.listMembers(id) };
  });

  app.get('/api/collections/:id/documents', async (request) => {
    const { id } = parseInput(IdParams, request.params, 'params');
    await requireCollection(store, id, requirePrincipal(request).user.id, 'viewer');
    return { items: (await store.documents.listByCollection(id)).map(publicDocument) };
  });

  app.post('/api/collections/:id/documents', { config: { multipart: true } }, async (request, reply): Promise<UploadResult> => {
    const { id } = parseInput(IdParams, request.params, 'params');
    const user = requirePrincipal(request).user;
    await requireCollection(store, id, user.id, 'editor');
    const files = await readUpload(request, id, user.id);
    return reply.status(files.some((f) => f.document) ? 202 : 400).send({ files });
  });

  /** Files attached to one chat message go to the user's private "Chat attachments" collection. */
  app.post('/api/attachments', { config: { multipart: true } }, async (request, reply): Promise<UploadResult> => {
    const user = requirePrincipal(request).user;
    const collection =
      (await store.collections.findByName(user.id, ATTACHMENTS_COLLECTION)) ??
      (await store.collections.create({ ownerId: user.id, name: ATTACHMENTS_COLLECTION }));
    const files = await readUpload(request, collection.id, user.id);
    return reply.status(files.some((f) => f.document) ? 202 : 400).send({ files });
  });

  app.get('/api/documents/:id', async (request) => {
    const { id } = parseInput(IdParams, request.params, 'params');
    return publicDocument(await requireDocument(id, requirePrincipal(request).user.id, 'viewer'));
  });

  app.get('/api/documents/:id/file', async (request, reply) => {
    const { id } = parseInput(IdParams, request.params, 'params');
    const document = await requireDocument(id, requirePrincipal(request).user.id, 'viewer');
    const original = await deps.blobs.get(originalKey(document.id));
    if (!original) throw new AppError('not_found', { detail: 'The uploaded file of this document is missing.' });
    // Raster images open in the browser (thumbnails, a click on one); everything else downloads.
    const inline = INLINE_IMAGE_TYPES.has(document.mime);
    return reply
      .header('content-type', BROWSER_EXECUTED_TYPES.has(document.mime) ? 'application/octet-stream' : document.mime)
      .header('content-disposition', `${inline ? 'inline' : 'attachment'}; filename*=UTF-8''${encodeURIComponent(document.name)}`)
      .header('x-content-type-options', 'nosniff')
      .header('content-length', original.size)
      .send(original.stream());
  });

  /** The passage [start, end) of a document's text with `context` characters around it, for the citation panel. */
  app.get('/api/documents/:id/text', async (request) => {
    const { id } = parseInput(IdParams, request.params, 'params');
    const query = parseInput(TextWindowQuery, request.query, 'query');
    const document = await requireDocument(id, requirePrincipal(request).user.id, 'viewer');
    const text = (await store.documents.getText(id)) ?? '';
    const start = Math.min(query.start ?? 0, text.length);
    const end = Math.min(Math.max(query.end ?? start, start), text.length);
    const from = Math.max(0, start - query.context);
    const to = Math.min(text.length, end + query.context);
    return {
      document: publicDocument(document),
      before: text.slice(from, start),
      passage: text.slice(start, end),
      after: text.slice(end, to),
      truncatedBefore: from > 0,
      truncatedAfter: to < text.length,
    };
  });

  /** Sets a document's date by hand (kept when it is indexed again) and/or replaces its metadata fields. */
  app.patch('/api/documents/:id', async (request) => {
    const { id } = parseInput(IdParams, request.params, 'params');
    const patch = parseInput(UpdateDocumentSchema, request.body, 'body');
    const document = await requireDocument(id, requirePrincipal(request).user.id, 'editor');
    await store.documents.describe(id, {
      ...(patch.date !== undefined ? { date: { value: patch.date, source: 'manual' as const } } : {}),
      ...(patch.metadata ? { metadata: patch.metadata } : {}),
    });
    deps.onDocumentChanged?.(document.collectionId);
    await recordAudit(store, request, { action: 'document.updated', target: `document:${id}`, details: patch });
    return publicDocument((await store.documents.get(id)) as DocumentRecord);
  });

  app.delete('/api/documents/:id', async (request, reply) => {
    const { id } = parseInput(IdParams, request.params, 'params');
    const document = await requireDocument(id, requirePrincipal(request).user.id, 'editor');
    await ingestion.deleteDocument(document);
    request.log.info({ documentId: id }, 'document deleted');
    await recordAudit(store, request, {
      action: 'document.deleted',
      target: `document:${id}`,
      details: { name: document.name, collectionId: document.collectionId },
    });
    return reply.status(204).send();
  });
}
