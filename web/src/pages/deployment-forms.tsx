import type { AliasInput, ModelAlias, ModelVersionInput, Sticky, TrafficPolicy } from '@axon/contracts';
import { Plus, Trash2 } from 'lucide-react';
import { cloneElement, type FormEvent, type ReactElement, useId, useState } from 'react';
import { toast } from 'sonner';
import { describeError } from '../api/api-client';
import { useAddDeploymentVersion, useCreateDeployment, useModels, usePromptTemplates, useUpdateDeployment } from '../api/queries';
import { Button, IconButton } from '../ui/button';
import { readSteps } from './describe-deployment';

/** An error of a form, where it happened. */
export function FormError({ error }: { error: string | undefined }) {
  if (!error) return null;
  return (
    <p role="alert" className="text-sm text-red-700 dark:text-red-400">
      {error}
    </p>
  );
}

/** A labelled control (one element), with an optional hint read as its description. */
function Field({
  label,
  hint,
  children,
}: {
  label: string;
  hint?: string;
  children: ReactElement<{ id?: string; 'aria-describedby'?: string }>;
}) {
  const id = useId();
  const hintId = useId();
  return (
    <div className="deploy-label">
      <label htmlFor={id}>{label}</label>
      {hint && (
        <span id={hintId} className="deploy-hint">
          {hint}
        </span>
      )}
      {cloneElement(children, { id, ...(hint ? { 'aria-describedby': hintId } : {}) })}
    </div>
  );
}

interface VersionDraft {
  model: string;
  temperature: string;
  topP: string;
  maxTokens: string;
  seed: string;
  prompt: string;
  fallbacks: string;
  note: string;
}

const EMPTY_DRAFT: VersionDraft = { model: '', temperature: '', topP: '', maxTokens: '', seed: '', prompt: '', fallbacks: '', note: '' };

/** The version a draft describes, or what is wrong with it (the server checks again). */
function readVersionDraft(draft: VersionDraft, fallbackModel: string | undefined): { input: ModelVersionInput } | { error: string } {
  const model = draft.model || fallbackModel;
  if (!model) return { error: 'Choose a model.' };
  const params: ModelVersionInput['params'] = {};
  const number = (text: string, name: string, min: number, max: number, integer = false): number | string | undefined => {
    if (!text.trim()) return undefined;
    const value = Number(text);
    if (!Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value)))
      return `${name} must be ${integer ? 'a whole number' : 'a number'} from ${min} to ${max}.`;
    return value;
  };
  const checks: Array<[keyof VersionDraft, 'temperature' | 'top_p' | 'max_tokens' | 'seed', string, number, number, boolean]> = [
    ['temperature', 'temperature', 'Temperature', 0, 2, false],
    ['topP', 'top_p', 'Top p', 0, 1, false],
    ['maxTokens', 'max_tokens', 'Max tokens', 1, 1_000_000, true],
    ['seed', 'seed', 'Seed', -(2 ** 31), 2 ** 31 - 1, true],
  ];
  for (const [key, param, name, min, max, integer] of checks) {
    const value = number(draft[key], name, min, max, integer);
    if (typeof value === 'string') return { error: value };
    if (value !== undefined) params[param] = value;
  }
  const prompt = draft.prompt.trim();
  if (prompt && !/^[A-Za-z0-9._-]+@\d+$/.test(prompt)) return { error: 'The prompt template is name@version, like support-answer@3.' };
  const fallbacks = draft.fallbacks
    .split(',')
    .map((f) => f.trim())
    .filter(Boolean);
  if (fallbacks.length > 5) return { error: 'At most 5 fallbacks.' };
  return {
    input: {
      model,
      params,
      ...(prompt ? { prompt } : {}),
      endpoints: [],
      balance: 'weighted',
      fallbacks,
      ...(draft.note.trim() ? { note: draft.note.trim() } : {}),
    },
  };
}

