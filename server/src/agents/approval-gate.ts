import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { InvalidationBus } from '../invalidation/invalidation-bus';
import type { ToolApprovalRepository } from '../store';
import type { ApprovalDecision, ApprovalGate } from './run-agent';

/**
 * Wakes the runs waiting on an approval when its decision is recorded: in this process, and with a
 * bus on every replica (a run waits on the replica its stream is on; the decision may come through another).
 */
export function createApprovalSignals(bus?: InvalidationBus) {
  const emitter = new EventEmitter();
  emitter.setMaxListeners(0);
  bus?.subscribe('tool-approvals', (id) => id !== undefined && emitter.emit(id));
  return {
    notify: (id: string) => (bus ? bus.publish('tool-approvals', id) : emitter.emit(id)),
    wait: (id: string, listener: () => void) => {
      emitter.on(id, listener);
      return () => emitter.off(id, listener);
    },
  };
}
export type ApprovalSignals = ReturnType<typeof createApprovalSignals>;

/**
 * Approvals in the store, so that any replica can take the decision: a run waits for the record
 * to leave `pending` (woken at once in this process, else seen by polling), and marks it expired
 * when its time is up. The store's guarded update makes the first decision the only one.
 */
export function createApprovalGate(deps: {
  approvals: ToolApprovalRepository;
  signals: ApprovalSignals;
  owner: { orgId: string; userId: string; agentId: string; agentSlug: string };
  ttlMs: number;
  pollMs?: number;
}): ApprovalGate {
  const pollMs = deps.pollMs ?? 500;
  return {
    async request(call, announce, signal) {
      const id = randomUUID();
      const expiresAt = new Date(Date.now() + deps.ttlMs).toISOString();
      await deps.approvals.create({
        id,
        orgId: deps.owner.orgId,
        userId: deps.owner.userId,
        agentId: deps.owner.agentId,
        tool: call.tool,
        input: call.input,
        expiresAt,
      });
      announce({ id, tool: call.tool, input: call.input, agent: deps.owner.agentSlug, expiresAt });
      return new Promise<ApprovalDecision>((resolve) => {
        let done = false;
        const finish = (decision: ApprovalDecision) => {
          if (done) return;
          done = true;
          clearInterval(poll);
          clearTimeout(expiry);
          stopWaiting();
          signal.removeEventListener('abort', onAbort);
          resolve(decision);
        };
        const check = async () => {
          const record = await deps.approvals.get(id, deps.owner.userId);
          if (record?.status === 'approved' || record?.status === 'denied') finish(record.status);
        };
        const settle = async (fallback: ApprovalDecision) => {
          // A decision that landed at the last moment wins over the expiry or the stop.
          const record = await deps.approvals.expire(id);
          finish(record?.status === 'approved' ? 'approved' : record?.status === 'denied' ? 'denied' : fallback);
        };
        const onAbort = () => void settle('stopped');
        const stopWaiting = deps.signals.wait(id, () => void check());
        const poll = setInterval(() => void check(), pollMs);
        const expiry = setTimeout(() => void settle('expired'), Math.max(0, Date.parse(expiresAt) - Date.now()));
        signal.addEventListener('abort', onAbort, { once: true });
        if (signal.aborted) onAbort();
      });
    },
  };
}
