/**
 * The transport: option resolution, one logical request with retries, and turning an error response into
 * a typed error. Resources and pagination build on `APIClient.request()`.
 */
import { randomUUID } from "node:crypto";
import {
  APIConnectionError,
  APITimeoutError,
  CyberVaultError,
  errorClassForStatus,
} from "./errors.js";
import { VERSION } from "./version.js";

export const DEFAULT_BASE_URL = "http://127.0.0.1:8000";
export const DEFAULT_TIMEOUT_MS = 80_000;
export const DEFAULT_MAX_RETRIES = 2;
export const DEFAULT_MAX_RETRY_WAIT_MS = 60_000;
const INITIAL_RETRY_DELAY_MS = 500;
const MAX_RETRY_DELAY_MS = 8_000;
// 409s that describe a final state: retrying cannot change the answer.
const PERMANENT_CONFLICT_CODES = new Set(["scan_not_cancelable", "conflict"]);
// Failures that happen before a request is sent, so even a non-idempotent request may be retried.
const CONNECT_ERROR_CODES = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "UND_ERR_CONNECT_TIMEOUT", "EHOSTUNREACH"]);

export type Query = Record<string, unknown>;
export type JSONBody = Record<string, unknown>;

export interface ClientOptions {
  /** Defaults to the CYBERVAULT_API_KEY environment variable. */
  apiKey?: string;
  /** Defaults to CYBERVAULT_BASE_URL, else http://127.0.0.1:8000. */
  baseURL?: string;
  /** Per-request timeout in milliseconds (default 80 000). */
  timeout?: number;
  /** Retries after the first try (default 2). */
  maxRetries?: number;
  /** Cap, in milliseconds, on a wait the server asks for with Retry-After (default 60 000). */
  maxRetryWait?: number;
  defaultHeaders?: Record<string, string>;
  /** A fetch implementation (default: the global fetch of Node 18+). */
  fetch?: typeof fetch;
}

export interface RequestSpec {
  method: string;
  path: string;
  query?: Query | undefined;
  body?: JSONBody | undefined;
  idempotencyKey?: string | undefined;
  /** False for a GET with side effects (the seed's scan): retried only when it never reached the server. */
  idempotent?: boolean;
  timeout?: number | undefined;
}

export interface RawResponse<B = unknown> {
  status: number;
  headers: Record<string, string>;
  body: B;
  requestId: string | null;
}

export interface RequestOptions {
  idempotencyKey?: string;
}

export function cleanQuery(query: Query | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value === undefined || value === null) continue;
    if (typeof value === "boolean") out[key] = value ? "true" : "false";
    else if (Array.isArray(value)) out[key] = value.map(String).join(",");
    else out[key] = String(value);
  }
  return out;
}

export function cleanBody(body: JSONBody | undefined): JSONBody | undefined {
  if (body === undefined) return undefined;
  return Object.fromEntries(Object.entries(body).filter(([, v]) => v !== undefined && v !== null));
}

function headersObject(headers: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  headers.forEach((value, key) => { out[key.toLowerCase()] = value; });
  return out;
}

/** Milliseconds the server asked us to wait: Retry-After first, then X-RateLimit-Reset on a 429. */
export function hintedDelayMs(headers: Record<string, string>, status: number, nowMs = Date.now()): number | null {
  const retryAfter = headers["retry-after"];
  if (retryAfter) {
    const seconds = Number(retryAfter);
    if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
    const date = Date.parse(retryAfter); // an HTTP date
    if (Number.isFinite(date)) return Math.max(0, date - nowMs);
  }
  const reset = headers["x-ratelimit-reset"];
  if (status === 429 && reset) {
    const at = Number(reset);
    if (Number.isFinite(at)) return Math.max(0, at * 1000 - nowMs);
  }
  return null;
}

/** Exponential backoff (0.5 s, 1 s, 2 s … 8 s) with jitter in [50 %, 100 %] so clients do not retry in step. */
export function backoffMs(attempt: number): number {
  const base = Math.min(INITIAL_RETRY_DELAY_MS * 2 ** (attempt - 1), MAX_RETRY_DELAY_MS);
  return base * (0.5 + Math.random() / 2);
}

function errorCode(body: unknown): string | null {
  if (body && typeof body === "object" && "error" in body) {
    const error = (body as { error: unknown }).error;
    if (error && typeof error === "object" && typeof (error as { code?: unknown }).code === "string") {
      return (error as { code: string }).code;
    }
  }
  return null;
}

function shouldRetryStatus(status: number, body: unknown): boolean {
  if (status === 409) return !PERMANENT_CONFLICT_CODES.has(errorCode(body) ?? "");
  return status === 429 || status >= 500;
}

function isTimeout(err: unknown): boolean {
  return err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError");
}

function isConnectFailure(err: unknown): boolean {
  const cause = (err as { cause?: { code?: string } } | null)?.cause;
  return typeof cause?.code === "string" && CONNECT_ERROR_CODES.has(cause.code);
}

function decode(text: string, contentType: string): unknown {
  if (text === "") return {};
  if (contentType.includes("json")) {
    try {
      const data: unknown = JSON.parse(text);
      return data !== null && typeof data === "object" && !Array.isArray(data) ? data : { data };
    } catch {
      return text;
    }
  }
  return text; // CSV exports and other text
}

export class APIClient {
  declare readonly apiKey: string;
  readonly baseURL: string;
  readonly timeout: number;
  readonly maxRetries: number;
  readonly maxRetryWait: number;
  private readonly defaultHeaders: Record<string, string>;
  private readonly fetchImpl: typeof fetch;