/** Model, parameters, prompt template, fallbacks and note of a new version. */
function VersionFields({ draft, onChange }: { draft: VersionDraft; onChange: (draft: VersionDraft) => void }) {
  const models = useModels();
  const prompts = usePromptTemplates();
  const listId = useId();
  const set = (key: keyof VersionDraft) => (e: { target: { value: string } }) => onChange({ ...draft, [key]: e.target.value });
  return (
    <>
      <Field label="Model">
        <select className="deploy-field" value={draft.model || models.data?.defaultModel || ''} onChange={set('model')} required>
          {models.isPending && <option value="">Loading models…</option>}
          {models.data?.models.map((m) => (
            <option key={m.id} value={m.id}>
              {m.name} ({m.id})
            </option>
          ))}
        </select>
      </Field>
      {models.isError && <FormError error={`The models could not be listed: ${describeError(models.error).message}`} />}
      <fieldset className="deploy-grid">
        <legend className="deploy-label">Parameters (empty: the model’s defaults; a caller’s own values win)</legend>
        <Field label="Temperature">
          <input
            className="deploy-field"
            type="number"
            inputMode="decimal"
            min={0}
            max={2}
            step={0.1}
            value={draft.temperature}
            onChange={set('temperature')}
          />
        </Field>
        <Field label="Top p">
          <input
            className="deploy-field"
            type="number"
            inputMode="decimal"
            min={0}
            max={1}
            step={0.05}
            value={draft.topP}
            onChange={set('topP')}
          />
        </Field>
        <Field label="Max tokens">
          <input
            className="deploy-field"
            type="number"
            inputMode="numeric"
            min={1}
            step={1}
            value={draft.maxTokens}
            onChange={set('maxTokens')}
          />
        </Field>
        <Field label="Seed">
          <input className="deploy-field" type="number" inputMode="numeric" step={1} value={draft.seed} onChange={set('seed')} />
        </Field>
      </fieldset>
      <Field label="Prompt template" hint="name@version, e.g. support-answer@3; empty: none">
        <input
          className="deploy-field"
          list={listId}
          value={draft.prompt}
          onChange={set('prompt')}
          placeholder="name@version"
          autoComplete="off"
        />
      </Field>
      <datalist id={listId}>
        {prompts.data?.items.map((p) => (
          <option key={p.id} value={`${p.name}@${p.activeVersion}`} />
        ))}
      </datalist>
      <Field
        label="Fallbacks"
        hint="tried in order if every endpoint fails before the first token; comma-separated models or alias@version"
      >
        <input className="deploy-field" value={draft.fallbacks} onChange={set('fallbacks')} autoComplete="off" />
      </Field>
      <Field label="Note">
        <input className="deploy-field" value={draft.note} onChange={set('note')} placeholder="What changed" />
      </Field>
    </>
  );
}

/** A new alias with its first version (served fixed until a rollout starts). */
export function CreateAliasForm({ onCreated }: { onCreated: (name: string) => void }) {
  const create = useCreateDeployment();
  const models = useModels();
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [draft, setDraft] = useState<VersionDraft>(EMPTY_DRAFT);
  const [error, setError] = useState<string | undefined>();
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const alias = name.trim();
    if (!/^[a-z0-9][a-z0-9._-]{0,62}$/.test(alias))
      return setError('The name takes lower-case letters, digits, “.”, “-” and “_”, starts with a letter or digit, at most 63.');
    const read = readVersionDraft(draft, models.data?.defaultModel);
    if ('error' in read) return setError(read.error);
    setError(undefined);
    create.mutate(
      { name: alias, ...(description.trim() ? { description: description.trim() } : {}), version: read.input },
      {
        onSuccess: () => {
          toast.success(`Alias ${alias} created with version 1`);
          setName('');
          setDescription('');
          setDraft(EMPTY_DRAFT);
          onCreated(alias);
        },
        onError: (err) => setError(describeError(err).message),
      },
    );
  };
  return (
    <form onSubmit={submit} className="deploy-card space-y-3" aria-label="New alias">
      <h2 className="text-base font-semibold">New alias</h2>
      <Field label="Alias name" hint="what callers send as the model, e.g. support-bot">
        <input
          className="deploy-field"
          value={name}
          onChange={(e) => setName(e.target.value)}
          required
          autoComplete="off"
          spellCheck={false}
        />
      </Field>
      <Field label="Description">
        <input className="deploy-field" value={description} onChange={(e) => setDescription(e.target.value)} maxLength={300} />
      </Field>
      <VersionFields draft={draft} onChange={setDraft} />
      <FormError error={error} />
      <Button type="submit" variant="primary" disabled={create.isPending}>
        Create alias
      </Button>
    </form>
  );
}

