import type { RolloutState } from '@axon/contracts';
import { describeStatus } from './describe-deployment';

/** A rollout's state in words (the colour only repeats them). */
export function StateBadge({ status }: { status: RolloutState['status'] }) {
  return (
    <span className="deploy-badge" data-status={status} data-testid="deployment-state">
      {describeStatus(status)}
    </span>
  );
}
