import { randomUUID } from 'node:crypto';

/**
 * What changed, by the kind of thing that replicas keep in memory:
 * - `org-settings`: an organisation's limits or settings (key: the organisation id);
 * - `api-keys`: looked-up API keys (a key revoked, an account disabled, deleted or moved; no key: all);
 * - `mcp-servers`: an MCP server's open connection (key: the server id);
 * - `models`: the connections' model listings;
 * - `dataset-files`: a dataset file replaced or deleted (key: its file), dropped from local caches;
 * - `tool-approvals`: a tool call's approval decided (key: the approval id), to wake the run waiting on it.
 * - `model-aliases`: a model alias's versions or policy changed (key: the alias).
 */
export type InvalidationTopic =
  | 'org-settings'
  | 'api-keys'
  | 'mcp-servers'
  | 'models'
  | 'dataset-files'
  | 'tool-approvals'
  | 'model-aliases';

/** Told of a message: the key that changed, or undefined when everything of the topic may have. */
export type InvalidationListener = (key: string | undefined) => void;

/**
 * Tells every replica that something it may hold in memory has changed, so that it drops its copy
 * at once instead of when its time to live runs out. Delivery to other replicas is best effort: a
 * cache keeps its time to live as the bound on staleness when a message is lost.
 */
export interface InvalidationBus {
  /**
   * Announces a change: this process's listeners are called before it returns, other replicas'
   * as the message reaches them. Never throws; a failure to reach the others is reported to the bus's `onError`.
   */
  publish(topic: InvalidationTopic, key?: string): void;
  /**
   * Calls `listener` for every change of `topic` announced by any replica, this one included. After
   * the connection to the other replicas was lost (messages may have been missed), every listener is
   * called once with `undefined`. Returns the function that unsubscribes.
   */
  subscribe(topic: InvalidationTopic, listener: InvalidationListener): () => void;
  /** Stops listening to the other replicas. */
  close(): Promise<void>;
}

/** Listeners by topic, called in the order they subscribed; one that throws does not stop the others. */
function createListeners(onError: (error: unknown) => void) {
  const byTopic = new Map<InvalidationTopic, Set<InvalidationListener>>();
  return {
    add(topic: InvalidationTopic, listener: InvalidationListener) {
      const set = byTopic.get(topic) ?? new Set<InvalidationListener>();
      byTopic.set(topic, set);
      // The same function may subscribe twice; each subscription is its own entry.
      const entry: InvalidationListener = (key) => listener(key);
      set.add(entry);
      return () => void set.delete(entry);
    },
    call(topic: InvalidationTopic, key: string | undefined) {
      for (const listener of byTopic.get(topic) ?? []) {
        try {
          listener(key);
        } catch (error) {
          onError(error);
        }
      }
    },
    callAll() {
      for (const topic of byTopic.keys()) this.call(topic, undefined);
    },
  };
}

/** The bus of a single process (the embedded deployment): every message is delivered here, at once. */
export function createMemoryInvalidationBus(options: { onError?: (error: unknown) => void } = {}): InvalidationBus {
  const listeners = createListeners(options.onError ?? (() => undefined));
  return {
    publish: (topic, key) => listeners.call(topic, key),
    subscribe: (topic, listener) => listeners.add(topic, listener),
    close: async () => undefined,
  };
}

/** The part of an ioredis connection the Redis bus publishes with. */
export interface RedisPublisher {
  publish(channel: string, message: string): Promise<unknown>;
}

/** The part of a dedicated ioredis connection (in subscriber mode) the Redis bus listens with. */
export interface RedisSubscriber {
  subscribe(channel: string): Promise<unknown>;
  on(event: 'message', listener: (channel: string, message: string) => void): unknown;
  on(event: 'ready', listener: () => void): unknown;
  quit(): Promise<unknown>;
}

export interface RedisInvalidationBusOptions {
  /** Any connection; publishing does not block it. */
  publisher: RedisPublisher;
  /** A connection of its own: a subscribed connection can do nothing else. The bus quits it on close. */
  subscriber: RedisSubscriber;
  /** The one channel every replica of the installation uses (the Redis prefix plus `:invalidate`). */
  channel: string;
  onError?: (error: unknown) => void;
}

interface WireMessage {
  /** The publishing bus, so that it skips its own messages (its listeners were called at publish). */
  from: string;
  topic: InvalidationTopic;
  key?: string;
}

/**
 * The bus of a scale-out deployment: Redis pub/sub on one channel. Messages are fire-and-forget
 * (Redis keeps none for a replica that is not connected), so after the subscriber reconnects every
 * listener is told to drop everything.
 */
export async function createRedisInvalidationBus(options: RedisInvalidationBusOptions): Promise<InvalidationBus> {
  const onError = options.onError ?? (() => undefined);
  const listeners = createListeners(onError);
  const self = randomUUID();
  let ready = false;
  let closed = false;
  options.subscriber.on('message', (channel, raw) => {
    if (channel !== options.channel) return;
    let message: WireMessage;
    try {
      message = JSON.parse(raw) as WireMessage;
    } catch (error) {
      onError(error);
      return;
    }
    if (message.from === self || typeof message.topic !== 'string') return;
    listeners.call(message.topic, typeof message.key === 'string' ? message.key : undefined);
  });
  // ioredis subscribes again by itself after a reconnect; what was published meanwhile is lost.
  options.subscriber.on('ready', () => {
    if (ready && !closed) listeners.callAll();
    ready = true;
  });
  await options.subscriber.subscribe(options.channel);
  ready = true;
  return {
    publish(topic, key) {
      listeners.call(topic, key);
      const message: WireMessage = { from: self, topic, ...(key === undefined ? {} : { key }) };
      options.publisher.publish(options.channel, JSON.stringify(message)).catch(onError);
    },
    subscribe: (topic, listener) => listeners.add(topic, listener),
    async close() {
      closed = true;
      await options.subscriber.quit().catch(() => undefined);
    },
  };
}