  constructor(options: ClientOptions = {}) {
    const key = options.apiKey ?? process.env["CYBERVAULT_API_KEY"];
    if (!key) {
      throw new CyberVaultError(
        "No API key given. Pass { apiKey } or set CYBERVAULT_API_KEY (`make run` prints a demo key the first time it starts).",
        { code: "missing_api_key" },
      );
    }
    const maxRetries = options.maxRetries ?? DEFAULT_MAX_RETRIES;
    if (maxRetries < 0) throw new RangeError("maxRetries must be >= 0");
    // Not enumerable, so console.log(client) and JSON.stringify never print the key.
    Object.defineProperty(this, "apiKey", { value: key, enumerable: false, writable: false });
    this.baseURL = (options.baseURL ?? process.env["CYBERVAULT_BASE_URL"] ?? DEFAULT_BASE_URL).replace(/\/+$/, "");
    this.timeout = options.timeout ?? DEFAULT_TIMEOUT_MS;
    this.maxRetries = maxRetries;
    this.maxRetryWait = options.maxRetryWait ?? DEFAULT_MAX_RETRY_WAIT_MS;
    this.defaultHeaders = { ...(options.defaultHeaders ?? {}) };
    const fetchImpl = options.fetch ?? globalThis.fetch;
    if (typeof fetchImpl !== "function") throw new Error("No global fetch: use Node 18+ or pass { fetch }.");
    this.fetchImpl = fetchImpl;
  }

  /** Waits between retries; tests may replace it. */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }

  /** Any endpoint (for routes newer than this SDK): a 2xx response, or a typed error after the same retries. */
  rawRequest<B = unknown>(method: string, path: string, params: { query?: Query; body?: JSONBody; idempotencyKey?: string } = {}): Promise<RawResponse<B>> {
    return this.send<B>({ method: method.toUpperCase(), path, query: params.query, body: params.body, idempotencyKey: params.idempotencyKey });
  }

  /** Send with retries; the decoded body of a 2xx response. */
  async request<B = unknown>(spec: RequestSpec): Promise<B> {
    return (await this.send<B>(spec)).body;
  }

  async send<B = unknown>(spec: RequestSpec): Promise<RawResponse<B>> {
    const method = spec.method.toUpperCase();
    // Generated once, so every retry of this POST carries the same key and the server runs it only once.
    const idempotencyKey = spec.idempotencyKey ?? (method === "POST" ? `cvsdk-${randomUUID()}` : undefined);
    const headers: Record<string, string> = {
      Authorization: `Bearer ${this.apiKey}`,
      Accept: "application/json",
      "User-Agent": `cybervault-node/${VERSION} node/${process.version}`,
      ...this.defaultHeaders,
    };
    if (idempotencyKey !== undefined) headers["Idempotency-Key"] = idempotencyKey;
    let payload: string | undefined;
    if (spec.body !== undefined) {
      headers["Content-Type"] = "application/json";
      payload = JSON.stringify(spec.body);
    }
    const url = new URL(this.baseURL + spec.path);
    for (const [k, v] of Object.entries(cleanQuery(spec.query))) url.searchParams.set(k, v);
    const retryAfterFailure = spec.idempotent !== false || idempotencyKey !== undefined;
    const timeout = spec.timeout ?? this.timeout;

    for (let attempt = 0; ; attempt++) {
      let status: number;
      let responseHeaders: Record<string, string>;
      let body: unknown;
      try {
        const response = await this.fetchImpl(url, {
          method, headers, body: payload, signal: AbortSignal.timeout(timeout), redirect: "manual",
        });
        status = response.status;
        responseHeaders = headersObject(response.headers);
        // Reading the body is inside the try: a connection dropped mid-body is a connection error too.
        body = decode(await response.text(), responseHeaders["content-type"] ?? "");
      } catch (err) {
        const retryable = retryAfterFailure || isConnectFailure(err);
        if (attempt < this.maxRetries && retryable) {
          await this.sleep(backoffMs(attempt + 1));
          continue;
        }
        const timedOut = isTimeout(err);
        const cls = timedOut ? APITimeoutError : APIConnectionError;
        const reason = err instanceof Error ? `${err.message}${(err.cause as Error | undefined)?.message ? `: ${(err.cause as Error).message}` : ""}` : String(err);
        throw new cls(`Request to ${this.baseURL}${spec.path} ${timedOut ? "timed out" : "failed"}: ${reason}`, { code: "connection_error", cause: err });
      }
      if (status >= 200 && status < 300) {
        return { status, headers: responseHeaders, body: body as B, requestId: responseHeaders["x-request-id"] ?? null };
      }
      if (attempt < this.maxRetries && shouldRetryStatus(status, body)) {
        const hinted = hintedDelayMs(responseHeaders, status);
        await this.sleep(hinted !== null ? Math.min(hinted, this.maxRetryWait) : backoffMs(attempt + 1));
        continue;
      }
      throw errorFromResponse(status, responseHeaders, body, spec.path);
    }
  }
}

export function errorFromResponse(status: number, headers: Record<string, string>, body: unknown, path: string): CyberVaultError {
  const document = body !== null && typeof body === "object" ? (body as Record<string, unknown>) : null;
  const error = (document?.["error"] && typeof document["error"] === "object" ? document["error"] : {}) as Record<string, unknown>;
  const str = (v: unknown): string | null => (typeof v === "string" ? v : null);
  const cls = errorClassForStatus(status);
  return new cls(str(error["message"]) ?? `HTTP ${status} from ${path}`, {
    code: str(error["code"]),
    documentationUrl: str(error["documentation_url"]),
    requestId: str(error["request_id"]) ?? headers["x-request-id"] ?? null,
    httpStatus: status,
    param: str(error["param"]),
    headers,
    body: document,
  });
}
