// Reading a JSON request body with a size limit enforced while it streams in: a body larger than the limit is
// rejected (413) after at most `limit` + one chunk bytes have been read, never buffered whole. One UTF-8 byte
// order mark before the JSON is skipped, as RFC 8259 (section 8.1) lets parsers do: some clients (Windows
// PowerShell 5) write one. Anywhere else U+FEFF is content, and a second mark is invalid JSON.
import { HttpError } from "./errors.ts";

export async function readJsonBody(request: Request, limit: number): Promise<Record<string, unknown>> {
  const type = request.headers.get("content-type");
  // A missing type is accepted (curl without -H); any other type than JSON is a client mistake.
  if (type !== null && !/^application\/([\w.+-]+\+)?json\s*(;|$)/i.test(type.trim())) {
    throw new HttpError(415, `expected Content-Type: application/json, got "${type}"`, "invalid_request_error", null, "unsupported_media_type");
  }
  const declared = request.headers.get("content-length");
  if (declared !== null && Number(declared) > limit) throw tooLarge(limit);
  const bytes = await readLimited(request.body, limit);
  if (bytes.byteLength === 0) throw new HttpError(400, "the request body is empty; send a JSON object", "invalid_request_error", null, "invalid_json");
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  } catch {
    throw new HttpError(400, "the request body is not valid UTF-8", "invalid_request_error", null, "invalid_json");
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new HttpError(400, `the request body is not valid JSON: ${(e as Error).message}`, "invalid_request_error", null, "invalid_json");
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new HttpError(400, "the request body must be a JSON object", "invalid_request_error", null, "invalid_json");
  }
  return value as Record<string, unknown>;
}

const tooLarge = (limit: number) =>
  new HttpError(413, `the request body is larger than the limit of ${limit} bytes`, "invalid_request_error", null, "request_too_large");

async function readLimited(body: ReadableStream<Uint8Array> | null, limit: number): Promise<Uint8Array> {
  if (!body) return new Uint8Array(0);
  const reader = body.getReader();
  const parts: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      let r: ReadableStreamReadResult<Uint8Array>;
      try {
        r = await reader.read();
      } catch (e) {
        throw new HttpError(400, `reading the request body failed: ${(e as Error).message}`, "invalid_request_error", null, "invalid_body");
      }
      if (r.done) break;
      total += r.value.byteLength;
      if (total > limit) {
        reader.cancel().catch(() => {});
        throw tooLarge(limit);
      }
      parts.push(r.value);
    }
  } finally {
    reader.releaseLock();
  }
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.byteLength; }
  return out;
}
