import { randomUUID } from 'node:crypto';
import type { PromptTemplate, PromptTemplateVersion, TemplateVariable } from '@axon/contracts';
import type Database from 'better-sqlite3';
import { AppError } from '../errors';

type Row = Record<string, unknown>;

const toTemplate = (r: Row): PromptTemplate => ({
  id: r.id as string,
  name: r.name as string,
  description: r.description as string,
  activeVersion: r.active_version as number,
  latestVersion: r.latest_version as number,
  createdAt: r.created_at as string,
  updatedAt: r.updated_at as string,
});

const toVersion = (r: Row): PromptTemplateVersion => ({
  version: r.version as number,
  system: r.system as string,
  message: r.message as string,
  variables: JSON.parse(r.variables as string) as TemplateVariable[],
  note: r.note as string,
  createdBy: (r.created_by as string | null) ?? null,
  createdAt: r.created_at as string,
});

type VersionInput = Omit<PromptTemplateVersion, 'version' | 'createdAt'>;

/** Named templates and their immutable versions, in the SQLite store. */
export function createPromptStore(db: Database.Database) {
  const columns = 't.*, (SELECT max(version) FROM prompt_template_versions v WHERE v.template_id = t.id) AS latest_version';
  const insertVersion = db.prepare(
    'INSERT INTO prompt_template_versions (template_id, version, system, message, variables, note, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const addVersion = (templateId: string, version: number, input: VersionInput, at: string) =>
    insertVersion.run(templateId, version, input.system, input.message, JSON.stringify(input.variables), input.note, input.createdBy, at);
  const getStatement = db.prepare(`SELECT ${columns} FROM prompt_templates t WHERE t.org_id = ? AND (t.id = ? OR t.name = ?)`);
  const get = (orgId: string, idOrName: string) => getStatement.get(orgId, idOrName, idOrName) as Row | undefined;

  /** Every lookup names the organisation: a template of another one does not exist for the caller. */
  return {
    list(orgId: string): PromptTemplate[] {
      return (db.prepare(`SELECT ${columns} FROM prompt_templates t WHERE t.org_id = ? ORDER BY t.name`).all(orgId) as Row[]).map(
        toTemplate,
      );
    },
    get(orgId: string, idOrName: string): PromptTemplate | undefined {
      const row = get(orgId, idOrName);
      return row && toTemplate(row);
    },
    create(orgId: string, input: VersionInput & { name: string; description: string }): PromptTemplate {
      const id = randomUUID();
      const at = new Date().toISOString();
      try {
        db.transaction(() => {
          db.prepare(
            'INSERT INTO prompt_templates (id, org_id, name, description, active_version, created_at, updated_at) VALUES (?, ?, ?, ?, 1, ?, ?)',
          ).run(id, orgId, input.name, input.description, at, at);
          addVersion(id, 1, input, at);
        })();
      } catch (error) {
        if ((error as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE')
          throw new AppError('conflict', { detail: `A template named "${input.name}" exists already.` });
        throw error;
      }
      return toTemplate(get(orgId, id) as Row);
    },
    versions(id: string): PromptTemplateVersion[] {
      return (db.prepare('SELECT * FROM prompt_template_versions WHERE template_id = ? ORDER BY version DESC').all(id) as Row[]).map(
        toVersion,
      );
    },
    version(id: string, version: number): PromptTemplateVersion | undefined {
      const row = db.prepare('SELECT * FROM prompt_template_versions WHERE template_id = ? AND version = ?').get(id, version) as
        | Row
        | undefined;
      return row && toVersion(row);
    },
    /** Adds the next version; the active one changes only with `activate`. */
    addVersion(id: string, input: VersionInput, activate: boolean): PromptTemplateVersion {
      const at = new Date().toISOString();
      const version = db.transaction(() => {
        const next =
          ((db.prepare('SELECT max(version) FROM prompt_template_versions WHERE template_id = ?').pluck().get(id) as number) ?? 0) + 1;
        addVersion(id, next, input, at);
        db.prepare(`UPDATE prompt_templates SET updated_at = ?${activate ? ', active_version = ?' : ''} WHERE id = ?`).run(
          ...(activate ? [at, next, id] : [at, id]),
        );
        return next;
      })();
      return this.version(id, version) as PromptTemplateVersion;
    },
    /** A template reference, `name` (its active version) or `name@version`, in the organisation; `not_found` otherwise. */
    resolve(orgId: string, ref: string): { template: PromptTemplate; version: PromptTemplateVersion } {
      const [name = '', versionText] = ref.split('@');
      const template = this.get(orgId, name);
      if (!template) throw new AppError('not_found', { detail: `No such prompt template: ${name}` });
      const version = this.version(template.id, versionText ? Number(versionText) : template.activeVersion);
      if (!version) throw new AppError('not_found', { detail: `Prompt template ${name} has no version ${versionText}` });
      return { template, version };
    },
    activate(id: string, version: number): void {
      db.prepare('UPDATE prompt_templates SET active_version = ?, updated_at = ? WHERE id = ?').run(version, new Date().toISOString(), id);
    },
  };
}

export type PromptStore = ReturnType<typeof createPromptStore>;
