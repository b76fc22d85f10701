import { timingSafeEqual } from 'node:crypto';
import type { ApiKeyScope, CreatedApiKey, Role, User } from '@axon/contracts';
import { RateLimiterMemory, type RateLimiterRes } from 'rate-limiter-flexible';
import { AppError } from '../errors';
import type { InvalidationBus } from '../invalidation/invalidation-bus';
import { HOME_ORG_ID, type Store } from '../store';
import type { JwtVerifier } from './jwt-verifier';
import { hashPassword, verifyPassword } from './password';
import { API_KEY_PREFIX, generateApiKey, generateToken, hashToken } from './tokens';

/** Who is calling, and how they proved it. */
export interface Principal {
  user: User;
  via: 'session' | 'api_key' | 'jwt';
  apiKeyId?: string;
  /** For API keys: what the key may be used for, its own limits, and the template and model it is bound to. */
  apiKey?: { id: string; scopes: ApiKeyScope[]; rpm: number | null; tpm: number | null; prompt: string | null; model: string | null };
  /** For sessions: the token writes must echo in `x-csrf-token`. */
  csrfToken?: string;
  sessionTokenHash?: string;
  /** For sessions: the session's public id (as `GET /api/auth/sessions` lists it). */
  sessionId?: string;
}

export interface AuthServiceOptions {
  store: Store;
  sessionTtlMs: number;
  now?: () => Date;
  /** Verifies bearer JWTs of a trusted issuer; without it only `axn_` keys are bearer tokens. */
  jwt?: JwtVerifier | undefined;
  /** Slug of the organisation callers with bearer JWTs belong to (default: the first). */
  jwtOrganization?: string | undefined;
  /** Sign-in attempts allowed per account in `loginWindowSeconds`, from any address (a right password gives them back). */
  maxFailedLogins?: number;
  /** Sign-in attempts allowed per address, whatever the account. */
  maxFailedLoginsPerIp?: number;
  loginWindowSeconds?: number;
  /**
   * How long a looked-up API key is trusted without asking the store again (default 5 s). Changes
   * (revocation, roles, disabled or deleted accounts) apply at once in this process and, through
   * `bus`, on every replica; a replica that misses the message sees them within this time. Sessions
   * are not cached: a disabled account's sessions stop everywhere at once.
   */
  keyCacheMs?: number;
  /** Carries `forgetKeys` to every replica. */
  bus?: InvalidationBus | undefined;
}

export interface AuthService {
  /** The principal for a bearer token or a session cookie; `unauthenticated` for a bad bearer token. */
  authenticate(input: { bearer?: string | undefined; sessionToken?: string | undefined }): Promise<Principal | undefined>;
  /**
   * The account of someone an identity provider vouches for: found by the provider's subject, else by
   * email, else created in the provider's organisation; its role follows the provider's claims.
   */
  provision(identity: ExternalIdentity): Promise<{ user: User; created: boolean }>;
  /** Opens a session for an account (after single sign-on). */
  openSession(user: User): Promise<{ token: string; principal: Principal }>;
  /** Checks a password (throttled per account and address) and opens a session. */
  login(input: { email: string; password: string; ip: string }): Promise<{ token: string; principal: Principal }>;
  /** Creates the first admin account and signs it in; `setup_complete` once any account exists. */
  setup(input: { email: string; password: string }): Promise<{ token: string; principal: Principal }>;
  logout(principal: Principal): Promise<void>;
  createUser(input: { email: string; password: string; role: Role; orgId?: string }): Promise<User>;
  createApiKey(
    userId: string,
    name: string,
    options?: {
      scopes?: ApiKeyScope[];
      rpm?: number | null;
      tpm?: number | null;
      expiresInDays?: number | null;
      prompt?: string | null;
      model?: string | null;
    },
  ): Promise<CreatedApiKey>;
  /** Forgets cached API key lookups here and on every replica (after a key is revoked or an account changes). */
  forgetKeys(): void;
  /** Whether a write carries the session's CSRF token. */
  checkCsrf(principal: Principal, header: string | undefined): boolean;
}

export interface ExternalIdentity {
  /** `jwt`, or the id of an OIDC provider. */
  provider: string;
  /** The provider's stable id for the person, when it has one. */
  subject?: string | undefined;
  email: string;
  role: Role;
  /** Organisation slug; undefined: the first organisation. */
  organization?: string | undefined;
}