/** The next version of an alias; it serves no traffic until a policy sends it some. */
export function AddVersionForm({ alias }: { alias: ModelAlias }) {
  const add = useAddDeploymentVersion(alias.name);
  const models = useModels();
  const latest = alias.versions.at(-1);
  const [draft, setDraft] = useState<VersionDraft>({ ...EMPTY_DRAFT, model: latest?.model ?? '' });
  const [error, setError] = useState<string | undefined>();
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const read = readVersionDraft(draft, models.data?.defaultModel);
    if ('error' in read) return setError(read.error);
    setError(undefined);
    add.mutate(read.input, {
      onSuccess: (made) => {
        toast.success(`Version ${made.version} added; it serves no traffic until a policy sends it some`);
        setDraft({ ...EMPTY_DRAFT, model: made.model });
      },
      onError: (err) => setError(describeError(err).message),
    });
  };
  return (
    <form onSubmit={submit} className="deploy-card space-y-3" aria-label="Add a version">
      <h3 className="text-sm font-semibold">Add a version</h3>
      <VersionFields draft={draft} onChange={setDraft} />
      <FormError error={error} />
      <Button type="submit" variant="primary" disabled={add.isPending}>
        Add version
      </Button>
    </form>
  );
}

type PolicyKind = 'fixed' | 'canary' | 'ab' | 'weighted';

interface Variant {
  key: number;
  name: string;
  version: number;
  weight: string;
}

const STICKY_LABELS: Record<Sticky, string> = {
  conversation: 'per conversation',
  user: 'per person',
  request: 'per request (no stickiness)',
};

