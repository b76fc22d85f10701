import type { Conversation } from '@axon/contracts';
import { AppError } from '../errors';

/** Where a page of the conversation list ended. Pinned conversations come first, so it carries whether the last one was pinned. */
export interface ConversationCursor {
  updatedAt: string;
  id: string;
  /** 0: the last one was pinned; 1: it was not. */
  unpinned: number;
}

export const encodeConversationCursor = (c: Conversation): string =>
  Buffer.from(`${c.updatedAt}|${c.id}|${c.pinnedAt ? 0 : 1}`).toString('base64url');

/** Reads a cursor; `validation_failed` for one this server did not issue. */
export function decodeConversationCursor(cursor: string): ConversationCursor {
  const [updatedAt, id, unpinned = '1'] = Buffer.from(cursor, 'base64url').toString().split('|');
  if (!updatedAt || Number.isNaN(Date.parse(updatedAt)) || !id || (unpinned !== '0' && unpinned !== '1'))
    throw new AppError('validation_failed', {
      detail: 'cursor is not one this server issued',
      errors: [{ path: 'cursor', message: 'invalid cursor' }],
    });
  return { updatedAt, id, unpinned: Number(unpinned) };
}
