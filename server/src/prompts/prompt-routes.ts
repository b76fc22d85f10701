import { CreatePromptTemplateSchema, NewTemplateVersionSchema } from '@axon/contracts';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { AppError } from '../errors';
import { parseInput } from '../http/parse-input';
import { recordAudit } from '../http/record-audit';
import { requirePrincipal } from '../http/require-principal';
import type { Store } from '../store';
import type { PromptStore } from './prompt-store';
import { checkTemplate, renderTemplate } from './render-template';

const IdParams = z.strictObject({ id: z.string().min(1).max(100) });
const VersionBody = z.strictObject({ version: z.number().int().min(1) });
const RenderBody = z.strictObject({
  version: z.number().int().min(1).optional(),
  variables: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).default({}),
  input: z.string().max(100_000).default(''),
});

/**
 * Prompt templates: anyone who chats may list, read and try them; `prompts:manage` creates them,
 * adds versions (immutable) and chooses the active one (which is how a rollback is done).
 */
export function registerPromptRoutes(app: FastifyInstance, deps: { prompts: PromptStore; store: Store }): void {
  const { prompts, store } = deps;
  const orgOf = (request: FastifyRequest) => requirePrincipal(request).user.orgId;
  const found = async (request: FastifyRequest) => {
    const { id } = parseInput(IdParams, request.params, 'params');
    const template = await prompts.get(orgOf(request), id);
    if (!template) throw new AppError('not_found', { detail: 'No such prompt template' });
    return template;
  };

  app.get('/api/prompts', async (request) => ({ items: await prompts.list(orgOf(request)) }));

  app.post('/api/prompts', { config: { access: 'prompts:manage' } }, async (request, reply) => {
    const body = parseInput(CreatePromptTemplateSchema, request.body, 'body');
    await checkTemplate(body);
    const created = await prompts.create(orgOf(request), { ...body, createdBy: requirePrincipal(request).user.id });
    await recordAudit(store, request, { action: 'prompt.created', target: `prompt:${created.id}`, details: { name: created.name } });
    return reply.status(201).send(created);
  });

  app.get('/api/prompts/:id', async (request) => {
    const template = await found(request);
    return { ...template, versions: await prompts.versions(template.id) };
  });

  app.post('/api/prompts/:id/versions', { config: { access: 'prompts:manage' } }, async (request, reply) => {
    const template = await found(request);
    const { activate, ...body } = parseInput(NewTemplateVersionSchema, request.body, 'body');
    await checkTemplate(body);
    const version = await prompts.addVersion(template.id, { ...body, createdBy: requirePrincipal(request).user.id }, activate);
    await recordAudit(store, request, {
      action: 'prompt.version_created',
      target: `prompt:${template.id}`,
      details: { name: template.name, version: version.version, activated: activate },
    });
    return reply.status(201).send(version);
  });

  app.post('/api/prompts/:id/activate', { config: { access: 'prompts:manage' } }, async (request) => {
    const template = await found(request);
    const { version } = parseInput(VersionBody, request.body, 'body');
    if (!(await prompts.version(template.id, version)))
      throw new AppError('not_found', { detail: `Template ${template.name} has no version ${version}` });
    await prompts.activate(template.id, version);
    await recordAudit(store, request, {
      action: 'prompt.activated',
      target: `prompt:${template.id}`,
      details: { name: template.name, from: template.activeVersion, to: version },
    });
    return prompts.get(orgOf(request), template.id);
  });

  /** Renders a version (the active one by default) with variables: to try one before activating it. */
  app.post('/api/prompts/:id/render', async (request) => {
    const template = await found(request);
    const body = parseInput(RenderBody, request.body, 'body');
    const version = await prompts.version(template.id, body.version ?? template.activeVersion);
    if (!version) throw new AppError('not_found', { detail: `Template ${template.name} has no version ${body.version}` });
    return { version: version.version, ...(await renderTemplate(version, body.variables, body.input)) };
  });
}
