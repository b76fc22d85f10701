import type {
  AliasInput,
  ArmStats,
  FeedbackSource,
  FeedbackValue,
  ModelAlias,
  ModelVersion,
  ModelVersionInput,
  RolloutState,
} from '@axon/contracts';

/**
 * The seams of model operations. The registry (aliases → immutable versions → endpoints) lives in
 * the store; what replicas must share while traffic flows (per-arm figures, cached answers) is
 * behind an interface with an in-process and a Redis implementation.
 */

/** The store's side of the registry. Versions are immutable; an alias's policy changes bump its revision. */
export interface ModelRegistryRepository {
  listAliases(): Promise<ModelAlias[]>;
  getAlias(name: string): Promise<ModelAlias | undefined>;
  /**
   * Creates or replaces an alias's description and policies (not its versions); bumps the revision.
   * The state starts over: `running` at step 0 for canary and A/B policies, null for the others.
   */
  putAlias(name: string, input: AliasInput, source: 'config' | 'api'): Promise<ModelAlias>;
  deleteAlias(name: string): Promise<boolean>;
  /**
   * Adds the next version (1, 2, …) of an alias that exists (`not_found` otherwise); numbered atomically
   * across replicas. With `ifNext`, only if that is the number it would get (`conflict` otherwise): how
   * replicas syncing the same configuration at once add each version once.
   */
  addVersion(alias: string, input: ModelVersionInput, createdBy: string | null, options?: { ifNext?: number }): Promise<ModelVersion>;
  /** Sets the rollout state only if the alias is still at `revision` (compare-and-set; false if not). */
  setState(alias: string, revision: number, state: RolloutState | null): Promise<boolean>;
  /** Remembers which alias, version and arm served a response (a `/v1` response id or a web chat message id). */
  recordServed(served: ServedResponse): Promise<void>;
  servedBy(responseId: string): Promise<ServedResponse | undefined>;
  /**
   * Keeps the feedback of the user a response served (null: withdrawn), with the value it replaced;
   * undefined when the response is unknown or served someone else.
   */
  setServedFeedback(
    responseId: string,
    userId: string,
    value: FeedbackValue | null,
    comment: string | null,
  ): Promise<{ previous: FeedbackValue | null } | undefined>;
  /** Forgets responses served before `before` (feedback on them no longer counts); returns how many. */
  pruneServed(before: Date): Promise<number>;
}

export interface ServedResponse {
  responseId: string;
  orgId: string;
  userId: string;
  alias: string;
  version: number;
  revision: number;
  arm: string;
  /** Who asked: the web chat (`responseId` is a message id) or a program through `/v1`; the feedback dashboard's source. */
  source: FeedbackSource;
}

/** Where an alias's request goes: the version, and the arm of the experiment it counts for. */
export interface Assignment {
  alias: string;
  version: number;
  /** `v<N>` for fixed and weighted policies, `stable`/`candidate` in a canary, the variant's name in an A/B test. */
  arm: string;
  /** The alias's revision the assignment was made under. */
  revision: number;
  /** A version to mirror this request to, whose answer is never returned. */
  shadowVersion?: number | undefined;
}

/** What a finished call tells the experiment figures. */
export interface CallOutcome {
  ok: boolean;
  ttftMs: number | null;
  totalMs: number | null;
  costUsd: number;
  outputChars: number;
}

/** Per-arm figures shared by every replica (memory, or Redis with `REDIS_URL`), keyed by alias and revision. */
export interface ArmMetricsStore {
  record(alias: string, revision: number, arm: string, version: number, outcome: CallOutcome): Promise<void>;
  recordFeedback(
    alias: string,
    revision: number,
    arm: string,
    version: number,
    value: 'up' | 'down',
    previous?: 'up' | 'down',
  ): Promise<void>;
  snapshot(alias: string, revision: number): Promise<ArmStats[]>;
  close(): Promise<void>;
}
