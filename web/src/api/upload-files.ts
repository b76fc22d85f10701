import type { UploadResult } from '@axon/contracts';
import { csrfHeaders } from './api-client';

/**
 * Uploads files to a collection with XMLHttpRequest, the browser API that reports upload progress
 * (fetch does not). `onProgress` gets 0–1.
 */
export function uploadFiles(
  /** Null uploads attachments of one chat message. */
  collectionId: string | null,
  files: File[],
  onProgress: (fraction: number) => void,
): Promise<{ status: number; body: UploadResult | { detail?: string } }> {
  return new Promise((resolve, reject) => {
    const form = new FormData();
    for (const file of files) form.append('file', file, file.name);
    const xhr = new XMLHttpRequest();
    // No collection: the files are attachments of one chat message.
    xhr.open('POST', collectionId ? `/api/collections/${collectionId}/documents` : '/api/attachments');
    for (const [name, value] of Object.entries(csrfHeaders())) xhr.setRequestHeader(name, value);
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    };
    xhr.onload = () => {
      let body: UploadResult | { detail?: string };
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        body = { detail: xhr.responseText };
      }
      resolve({ status: xhr.status, body });
    };
    xhr.onerror = () => reject(new Error('The upload failed: Axon is not reachable.'));
    xhr.send(form);
  });
}
