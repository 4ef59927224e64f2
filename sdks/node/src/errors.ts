/**
 * Typed errors. Every error the API returns becomes one of these, chosen by HTTP status, so callers can
 * `catch (e) { if (e instanceof NotFoundError) … }` and read the API's error object from the fields.
 */

export interface ErrorDetails {
  code?: string | null;
  documentationUrl?: string | null;
  requestId?: string | null;
  httpStatus?: number | null;
  param?: string | null;
  headers?: Record<string, string>;
  body?: Record<string, unknown> | null;
  cause?: unknown;
}

export class CyberVaultError extends Error {
  readonly code: string | null;
  readonly documentationUrl: string | null;
  readonly requestId: string | null;
  readonly httpStatus: number | null;
  readonly param: string | null;
  /** Response headers, lower-cased names (empty when no response arrived). */
  readonly headers: Record<string, string>;
  /** The decoded JSON error body as the server sent it: `{"error": {…}}` (empty without a response). */
  readonly body: Record<string, unknown>;

  constructor(message: string, details: ErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = new.target.name;
    this.code = details.code ?? null;
    this.documentationUrl = details.documentationUrl ?? null;
    this.requestId = details.requestId ?? null;
    this.httpStatus = details.httpStatus ?? null;
    this.param = details.param ?? null;
    this.headers = details.headers ?? {};
    this.body = details.body ?? {};
  }

  /** The API's spelling, for code that mirrors the JSON error object. */
  get documentation_url(): string | null { return this.documentationUrl; }
  get request_id(): string | null { return this.requestId; }
  get http_status(): number | null { return this.httpStatus; }
}

/** 401: the API key is missing, unknown, expired or revoked (`invalid_api_key`). */
export class AuthenticationError extends CyberVaultError {}
/** 403: the key lacks a scope, or a scan target is outside the organization's scope. */
export class PermissionDeniedError extends CyberVaultError {}
/** 404: no such object for this key's organization and mode. */
export class NotFoundError extends CyberVaultError {}
/** 400, 405, 413, 415, 422: a malformed request; `param` names the offending field. */
export class InvalidRequestError extends CyberVaultError {}
/** 409: an idempotency conflict or a state conflict such as `scan_not_cancelable`. */
export class ConflictError extends CyberVaultError {}
/** 429 after the retries ran out; `retryAfter` holds the server's hint in seconds. */
export class RateLimitError extends CyberVaultError {
  get retryAfter(): number | null {
    const value = this.headers["retry-after"];
    if (value === undefined) return null;
    const seconds = Number(value);
    return Number.isFinite(seconds) ? seconds : null;
  }
}
/** 5xx (after the retries ran out), or any status without a more specific class. */
export class APIError extends CyberVaultError {}
/** No HTTP response: connection refused, dropped, or DNS failure. */
export class APIConnectionError extends CyberVaultError {}
/** The request timed out before a response arrived. */
export class APITimeoutError extends APIConnectionError {}
/** `threats.scan()` / `scans.wait()` gave up waiting; `scan` is the scan as last seen. */
export class ScanTimeoutError extends CyberVaultError {
  readonly scan: Record<string, unknown>;
  constructor(message: string, scan: Record<string, unknown>) {
    super(message, { code: "scan_wait_timeout" });
    this.scan = scan;
  }
}
/**
 * A webhook failed verification. `code` is one of `missing_signature`, `invalid_signature`,
 * `missing_timestamp`, `invalid_timestamp`, `timestamp_outside_tolerance`, `invalid_secret`, `invalid_payload`.
 */
export class WebhookVerificationError extends CyberVaultError {}

const BY_STATUS: Record<number, typeof CyberVaultError> = {
  400: InvalidRequestError,
  401: AuthenticationError,
  403: PermissionDeniedError,
  404: NotFoundError,
  405: InvalidRequestError,
  409: ConflictError,
  413: InvalidRequestError,
  415: InvalidRequestError,
  422: InvalidRequestError,
  429: RateLimitError,
};

export function errorClassForStatus(status: number): typeof CyberVaultError {
  const cls = BY_STATUS[status];
  if (cls) return cls;
  return status >= 400 && status < 500 ? InvalidRequestError : APIError;
}
