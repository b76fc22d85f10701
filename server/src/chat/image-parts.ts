import type { LanguageModelV3FilePart } from '@ai-sdk/provider';
import { IMAGE_ATTACHMENT_TYPES, MAX_IMAGE_ATTACHMENT_BYTES, type Message, type MessageAttachment } from '@axon/contracts';
import { type BlobStore, originalKey } from '../blobs/blob-store';
import type { Store } from '../store';

/** Most images one prompt carries: the latest ones, when a conversation holds more. */
export const MAX_PROMPT_IMAGES = 10;

const IMAGE_TYPES = new Set<string>(IMAGE_ATTACHMENT_TYPES);

/** Whether a file of this type is an image a model may be given as it is. */
export const isImageType = (mediaType: string | undefined): boolean => mediaType !== undefined && IMAGE_TYPES.has(mediaType);

/** Whether a model that reads images is given this document as an image (a known image type, within the size limit). */
export const sendsAsImage = (document: { mime: string; size: number }): boolean =>
  isImageType(document.mime) && document.size <= MAX_IMAGE_ATTACHMENT_BYTES;

interface AttachmentAccess {
  store: Store;
  userId: string;
}

/**
 * The files attached to a new message as the message shows them: those the sender may read, by
 * the name they were uploaded with, with their type; an image also says whether the model reads
 * it as an image (`vision`, within the size limit) or as its text.
 */
export async function describeAttachments(
  { store, userId }: AttachmentAccess,
  documentIds: string[],
  vision: boolean,
): Promise<MessageAttachment[]> {
  const shown: MessageAttachment[] = [];
  for (const documentId of documentIds) {
    const document = await store.documents.get(documentId);
    if (!document || !(await store.collections.getForUser(document.collectionId, userId))) continue;
    shown.push({
      documentId,
      name: document.name,
      mediaType: document.mime,
      ...(isImageType(document.mime) ? { readAs: vision && sendsAsImage(document) ? 'image' : 'text' } : {}),
    });
  }
  return shown;
}

/**
 * The images attached to the user messages of a conversation, as prompt file parts by message id,
 * for a model that reads images: read from the blob store each turn, so that a follow-up question
 * still shows the model the picture it is about. Only images the caller may still read are given,
 * and at most {@link MAX_PROMPT_IMAGES}, the latest first.
 */
export async function readAttachedImages(
  messages: Message[],
  { store, userId, blobs }: AttachmentAccess & { blobs: Pick<BlobStore, 'get'> },
): Promise<Map<string, LanguageModelV3FilePart[]>> {
  const parts = new Map<string, LanguageModelV3FilePart[]>();
  let left = MAX_PROMPT_IMAGES;
  for (const message of [...messages].reverse()) {
    if (message.role !== 'user' || message.content.length === 0) continue;
    const images: LanguageModelV3FilePart[] = [];
    // Attachments saved before their type was recorded are looked up like images.
    for (const attachment of message.attachments.filter((a) => a.mediaType === undefined || isImageType(a.mediaType))) {
      if (left === 0) break;
      const document = await store.documents.get(attachment.documentId);
      if (!document || !sendsAsImage(document) || !(await store.collections.getForUser(document.collectionId, userId))) continue;
      const original = await blobs.get(originalKey(document.id));
      if (!original) continue;
      images.push({ type: 'file', mediaType: document.mime, data: await original.bytes(), filename: document.name });
      left--;
    }
    if (images.length > 0) parts.set(message.id, images);
    if (left === 0) break;
  }
  return parts;
}
