// The API's routes under a base path, and the small responses and errors the handler answers with directly.
import type { Endpoint } from "./openai.ts";
import { HttpError } from "./errors.ts";

export type Route = { method: "GET" | "POST"; kind: Endpoint | "models" | "model" | "health"; id?: string };

/** The route of a request path (its trailing slashes ignored), or undefined for a path the API does not have. */
export function routeOf(path: string, basePath: string): (Route & { id: string }) | undefined {
  const p = path.replace(/\/+$/, "") || "/";
  if (p === "/health" || p === `${basePath}/health`) return { method: "GET", kind: "health", id: "" };
  if (!p.startsWith(basePath + "/")) return undefined;
  const rest = p.slice(basePath.length);
  if (rest === "/chat/completions") return { method: "POST", kind: "chat", id: "" };
  if (rest === "/completions") return { method: "POST", kind: "completions", id: "" };
  if (rest === "/models") return { method: "GET", kind: "models", id: "" };
  const m = /^\/models\/(.+)$/.exec(rest);
  if (m) return { method: "GET", kind: "model", id: m[1] };
  return undefined;
}

export const modelNotFound = (asked: string, id: string) =>
  new HttpError(404, `the model "${asked}" does not exist; this server serves "${id}"`, "invalid_request_error", "model", "model_not_found");

export function safeDecode(s: string): string {
  try { return decodeURIComponent(s); } catch { return s; }
}

export const shuttingDown = () => new HttpError(503, "the server is shutting down", "server_error", null, "shutting_down");

export function json(value: unknown, headers: Record<string, string>): Response {
  return new Response(JSON.stringify(value), { status: 200, headers: { "content-type": "application/json", ...headers } });
}
