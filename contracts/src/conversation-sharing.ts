/**
 * Schemas of sharing a conversation inside the organisation (a read-only link the owner can revoke)
 * and of exporting one as a file.
 */
import { z } from 'zod';

/** A conversation's read-only link; members of the owner's organisation open it at `path`. */
export const ConversationShareSchema = z.object({
  token: z.string(),
  /** Where the web app shows it, e.g. `/shared/3kq…`; prefix the address Axon is reached at. */
  path: z.string(),
  createdAt: z.string(),
});
export type ConversationShare = z.infer<typeof ConversationShareSchema>;

/** `GET /api/conversations/{id}/share`: the conversation's live link, null when it has none. */
export const ConversationShareStateSchema = z.object({ share: ConversationShareSchema.nullable() });
export type ConversationShareState = z.infer<typeof ConversationShareStateSchema>;

/** Formats `GET /api/conversations/{id}/export?format=` writes. */
export const ExportFormatSchema = z.enum(['markdown', 'json']);
export type ExportFormat = z.infer<typeof ExportFormatSchema>;

export const ExportConversationQuerySchema = z.strictObject({
  format: ExportFormatSchema.default('markdown'),
});

/** The path of a shared conversation in the web app. */
export function sharedConversationPath(token: string): string {
  return `/shared/${encodeURIComponent(token)}`;
}
