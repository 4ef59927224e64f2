/**
 * Verify CyberVault webhook deliveries. Every delivery is signed twice over the *raw* request body:
 *
 * - `X-CyberVault-Signature`: hex HMAC-SHA256 of the body keyed with the secret string's UTF-8 bytes
 *   (the published `verify(payload, signature, secret)` scheme; it has no timestamp);
 * - Standard Webhooks: `webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64>` over
 *   `"{id}.{timestamp}.{body}"`, keyed with the base64-decoded part of the `whsec_…` secret. The signed
 *   timestamp is what makes a captured delivery useless to replay later.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { WebhookVerificationError } from "./errors.js";
import type { Event } from "./types.js";

export const DEFAULT_TOLERANCE = 300;
export const SIGNATURE_HEADER = "X-CyberVault-Signature";
const PREVIOUS_SIGNATURE_HEADER = "x-cybervault-signature-previous";
const SECRET_PREFIX = "whsec_";

export type Payload = string | Uint8Array;
export type HeaderBag = Record<string, string | string[] | undefined> | Headers;

export interface VerifyOptions {
  /** Seconds a timestamp may be away from now (default 300). */
  tolerance?: number;
  /** With the hex-signature form: also check the age of this unix timestamp. */
  timestamp?: string | number;
  /** The current unix time in seconds (for tests). */
  now?: number;
}

function fail(code: string, message: string): WebhookVerificationError {
  return new WebhookVerificationError(message, { code });
}

function bodyBytes(payload: Payload): Buffer {
  if (typeof payload === "string") return Buffer.from(payload, "utf8");
  if (payload instanceof Uint8Array) return Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  throw fail("invalid_payload", "Pass the raw request body (a Buffer or string), not a parsed object: re-serialized JSON does not match the signed bytes.");
}

function lowerHeaders(headers: HeaderBag): Record<string, string> {
  const out: Record<string, string> = {};
  const add = (key: string, value: unknown): void => {
    if (value === undefined || value === null) return;
    out[key.toLowerCase()] = Array.isArray(value) ? value.join(" ") : String(value);
  };
  if (typeof Headers !== "undefined" && headers instanceof Headers) headers.forEach((v, k) => add(k, v));
  else for (const [k, v] of Object.entries(headers)) add(k, v);
  return out;
}