/** Disabled accounts cannot sign in at all; for passwords checked after the password, so the answer tells a guesser nothing. */
function refuseDisabled(user: { disabledAt: string | null }): void {
  if (user.disabledAt) throw new AppError('account_disabled', { detail: 'This account is disabled. Ask an administrator to enable it.' });
}

export function createAuthService(options: AuthServiceOptions): AuthService {
  const { store, sessionTtlMs, now = () => new Date() } = options;
  const windowSeconds = options.loginWindowSeconds ?? 15 * 60;
  const perAccount = new RateLimiterMemory({ points: options.maxFailedLogins ?? 5, duration: windowSeconds });
  const perIp = new RateLimiterMemory({ points: options.maxFailedLoginsPerIp ?? 50, duration: windowSeconds });
  const lastTouched = new Map<string, number>();
  const keyCacheMs = options.keyCacheMs ?? 5000;
  type FoundKey = Awaited<ReturnType<Store['apiKeys']['findActiveByHash']>>;
  const keyCache = new Map<string, { found: FoundKey; until: number }>();
  // A lookup that started before a change must not cache what it read after the change was announced.
  let keyGeneration = 0;
  const dropKeys = () => {
    keyGeneration++;
    keyCache.clear();
  };
  options.bus?.subscribe('api-keys', dropKeys);
  async function findKey(keyHash: string, at: number): Promise<FoundKey> {
    const cached = keyCache.get(keyHash);
    if (cached && cached.until > at) return cached.found;
    const started = keyGeneration;
    const found = await store.apiKeys.findActiveByHash(keyHash);
    if (started !== keyGeneration) return found;
    if (keyCache.size >= 10_000) keyCache.clear();
    keyCache.set(keyHash, { found, until: at + keyCacheMs });
    return found;
  }

  async function openSession(user: User): Promise<{ token: string; principal: Principal }> {
    const token = generateToken();
    const csrfToken = generateToken();
    const tokenHash = hashToken(token);
    await store.sessions.create({ tokenHash, userId: user.id, csrfToken, expiresAt: new Date(now().getTime() + sessionTtlMs) });
    return { token, principal: { user, via: 'session', csrfToken, sessionTokenHash: tokenHash } };
  }

  /** Takes one sign-in attempt from a limiter, or refuses with the wait until the next. */
  async function attempt(limiter: RateLimiterMemory, key: string, limit: string): Promise<void> {
    try {
      await limiter.consume(key, 1);
    } catch (refused) {
      if (refused instanceof Error) throw refused;
      throw new AppError('rate_limited', {
        detail: 'Too many sign-in attempts; wait before trying again.',
        retryAfterMs: (refused as RateLimiterRes).msBeforeNext,
        extensions: { limit },
      });
    }
  }

  const publicUser = (u: User): User => ({ id: u.id, email: u.email, role: u.role, orgId: u.orgId, createdAt: u.createdAt });
  const sessionSeen = new Map<string, number>();

  async function provision(identity: ExternalIdentity): Promise<{ user: User; created: boolean }> {
    const orgId = identity.organization ? (await store.organizations.findBySlug(identity.organization))?.id : HOME_ORG_ID;
    if (!orgId) {
      throw new AppError('forbidden', {
        detail: `The organisation "${identity.organization}" that ${identity.provider} signs people into does not exist; an administrator must create it.`,
      });
    }
    let user = identity.subject ? await store.users.findByIdentity(identity.provider, identity.subject) : undefined;
    user ??= await store.users.findByEmail(identity.email);
    let created = false;
    if (!user) {
      try {
        user = await store.users.create({ email: identity.email, passwordHash: null, role: identity.role, orgId });
        created = true;
      } catch (error) {
        // Two first sign-ins at once: the other one created the account.
        user = await store.users.findByEmail(identity.email);
        if (!user) throw error;
      }
    }
    if (user.orgId !== orgId) {
      throw new AppError('forbidden', { detail: `The account ${identity.email} belongs to another organisation.` });
    }
    refuseDisabled(user);
    if (identity.subject) await store.users.linkIdentity(identity.provider, identity.subject, user.id);
    // The provider is the source of truth for what the person may do.
    if (user.role !== identity.role) {
      await store.users.setRole(user.id, identity.role);
      user = { ...user, role: identity.role };
    }
    return { user: publicUser(user), created };
  }

  return {
    async authenticate({ bearer, sessionToken }) {
      if (bearer !== undefined) {
        if (options.jwt && !bearer.startsWith(API_KEY_PREFIX) && bearer.split('.').length === 3) {
          const caller = await options.jwt.verify(bearer);
          const { user } = await provision({ provider: 'jwt', ...caller, organization: options.jwtOrganization });
          return { user, via: 'jwt' };
        }
        if (!bearer.startsWith(API_KEY_PREFIX))
          throw new AppError('unauthenticated', { detail: 'The API key is not valid. Axon keys start with axn_.' });
        const at = now().getTime();
        const found = await findKey(hashToken(bearer), at);
        if (!found) throw new AppError('unauthenticated', { detail: 'The API key is not valid or has been revoked.' });
        if (found.key.expiresAt && Date.parse(found.key.expiresAt) <= at)
          throw new AppError('unauthenticated', { detail: `The API key expired on ${found.key.expiresAt}.` });
        if ((lastTouched.get(found.key.id) ?? 0) < at - 60_000) {
          lastTouched.set(found.key.id, at);
          await store.apiKeys.touch(found.key.id, new Date(at));
        }
        const { id, scopes, rpm, tpm, prompt, model } = found.key;
        return { user: found.user, via: 'api_key', apiKeyId: id, apiKey: { id, scopes, rpm, tpm, prompt, model } };
      }
      if (sessionToken) {
        const tokenHash = hashToken(sessionToken);
        const at = now();
        const session = await store.sessions.find(tokenHash, at);
        if (session) {
          if ((sessionSeen.get(session.id) ?? 0) < at.getTime() - 60_000) {
            if (sessionSeen.size >= 10_000) sessionSeen.clear();
            sessionSeen.set(session.id, at.getTime());
            await store.sessions.touch(tokenHash, at);
          }
          return { user: session.user, via: 'session', csrfToken: session.csrfToken, sessionTokenHash: tokenHash, sessionId: session.id };
        }
      }
      return undefined;
    },

    provision,
    openSession,

    async login({ email, password, ip }) {
      const account = email.trim().toLowerCase();
      // An attempt is consumed before the password is checked, in one step, so that parallel guesses
      // cannot all read a counter that none has raised yet; the account's count holds whatever the
      // address, and the address's whatever the account.
      await attempt(perIp, ip, 'sign-in attempts per address');
      await attempt(perAccount, account, 'sign-in attempts per account');
      const user = await store.users.findByEmail(email);
      const ok = await verifyPassword(user?.passwordHash ?? null, password);
      if (!user || !ok) throw new AppError('invalid_credentials');
      // A right password gives its attempts back.
      await Promise.all([perAccount.delete(account), perIp.reward(ip, 1)]);
      refuseDisabled(user);
      return openSession(publicUser(user));
    },

    async setup({ email, password }) {
      if ((await store.users.count()) > 0) throw new AppError('setup_complete', { detail: 'An account exists already; sign in instead.' });
      const passwordHash = await hashPassword(password);
      const user = await store.users.createFirstAdmin({ email, passwordHash });
      if (!user) throw new AppError('setup_complete', { detail: 'An account exists already; sign in instead.' });
      return openSession(publicUser(user));
    },

    async logout(principal) {
      if (principal.sessionTokenHash) await store.sessions.delete(principal.sessionTokenHash);
    },

    async createUser({ email, password, role, orgId = HOME_ORG_ID }) {
      const user = await store.users.create({ email, passwordHash: await hashPassword(password), role, orgId });
      return publicUser(user);
    },

    async createApiKey(userId, name, options = {}) {
      const key = generateApiKey();
      const record = await store.apiKeys.create({
        userId,
        name,
        prefix: key.slice(0, API_KEY_PREFIX.length + 6),
        keyHash: hashToken(key),
        scopes: options.scopes ?? ['chat', 'embeddings'],
        rpm: options.rpm ?? null,
        tpm: options.tpm ?? null,
        expiresAt: options.expiresInDays ? new Date(now().getTime() + options.expiresInDays * 86_400_000).toISOString() : null,
        prompt: options.prompt ?? null,
        model: options.model ?? null,
      });
      const { userId: _owner, ...apiKey } = record;
      return { apiKey, key };
    },

    forgetKeys() {
      dropKeys();
      options.bus?.publish('api-keys');
    },

    checkCsrf(principal, header) {
      if (principal.via !== 'session') return true;
      if (!header || !principal.csrfToken) return false;
      const a = Buffer.from(header);
      const b = Buffer.from(principal.csrfToken);
      return a.length === b.length && timingSafeEqual(a, b);
    },
  };
}
