/** The streams in flight, so that shutdown can wait for them and then stop them. */
export interface ActiveStreams {
  /** Registers a stream's controller; call the returned function when it ends. */
  track(controller: AbortController): () => void;
  readonly size: number;
  /** Resolves when no stream is left or after `ms`, whichever is first. */
  drain(ms: number): Promise<void>;
  /** Aborts every stream with `reason`. */
  abortAll(reason: unknown): void;
}

export function createActiveStreams(): ActiveStreams {
  const controllers = new Set<AbortController>();
  let onEmpty: (() => void) | undefined;
  return {
    track(controller) {
      controllers.add(controller);
      return () => {
        controllers.delete(controller);
        if (controllers.size === 0) onEmpty?.();
      };
    },
    get size() {
      return controllers.size;
    },
    drain(ms) {
      if (controllers.size === 0) return Promise.resolve();
      return new Promise((resolve) => {
        const timer = setTimeout(resolve, ms);
        onEmpty = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    },
    abortAll(reason) {
      for (const controller of controllers) controller.abort(reason);
    },
  };
}
