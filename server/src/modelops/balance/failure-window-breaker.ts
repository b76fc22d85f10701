import { CircuitState, type IBreaker } from 'cockatiel';

/**
 * A cockatiel breaker that opens after `failures` failures within `windowMs`, whatever succeeded
 * between them (the way LiteLLM's `allowed_fails` per window works). cockatiel's own breakers
 * count consecutive failures, a share of a sampled window, or a share of the last N calls.
 */
export class FailureWindowBreaker implements IBreaker {
  /** Times of the failures still inside the window, oldest first. */
  state: number[] = [];

  constructor(private readonly options: { failures: number; windowMs: number; now: () => number }) {}

  success(state: CircuitState): void {
    // A trial call that succeeded closes the circuit: the failures before it are history.
    if (state === CircuitState.HalfOpen) this.state = [];
  }

  failure(state: CircuitState): boolean {
    const now = this.options.now();
    if (state === CircuitState.HalfOpen) {
      this.state = [now];
      return true;
    }
    const since = now - this.options.windowMs;
    const kept = this.state.filter((at) => at > since);
    kept.push(now);
    this.state = kept;
    return kept.length >= this.options.failures;
  }
}
