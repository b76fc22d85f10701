import { z } from 'zod';

/**
 * Model operations: aliases that name immutable versions, the traffic policy that splits an
 * alias's requests among its versions, and the experiments' per-arm figures. Shared by the API
 * (`/api/deployments`) and the web app's deployments page.
 */

export const AliasNameSchema = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, 'lower-case letters, digits, ".", "-" and "_"; at most 63');

/** An endpoint serving a version's model: a connection (its wire target) and the model's id there. */
export const EndpointSpecSchema = z.object({
  /** A configured connection's name (`openai`, `vllm-a`…). */
  connection: z.string().min(1).max(40),
  /** The model's id at that connection; the version's model id when absent. */
  model: z.string().min(1).max(200).optional(),
  weight: z.number().positive().max(1000).default(1),
  /** Requests it may have in flight at once (none: no limit). */
  maxConcurrent: z.number().int().positive().optional(),
});
export type EndpointSpec = z.infer<typeof EndpointSpecSchema>;

export const BalanceStrategySchema = z.enum(['weighted', 'least-outstanding', 'latency', 'prefix']);
export type BalanceStrategy = z.infer<typeof BalanceStrategySchema>;

/** Generation parameters a version fixes; a caller's own values win. */
export const GenerationParamsSchema = z
  .object({
    temperature: z.number().min(0).max(2).optional(),
    top_p: z.number().min(0).max(1).optional(),
    max_tokens: z.number().int().positive().optional(),
    presence_penalty: z.number().min(-2).max(2).optional(),
    frequency_penalty: z.number().min(-2).max(2).optional(),
    seed: z.number().int().optional(),
    stop: z.union([z.string(), z.array(z.string()).max(4)]).optional(),
  })
  .strict();
export type GenerationParams = z.infer<typeof GenerationParamsSchema>;

/** What a new version holds; once made, a version never changes. */
export const ModelVersionInputSchema = z.object({
  /** A model the catalog offers (`openai/gpt-4o-mini`, `vllm/llama-3.1-8b`, `local/extractive`). */
  model: z.string().min(1).max(200),
  params: GenerationParamsSchema.default({}),
  /** A prompt template, `name@version` (a version number is required: a version is immutable). */
  prompt: z
    .string()
    .regex(/^[A-Za-z0-9._-]+@\d+$/, 'name@version')
    .optional(),
  /** Endpoints beyond the model's own connection; empty: the model's connection alone. */
  endpoints: z.array(EndpointSpecSchema).max(32).default([]),
  balance: BalanceStrategySchema.default('weighted'),
  /**
   * For `balance: prefix` over a vLLM/SGLang fleet: a prompt must share at least `minMatchBlocks`
   * leading 16-token blocks with what a replica was sent to go there (set it above the longest
   * system prompt many conversations share), and goes to the least-loaded replica instead when its
   * replica is busier by more than `imbalanceThreshold` requests.
   */
  prefixRouting: z
    .object({
      minMatchBlocks: z.number().int().min(1).max(1024).default(4),
      imbalanceThreshold: z.number().positive().max(1000).default(4),
    })
    .optional(),
  /** Models tried in order when every endpoint fails before the first token: `alias@version` or catalog ids. */
  fallbacks: z.array(z.string().min(1).max(200)).max(5).default([]),
  note: z.string().max(500).optional(),
});
export type ModelVersionInput = z.infer<typeof ModelVersionInputSchema>;

export const ModelVersionSchema = ModelVersionInputSchema.extend({
  alias: AliasNameSchema,
  version: z.number().int().positive(),
  createdAt: z.string(),
  createdBy: z.string().nullable(),
});
export type ModelVersion = z.infer<typeof ModelVersionSchema>;

const Thresholds = z.object({
  /** Share of failed requests (0..1) above which the candidate is rolled back. */
  errorRate: z.number().min(0).max(1).default(0.05),
  /** p95 time to first token, in ms, above which it is rolled back. */
  ttftP95Ms: z.number().positive().default(5000),
  /** Share of thumbs-down among rated answers above which it is rolled back. */
  negativeFeedbackRate: z.number().min(0).max(1).default(0.3),
});

export const StickySchema = z.enum(['user', 'conversation', 'request']);
export type Sticky = z.infer<typeof StickySchema>;

/** How an alias's requests are split among its versions. */
export const TrafficPolicySchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('fixed'), version: z.number().int().positive() }),
  z.object({
    type: z.literal('weighted'),
    split: z
      .array(z.object({ version: z.number().int().positive(), weight: z.number().positive() }))
      .min(1)
      .max(10),
    sticky: StickySchema.default('conversation'),
  }),
  z.object({
    type: z.literal('canary'),
    stable: z.number().int().positive(),
    candidate: z.number().int().positive(),
    /** Percent of traffic to the candidate at each step; the last step promotes it. */
    steps: z.array(z.number().min(0).max(100)).min(1).max(10).default([5, 25, 50, 100]),
    /** Requests the candidate must have served at a step before it may move on or be judged. */
    minSamples: z.number().int().positive().default(100),
    /** Time a step lasts at least, in seconds. */
    stepSeconds: z.number().int().min(0).default(600),
    thresholds: Thresholds.default({ errorRate: 0.05, ttftP95Ms: 5000, negativeFeedbackRate: 0.3 }),
    sticky: StickySchema.default('conversation'),
  }),
  z.object({
    type: z.literal('ab'),
    variants: z
      .array(
        z.object({
          name: z.string().regex(/^[a-z0-9_-]{1,20}$/),
          version: z.number().int().positive(),
          weight: z.number().positive().default(1),
        }),
      )
      .min(2)
      .max(6),
    sticky: StickySchema.default('conversation'),
    /** What decides the winner: the share of thumbs-up among rated answers, or of requests that did not fail. */
    metric: z.enum(['feedback', 'success']).default('feedback'),
    /** The test's error probability. */
    delta: z.number().gt(0).lt(0.5).default(0.05),
    minSamples: z.number().int().positive().default(30),
  }),
]);
export type TrafficPolicy = z.infer<typeof TrafficPolicySchema>;

