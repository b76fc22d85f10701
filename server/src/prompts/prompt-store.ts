import type { PromptTemplate, PromptTemplateVersion } from '@axon/contracts';
import { AppError } from '../errors';
import type { PromptRepository } from '../store';

/** Named templates and their immutable versions, in the store, and how a reference to one is resolved. */
export function createPromptStore(prompts: PromptRepository) {
  /** Every lookup names the organisation: a template of another one does not exist for the caller. */
  return {
    list: (orgId: string) => prompts.list(orgId),
    get: (orgId: string, idOrName: string) => prompts.get(orgId, idOrName),
    create: prompts.create.bind(prompts),
    versions: (id: string) => prompts.versions(id),
    version: (id: string, version: number) => prompts.version(id, version),
    /** Adds the next version; the active one changes only with `activate`. */
    addVersion: prompts.addVersion.bind(prompts),
    /** A template reference, `name` (its active version) or `name@version`, in the organisation; `not_found` otherwise. */
    async resolve(orgId: string, ref: string): Promise<{ template: PromptTemplate; version: PromptTemplateVersion }> {
      const [name = '', versionText] = ref.split('@');
      const template = await prompts.get(orgId, name);
      if (!template) throw new AppError('not_found', { detail: `No such prompt template: ${name}` });
      const version = await prompts.version(template.id, versionText ? Number(versionText) : template.activeVersion);
      if (!version) throw new AppError('not_found', { detail: `Prompt template ${name} has no version ${versionText}` });
      return { template, version };
    },
    activate: (id: string, version: number) => prompts.activate(id, version),
  };
}

export type PromptStore = ReturnType<typeof createPromptStore>;
