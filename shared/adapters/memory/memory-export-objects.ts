import { createHash } from "node:crypto";
import type { ExportLinks, ExportObjects, ExportPart } from "../../domain/ports.js";

/**
 * In-memory `ExportObjects` (and its `ExportLinks`) with S3's multipart rules that matter to an export: parts are numbered, a completed
 * object is its listed parts in order, every part but the last is at least 5 MiB, and an upload is completed once.
 */
export class MemoryExportObjects implements ExportObjects, ExportLinks {
  readonly objects = new Map<string, Buffer>();
  readonly #uploads = new Map<string, { key: string; parts: Map<number, { etag: string; body: Buffer }> }>();
  #next = 0;

  async createUpload(key: string): Promise<string> {
    const uploadId = `upload-${++this.#next}`;
    this.#uploads.set(uploadId, { key, parts: new Map() });
    return uploadId;
  }

  async uploadPart(key: string, uploadId: string, partNumber: number, body: Uint8Array): Promise<string> {
    const upload = this.#uploads.get(uploadId);
    if (upload === undefined || upload.key !== key) throw new Error(`NoSuchUpload ${uploadId}`);
    const etag = `"${createHash("md5").update(body).digest("hex")}"`;
    upload.parts.set(partNumber, { etag, body: Buffer.from(body) });
    return etag;
  }

  async completeUpload(key: string, uploadId: string, parts: ExportPart[]): Promise<void> {
    const upload = this.#uploads.get(uploadId);
    // S3 answers NoSuchUpload to a completed upload; the export's key then holds its object (S3ExportObjects).
    if (upload === undefined && this.objects.has(key)) return;
    if (upload === undefined || upload.key !== key) throw new Error(`NoSuchUpload ${uploadId}`);
    const bodies = parts.map((p, i) => {
      const stored = upload.parts.get(p.partNumber);
      if (stored === undefined || stored.etag !== p.etag) throw new Error(`InvalidPart ${p.partNumber}`);
      if (i < parts.length - 1 && stored.body.length < 5 * 1024 * 1024)
        throw new Error(`EntityTooSmall ${p.partNumber}`);
      return stored.body;
    });
    this.objects.set(key, Buffer.concat(bodies));
    this.#uploads.delete(uploadId);
  }

  async downloadUrl(key: string, expiresInSeconds: number): Promise<string> {
    return `memory://${key}?expires=${expiresInSeconds}`;
  }
}