/** A share of requests mirrored to a candidate version whose answers are never returned. */
export const ShadowPolicySchema = z.object({
  version: z.number().int().positive(),
  /** Share of requests mirrored (0..1). */
  share: z.number().min(0).max(1),
});
export type ShadowPolicy = z.infer<typeof ShadowPolicySchema>;

export const CachePolicySchema = z.object({
  exact: z.boolean().default(true),
  /** Semantic hits: single-turn requests whose embedding is at least this similar (cosine) to a cached one's. */
  semantic: z.object({ threshold: z.number().min(0.5).max(1) }).optional(),
  ttlSeconds: z
    .number()
    .int()
    .positive()
    .max(7 * 86_400)
    .default(3600),
});
export type CachePolicy = z.infer<typeof CachePolicySchema>;

/** The state of an alias's rollout or experiment, kept by Axon as it runs. */
export const RolloutStateSchema = z.object({
  status: z.enum(['running', 'paused', 'promoted', 'rolled-back', 'stopped']),
  /** The canary's current step (an index into `steps`). */
  step: z.number().int().min(0).default(0),
  stepStartedAt: z.string(),
  /** Why it last changed: "promoted: 1,203 requests, 0.4 % errors", "rolled back: error rate 12 % > 5 %". */
  reason: z.string().nullable().default(null),
  /** An A/B test's winner once it stopped. */
  winner: z.string().nullable().default(null),
  /**
   * The policy a verdict (promote, roll back) replaced: a start whose configuration still says that
   * policy leaves the verdict alone instead of running the rollout again.
   */
  decidedFrom: TrafficPolicySchema.optional(),
  /**
   * A canary candidate's counts when the current step began: the figures are kept per revision,
   * so a step is judged on the requests it served (the figures minus these).
   */
  stepBaseline: z
    .object({
      requests: z.number().int().min(0),
      errors: z.number().int().min(0),
      thumbsUp: z.number().int().min(0),
      thumbsDown: z.number().int().min(0),
    })
    .optional(),
});
export type RolloutState = z.infer<typeof RolloutStateSchema>;

export const AliasInputSchema = z.object({
  description: z.string().max(300).optional(),
  policy: TrafficPolicySchema,
  shadow: ShadowPolicySchema.optional(),
  cache: CachePolicySchema.optional(),
});
export type AliasInput = z.infer<typeof AliasInputSchema>;

export const ModelAliasSchema = AliasInputSchema.extend({
  name: AliasNameSchema,
  /** `config` when declared in axon.config.yaml (the file wins at every start), `api` otherwise. */
  source: z.enum(['config', 'api']),
  /** Bumped at every change of policy, so that experiments and caches can tell epochs apart. */
  revision: z.number().int().positive(),
  state: RolloutStateSchema.nullable(),
  versions: z.array(ModelVersionSchema),
  updatedAt: z.string(),
});
export type ModelAlias = z.infer<typeof ModelAliasSchema>;

/** One arm's figures in an alias's current experiment (`stable`/`candidate`, an A/B variant, or `v<N>`). */
export const ArmStatsSchema = z.object({
  arm: z.string(),
  version: z.number().int().positive(),
  requests: z.number().int().min(0),
  errors: z.number().int().min(0),
  ttftP50Ms: z.number().nullable(),
  ttftP95Ms: z.number().nullable(),
  costUsd: z.number().min(0),
  thumbsUp: z.number().int().min(0),
  thumbsDown: z.number().int().min(0),
});
export type ArmStats = z.infer<typeof ArmStatsSchema>;

/** The result of an A/B test's sequential test. */
export const ExperimentReportSchema = z.object({
  metric: z.enum(['feedback', 'success']),
  delta: z.number(),
  /** Observations so far (rated answers, or requests). */
  samples: z.number().int().min(0),
  /** The smallest GLR statistic of the leader against the others, and the threshold it must pass. */
  glr: z.number().nullable(),
  threshold: z.number().nullable(),
  leader: z.string().nullable(),
  /** Whether the test may stop: the leader is better than every other arm with probability ≥ 1 − δ. */
  significant: z.boolean(),
  /** Each arm's estimated rate (thumbs-up share or success share). */
  rates: z.record(z.string(), z.number()),
});
export type ExperimentReport = z.infer<typeof ExperimentReportSchema>;

export const DeploymentStatusSchema = z.object({
  alias: ModelAliasSchema,
  arms: z.array(ArmStatsSchema),
  report: ExperimentReportSchema.nullable(),
  shadow: z
    .object({
      version: z.number().int().positive(),
      requests: z.number().int().min(0),
      meanLatencyRatio: z.number().nullable(),
      meanLengthRatio: z.number().nullable(),
      meanSimilarity: z.number().nullable(),
      costUsd: z.number().min(0),
    })
    .nullable(),
});
export type DeploymentStatus = z.infer<typeof DeploymentStatusSchema>;