function standardKey(secret: string): Buffer {
  const encoded = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  // Buffer.from(…, "base64") ignores junk, so check the alphabet first.
  if (encoded.length === 0 || encoded.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) {
    throw fail("invalid_secret", "The webhook secret is not a whsec_… secret with a base64 key.");
  }
  return Buffer.from(encoded, "base64");
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function hexDigest(secret: string, body: Buffer): string {
  return createHmac("sha256", Buffer.from(secret, "utf8")).update(body).digest("hex");
}

function standardDigest(key: Buffer, msgId: string, timestamp: string, body: Buffer): string {
  return createHmac("sha256", key).update(`${msgId}.${timestamp}.`).update(body).digest("base64");
}

function checkTimestamp(value: string | number | undefined, tolerance: number, now: number | undefined): void {
  if (value === undefined || value === "") {
    throw fail("missing_timestamp", "No webhook-timestamp: without it a replayed delivery cannot be told from a fresh one.");
  }
  const text = String(value).trim();
  if (!/^-?\d+$/.test(text)) throw fail("invalid_timestamp", `webhook-timestamp ${JSON.stringify(value)} is not unix seconds.`);
  const timestamp = Number(text);
  const current = now ?? Date.now() / 1000;
  if (Math.abs(current - timestamp) > tolerance) {
    throw fail("timestamp_outside_tolerance",
      `The webhook timestamp is ${Math.trunc(current - timestamp)} s from now, outside the tolerance of ${tolerance} s: a stale or replayed delivery.`);
  }
}

function verifyStandard(body: Buffer, headers: Record<string, string>, secret: string, tolerance: number, now: number | undefined): void {
  const msgId = headers["webhook-id"];
  if (!msgId) throw fail("missing_signature", "webhook-signature is present but webhook-id is missing.");
  const timestamp = headers["webhook-timestamp"];
  checkTimestamp(timestamp, tolerance, now);
  const expected = standardDigest(standardKey(secret), msgId, String(timestamp), body);
  // Several space-separated `v1,<sig>` entries during a secret rotation; any one may match.
  for (const entry of (headers["webhook-signature"] ?? "").split(/\s+/)) {
    const comma = entry.indexOf(",");
    if (comma > 0 && entry.slice(0, comma) === "v1" && safeEqual(entry.slice(comma + 1), expected)) return;
  }
  throw fail("invalid_signature", "No webhook-signature entry matches this payload and secret.");
}

function verifyHex(body: Buffer, signatures: string, secret: string): void {
  const expected = hexDigest(secret, body);
  for (const candidate of signatures.replace(/,/g, " ").split(/\s+/)) {
    if (candidate && safeEqual(candidate.trim().toLowerCase(), expected)) return;
  }
  throw fail("invalid_signature", `The ${SIGNATURE_HEADER} value does not match this payload and secret.`);
}

/**
 * Returns true when the delivery is authentic and fresh; otherwise throws `WebhookVerificationError`.
 * `headersOrSignature` is the request's headers (names are case-insensitive) or the
 * `X-CyberVault-Signature` value alone.
 */
export function verify(payload: Payload, headersOrSignature: HeaderBag | string, secret: string, options: VerifyOptions = {}): true {
  if (!secret) throw fail("invalid_secret", "The webhook secret is empty.");
  const tolerance = options.tolerance ?? DEFAULT_TOLERANCE;
  const body = bodyBytes(payload);
  if (typeof headersOrSignature === "string") {
    if (options.timestamp !== undefined) checkTimestamp(options.timestamp, tolerance, options.now);
    verifyHex(body, headersOrSignature, secret);
    return true;
  }
  const headers = lowerHeaders(headersOrSignature);
  if (headers["webhook-signature"]) {
    verifyStandard(body, headers, secret, tolerance, options.now);
    return true;
  }
  const hexValues = [headers[SIGNATURE_HEADER.toLowerCase()], headers[PREVIOUS_SIGNATURE_HEADER]].filter(Boolean).join(" ");
  if (hexValues) {
    // Headers without the Standard Webhooks signature: still insist on a fresh timestamp.
    checkTimestamp(headers["webhook-timestamp"] ?? options.timestamp, tolerance, options.now);
    verifyHex(body, hexValues, secret);
    return true;
  }
  throw fail("missing_signature", `Neither webhook-signature nor ${SIGNATURE_HEADER} is present.`);
}

/** Verify the delivery, then parse it into an `Event` (`event.type`, `event.data.object`). */
export function constructEvent(payload: Payload, headersOrSignature: HeaderBag | string, secret: string, options: VerifyOptions = {}): Event {
  verify(payload, headersOrSignature, secret, options);
  let data: unknown;
  try {
    data = JSON.parse(bodyBytes(payload).toString("utf8"));
  } catch {
    throw fail("invalid_payload", "The payload is not JSON.");
  }
  if (!data || typeof data !== "object" || (data as { object?: unknown }).object !== "event") {
    throw fail("invalid_payload", "The payload is not a CyberVault event object.");
  }
  return data as Event;
}

/** The headers CyberVault would send for `payload`; for testing your own webhook handler. */
export function sign(payload: Payload, secret: string, options: { msgId: string; timestamp?: number }): Record<string, string> {
  const body = bodyBytes(payload);
  const ts = String(Math.trunc(options.timestamp ?? Date.now() / 1000));
  return {
    [SIGNATURE_HEADER]: hexDigest(secret, body),
    "webhook-id": options.msgId,
    "webhook-timestamp": ts,
    "webhook-signature": `v1,${standardDigest(standardKey(secret), options.msgId, ts, body)}`,
  };
}