/** Fixes a version, starts a canary rollout or starts an A/B test (the alias's other settings stay). */
export function PolicyForm({ alias }: { alias: ModelAlias }) {
  const update = useUpdateDeployment(alias.name);
  const versions = alias.versions.map((v) => v.version).sort((a, b) => b - a);
  const newest = versions[0] ?? 1;
  const current = alias.policy.type === 'fixed' ? alias.policy.version : alias.policy.type === 'canary' ? alias.policy.stable : newest;
  const olderThanNewest = versions.find((v) => v < newest);
  const [kind, setKind] = useState<PolicyKind>('canary');
  const [fixed, setFixed] = useState(current);
  const [stable, setStable] = useState(current !== newest ? current : (olderThanNewest ?? newest));
  const [candidate, setCandidate] = useState(newest);
  const [steps, setSteps] = useState('5, 25, 50, 100');
  const [minSamples, setMinSamples] = useState('100');
  const [stepSeconds, setStepSeconds] = useState('600');
  const [maxErrorRate, setMaxErrorRate] = useState('5');
  const [maxTtft, setMaxTtft] = useState('5000');
  const [maxNegative, setMaxNegative] = useState('30');
  const [sticky, setSticky] = useState<Sticky>('conversation');
  const [split, setSplit] = useState<Variant[]>(
    stable !== newest
      ? [
          { key: 1, name: '', version: stable, weight: '90' },
          { key: 2, name: '', version: newest, weight: '10' },
        ]
      : [{ key: 1, name: '', version: newest, weight: '100' }],
  );
  const [variants, setVariants] = useState<Variant[]>([
    { key: 1, name: 'a', version: stable, weight: '1' },
    { key: 2, name: 'b', version: newest, weight: '1' },
  ]);
  const [metric, setMetric] = useState<'feedback' | 'success'>('feedback');
  const [abMinSamples, setAbMinSamples] = useState('30');
  const [confidence, setConfidence] = useState('0.05');
  const [error, setError] = useState<string | undefined>();
  const kindName = useId();

  const readPolicy = (): { policy: TrafficPolicy } | { error: string } => {
    const whole = (text: string, name: string, min: number) => {
      const n = Number(text);
      return Number.isInteger(n) && n >= min ? n : `${name} must be a whole number of at least ${min}.`;
    };
    if (kind === 'fixed') return { policy: { type: 'fixed', version: fixed } };
    if (kind === 'weighted') {
      const weights = split.map((s) => Number(s.weight));
      if (weights.some((w) => !(w > 0))) return { error: 'Each version’s share is a number above 0.' };
      if (new Set(split.map((s) => s.version)).size !== split.length) return { error: 'Name each version once.' };
      return {
        policy: { type: 'weighted', split: split.map((s, i) => ({ version: s.version, weight: weights[i] as number })), sticky },
      };
    }
    if (kind === 'canary') {
      if (stable === candidate)
        return { error: 'The candidate must be another version than the stable one; add a version first if there is none.' };
      const read = readSteps(steps);
      if ('error' in read) return read;
      const samples = whole(minSamples, 'Minimum requests per step', 1);
      if (typeof samples === 'string') return { error: samples };
      const seconds = whole(stepSeconds, 'Minimum time per step', 0);
      if (typeof seconds === 'string') return { error: seconds };
      const errorRate = Number(maxErrorRate);
      const negative = Number(maxNegative);
      const ttft = Number(maxTtft);
      if (!(errorRate >= 0 && errorRate <= 100) || !(negative >= 0 && negative <= 100))
        return { error: 'The error rate and thumbs-down thresholds are percents from 0 to 100.' };
      if (!(ttft > 0)) return { error: 'The TTFT threshold is a number of milliseconds above 0.' };
      return {
        policy: {
          type: 'canary',
          stable,
          candidate,
          steps: read.steps,
          minSamples: samples,
          stepSeconds: seconds,
          thresholds: { errorRate: errorRate / 100, ttftP95Ms: ttft, negativeFeedbackRate: negative / 100 },
          sticky,
        },
      };
    }
    const names = variants.map((v) => v.name.trim());
    if (names.some((n) => !/^[a-z0-9_-]{1,20}$/.test(n)))
      return { error: 'Variant names take lower-case letters, digits, “-” and “_”, at most 20.' };
    if (new Set(names).size !== names.length) return { error: 'Each variant needs a name of its own.' };
    const weights = variants.map((v) => Number(v.weight));
    if (weights.some((w) => !(w > 0))) return { error: 'Each variant’s weight is a number above 0.' };
    const samples = whole(abMinSamples, 'Minimum samples', 1);
    if (typeof samples === 'string') return { error: samples };
    return {
      policy: {
        type: 'ab',
        variants: variants.map((v, i) => ({ name: names[i] as string, version: v.version, weight: weights[i] as number })),
        sticky,
        metric,
        delta: Number(confidence),
        minSamples: samples,
      },
    };
  };

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const read = readPolicy();
    if ('error' in read) return setError(read.error);
    setError(undefined);
    const input: AliasInput = {
      ...(alias.description !== undefined ? { description: alias.description } : {}),
      policy: read.policy,
      ...(alias.shadow ? { shadow: alias.shadow } : {}),
      ...(alias.cache ? { cache: alias.cache } : {}),
    };
    update.mutate(input, {
      onSuccess: () =>
        toast.success(
          kind === 'fixed'
            ? `Fixed at v${fixed}`
            : kind === 'canary'
              ? `Canary of v${candidate} started`
              : kind === 'ab'
                ? 'A/B test started'
                : 'Traffic split set',
        ),
      onError: (err) => setError(describeError(err).message),
    });
  };

  const versionSelect = (value: number, onChange: (v: number) => void, label: string) => (
    <Field label={label}>
      <select className="deploy-field" value={value} onChange={(e) => onChange(Number(e.target.value))}>
        {versions.map((v) => (
          <option key={v} value={v}>
            v{v}
          </option>
        ))}
      </select>
    </Field>
  );
  const stickySelect = (
    <Field label="Keep on one version">
      <select className="deploy-field" value={sticky} onChange={(e) => setSticky(e.target.value as Sticky)}>
        {Object.entries(STICKY_LABELS).map(([value, text]) => (
          <option key={value} value={value}>
            {text}
          </option>
        ))}
      </select>
    </Field>
  );
  const KINDS: Array<[PolicyKind, string]> = [
    ['canary', 'Canary rollout'],
    ['ab', 'A/B test'],
    ['weighted', 'Weighted split'],
    ['fixed', 'Fixed version'],
  ];

  return (
    <form onSubmit={submit} className="deploy-card space-y-3" aria-label="Traffic">
      <h3 className="text-sm font-semibold">Change the traffic</h3>
      <fieldset>
        <legend className="deploy-label">Policy</legend>
        <div className="mt-1 flex flex-wrap gap-x-4 gap-y-1 text-sm">
          {KINDS.map(([value, text]) => (
            <label key={value} className="inline-flex items-center gap-1.5">
              <input type="radio" name={kindName} value={value} checked={kind === value} onChange={() => setKind(value)} />
              {text}
            </label>
          ))}
        </div>
      </fieldset>
      {kind === 'fixed' && versionSelect(fixed, setFixed, 'Version')}
      {kind === 'weighted' && (
        <>
          <fieldset className="space-y-2">
            <legend className="deploy-label">Shares (relative weights; 90 and 10 send 90 % and 10 %)</legend>
            {split.map((part, i) => (
              <div key={part.key} className="deploy-split" data-testid="weighted-part">
                {versionSelect(
                  part.version,
                  (version) => setSplit(split.map((s) => (s.key === part.key ? { ...s, version } : s))),
                  `Part ${i + 1} version`,
                )}
                <Field label={`Part ${i + 1} share`}>
                  <input
                    className="deploy-field"
                    type="number"
                    min={0}
                    step="any"
                    value={part.weight}
                    onChange={(e) => setSplit(split.map((s) => (s.key === part.key ? { ...s, weight: e.target.value } : s)))}
                  />
                </Field>
                <IconButton
                  label={`Remove part ${i + 1}`}
                  className="self-end"
                  disabled={split.length <= 1}
                  onClick={() => setSplit(split.filter((s) => s.key !== part.key))}
                >
                  <Trash2 className="size-4" aria-hidden="true" />
                </IconButton>
              </div>
            ))}
            {split.length < Math.min(10, versions.length) && (
              <Button
                variant="secondary"
                onClick={() => {
                  const key = Math.max(...split.map((s) => s.key)) + 1;
                  const unused = versions.find((v) => !split.some((s) => s.version === v)) ?? newest;
                  setSplit([...split, { key, name: '', version: unused, weight: '10' }]);
                }}
              >
                <Plus className="size-4" aria-hidden="true" /> Add a version to the split
              </Button>
            )}
          </fieldset>
          {stickySelect}
        </>
      )}
      {kind === 'canary' && (
        <>
          <div className="deploy-grid">
            {versionSelect(stable, setStable, 'Stable version')}
            {versionSelect(candidate, setCandidate, 'Candidate version')}
          </div>
          <Field label="Steps" hint="percent of traffic to the candidate at each step; after the last it is promoted">
            <input className="deploy-field" value={steps} onChange={(e) => setSteps(e.target.value)} autoComplete="off" />
          </Field>
          <div className="deploy-grid">
            <Field label="Minimum requests per step">
              <input
                className="deploy-field"
                type="number"
                min={1}
                step={1}
                value={minSamples}
                onChange={(e) => setMinSamples(e.target.value)}
              />
            </Field>
            <Field label="Minimum time per step (s)">
              <input
                className="deploy-field"
                type="number"
                min={0}
                step={1}
                value={stepSeconds}
                onChange={(e) => setStepSeconds(e.target.value)}
              />
            </Field>
          </div>
          <fieldset className="deploy-grid">
            <legend className="deploy-label">Roll back when the candidate exceeds</legend>
            <Field label="Error rate (%)">
              <input
                className="deploy-field"
                type="number"
                min={0}
                max={100}
                step="any"
                value={maxErrorRate}
                onChange={(e) => setMaxErrorRate(e.target.value)}
              />
            </Field>
            <Field label="TTFT p95 (ms)">
              <input className="deploy-field" type="number" min={1} step={1} value={maxTtft} onChange={(e) => setMaxTtft(e.target.value)} />
            </Field>
            <Field label="Thumbs-down share (%)">
              <input
                className="deploy-field"
                type="number"
                min={0}
                max={100}
                step="any"
                value={maxNegative}
                onChange={(e) => setMaxNegative(e.target.value)}
              />
            </Field>
          </fieldset>
          {stickySelect}
        </>
      )}
      {kind === 'ab' && (
        <>
          <fieldset className="space-y-2">
            <legend className="deploy-label">Variants</legend>
            {variants.map((variant, i) => (
              <div key={variant.key} className="deploy-variant" data-testid="ab-variant">
                <Field label={`Variant ${i + 1} name`}>
                  <input
                    className="deploy-field"
                    value={variant.name}
                    onChange={(e) => setVariants(variants.map((v) => (v.key === variant.key ? { ...v, name: e.target.value } : v)))}
                    autoComplete="off"
                  />
                </Field>
                {versionSelect(
                  variant.version,
                  (version) => setVariants(variants.map((v) => (v.key === variant.key ? { ...v, version } : v))),
                  `Variant ${i + 1} version`,
                )}
                <Field label={`Variant ${i + 1} weight`}>
                  <input
                    className="deploy-field"
                    type="number"
                    min={0}
                    step="any"
                    value={variant.weight}
                    onChange={(e) => setVariants(variants.map((v) => (v.key === variant.key ? { ...v, weight: e.target.value } : v)))}
                  />
                </Field>
                <IconButton
                  label={`Remove variant ${i + 1}`}
                  className="self-end"
                  disabled={variants.length <= 2}
                  onClick={() => setVariants(variants.filter((v) => v.key !== variant.key))}
                >
                  <Trash2 className="size-4" aria-hidden="true" />
                </IconButton>
              </div>
            ))}
            {variants.length < 6 && (
              <Button
                variant="secondary"
                onClick={() => {
                  const key = Math.max(...variants.map((v) => v.key)) + 1;
                  setVariants([...variants, { key, name: String.fromCharCode(96 + Math.min(key, 26)), version: newest, weight: '1' }]);
                }}
              >
                <Plus className="size-4" aria-hidden="true" /> Add a variant
              </Button>
            )}
          </fieldset>
          <div className="deploy-grid">
            <Field label="Winner by">
              <select className="deploy-field" value={metric} onChange={(e) => setMetric(e.target.value as typeof metric)}>
                <option value="feedback">share of thumbs-up</option>
                <option value="success">share of requests that succeed</option>
              </select>
            </Field>
            <Field label="Confidence">
              <select className="deploy-field" value={confidence} onChange={(e) => setConfidence(e.target.value)}>
                <option value="0.1">90 %</option>
                <option value="0.05">95 %</option>
                <option value="0.01">99 %</option>
              </select>
            </Field>
            <Field label="Minimum samples per variant">
              <input
                className="deploy-field"
                type="number"
                min={1}
                step={1}
                value={abMinSamples}
                onChange={(e) => setAbMinSamples(e.target.value)}
              />
            </Field>
            {stickySelect}
          </div>
        </>
      )}
      <FormError error={error} />
      <Button type="submit" variant="primary" disabled={update.isPending}>
        {kind === 'fixed' ? 'Set fixed version' : kind === 'canary' ? 'Start canary' : kind === 'ab' ? 'Start A/B test' : 'Set split'}
      </Button>
    </form>
  );
}
