import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, test } from "node:test";
import { inspect } from "node:util";
import {
  APIConnectionError, APIError, ConflictError, CyberVault, InvalidRequestError, RateLimitError,
} from "@cybervault/node";
import { apiError, startFlakyServer } from "./flaky-server.mjs";

const ASSET = { id: "ast_1", object: "asset", livemode: false, target: "10.9.9.9", name: "flaky", tags: [] };
let flaky;
before(async () => { flaky = await startFlakyServer(); });
after(async () => { await flaky.close(); });

// Backoff waits are real but short: a client whose sleep is scaled down records what it was asked to wait.
function client(options = {}) {
  const c = new CyberVault({ apiKey: "cv_test_sk_flakyflakyflakyflakyflaky", baseURL: flaky.url, ...options });
  c.waits = [];
  const real = c.sleep.bind(c);
  c.sleep = (ms) => { c.waits.push(ms); return real(Math.min(ms, 20)); };
  return c;
}
const path = () => `/v1/assets/ast_${randomUUID().replace(/-/g, "")}`;

test("a POST retries 429 then 503 with one Idempotency-Key and honours Retry-After", async () => {
  const p = path();
  flaky.script(`POST ${p}`, apiError(429, "rate_limit_exceeded", { "Retry-After": "2" }), apiError(503, "service_unavailable"), { status: 201, body: ASSET });
  const c = client();
  const result = await c.rawRequest("POST", p, { body: { target: "10.9.9.9" } });
  assert.equal(result.status, 201);
  assert.equal(result.body.name, "flaky");
  const arrived = flaky.requests(`POST ${p}`);
  assert.equal(arrived.length, 3);
  const keys = new Set(arrived.map((r) => r.headers["idempotency-key"]));
  assert.equal(keys.size, 1);
  assert.match([...keys][0], /^cvsdk-/);
  assert.equal(new Set(arrived.map((r) => r.body)).size, 1);
  assert.equal(c.waits[0], 2000); // Retry-After: 2
  assert.ok(c.waits[1] >= 500 && c.waits[1] <= 1000, `backoff ${c.waits[1]}`); // 1 s × jitter [0.5, 1]
});

test("a dropped connection is retried with the same Idempotency-Key", async () => {
  const p = `${path()}/revoke`;
  flaky.script(`POST ${p}`, { drop: true }, { drop: true }, { status: 200, body: ASSET });
  const result = await client().rawRequest("POST", p, { idempotencyKey: "my-key-123" });
  assert.equal(result.status, 200);
  const arrived = flaky.requests(`POST ${p}`);
  assert.equal(arrived.length, 3);
  assert.deepEqual(arrived.map((r) => r.headers["idempotency-key"]), ["my-key-123", "my-key-123", "my-key-123"]);
});

test("5xx after the retries run out raises APIError with the server's details", async () => {
  const p = path();
  flaky.script(`GET ${p}`, apiError(500, "internal_error"));
  await assert.rejects(client({ maxRetries: 1 }).assets.retrieve(p.split("/").pop()), (err) => {
    assert.ok(err instanceof APIError);
    assert.equal(err.httpStatus, 500);
    assert.equal(err.code, "internal_error");
    assert.equal(err.requestId, "req_flaky_500");
    assert.equal(err.documentationUrl, "http://flaky/docs/errors/internal_error");
    return true;
  });
  assert.equal(flaky.requests(`GET ${p}`).length, 2);
});

test("429 after the retries carries retryAfter; 400 and permanent 409 are never retried", async () => {
  const a = path(), b = path(), d = path();
  flaky.script(`GET ${a}`, apiError(429, "rate_limit_exceeded", { "Retry-After": "1" }));
  flaky.script(`GET ${b}`, apiError(400, "invalid_request"));
  flaky.script(`POST ${d}`, apiError(409, "scan_not_cancelable"));
  const c = client({ maxRetries: 2, maxRetryWait: 30 });
  await assert.rejects(c.rawRequest("GET", a), (e) => e instanceof RateLimitError && e.retryAfter === 1);
  assert.deepEqual(c.waits, [30, 30]); // capped by maxRetryWait
  await assert.rejects(c.rawRequest("GET", b), InvalidRequestError);
  await assert.rejects(c.rawRequest("POST", d), (e) => e instanceof ConflictError && e.code === "scan_not_cancelable");
  assert.equal(flaky.requests(`GET ${b}`).length, 1);
  assert.equal(flaky.requests(`POST ${d}`).length, 1);
});

test("a retryable 409 (idempotency in progress) is retried", async () => {
  const p = path();
  flaky.script(`POST ${p}`, apiError(409, "idempotency_key_in_use"), { status: 201, body: ASSET });
  assert.equal((await client().rawRequest("POST", p)).status, 201);
  assert.equal(flaky.requests(`POST ${p}`).length, 2);
});

test("the scan GET (it starts a scan) is not retried after a drop; a refused connection is", async () => {
  flaky.script("GET /v1/threats/scan", { drop: true }, { status: 200, body: { scan_id: "sc_1", status: "completed", findings: [] } });
  await assert.rejects(client().threats.scan("127.0.0.1"), APIConnectionError);
  assert.equal(flaky.requests("GET /v1/threats/scan").length, 1);

  const { createServer } = await import("node:http");
  const gone = createServer();
  await new Promise((r) => gone.listen(0, "127.0.0.1", r));
  const port = gone.address().port;
  await new Promise((r) => gone.close(r)); // a port nothing listens on any more: connection refused
  const closed = client({ baseURL: `http://127.0.0.1:${port}`, maxRetries: 1 });
  await assert.rejects(closed.threats.scan("127.0.0.1"), (e) => e instanceof APIConnectionError && e.code === "connection_error");
  assert.equal(closed.waits.length, 1);
});

test("a timeout is an APITimeoutError", async () => {
  const { createServer } = await import("node:http");
  const slow = createServer(() => {}); // never answers
  await new Promise((r) => slow.listen(0, "127.0.0.1", r));
  const c = client({ baseURL: `http://127.0.0.1:${slow.address().port}`, timeout: 200, maxRetries: 0 });
  await assert.rejects(c.assets.retrieve("ast_1"), (e) => e.name === "APITimeoutError" && e instanceof APIConnectionError);
  slow.closeAllConnections();
  slow.close();
});

test("list() walks every page with for await, one request per page", async () => {
  const p = `/v1/flaky_list_${randomUUID().slice(0, 8)}`;
  const objs = (ids) => ids.map((id) => ({ id, object: "asset" }));
  flaky.script(`GET ${p}`, { body: { object: "list", url: p, has_more: true, data: objs(["o5", "o4"]) } },
    { body: { object: "list", url: p, has_more: true, data: objs(["o3", "o2"]) } },
    { body: { object: "list", url: p, has_more: false, data: objs(["o1"]) } });
  const c = client();
  const seen = [];
  for await (const item of await c.getPage(p, { limit: 2, tag: "x" })) seen.push(item.id);
  assert.deepEqual(seen, ["o5", "o4", "o3", "o2", "o1"]);
  const queries = flaky.requests(`GET ${p}`).map((r) => new URLSearchParams(r.query));
  assert.deepEqual(queries.map((q) => q.get("starting_after")), [null, "o4", "o2"]);
  assert.ok(queries.every((q) => q.get("limit") === "2" && q.get("tag") === "x"));

  // Stopping early costs no further request: 3 items need only the first two pages.
  flaky.script(`GET ${p}`, { body: { object: "list", url: p, has_more: true, data: objs(["o5", "o4"]) } },
    { body: { object: "list", url: p, has_more: true, data: objs(["o3", "o2"]) } },
    { body: { object: "list", url: p, has_more: false, data: objs(["o1"]) } });
  const before = flaky.requests(`GET ${p}`).length;
  const three = await c.getPage(p, { limit: 2 }).then((page) => page.autoPagingToArray({ limit: 3 }));
  assert.deepEqual(three.map((o) => o.id), ["o5", "o4", "o3"]);
  assert.equal(flaky.requests(`GET ${p}`).length - before, 2);
});

test("the key comes from CYBERVAULT_API_KEY and never shows in logs", () => {
  const saved = process.env.CYBERVAULT_API_KEY;
  process.env.CYBERVAULT_API_KEY = "cv_test_sk_fromenvfromenvfromenvfromenv";
  try {
    const c = new CyberVault({ baseURL: "http://127.0.0.1:1" });
    assert.equal(c.apiKey, "cv_test_sk_fromenvfromenvfromenvfromenv");
    assert.ok(!inspect(c, { depth: 1 }).includes("fromenv"));
    assert.ok(!Object.keys(c).includes("apiKey"));
    delete process.env.CYBERVAULT_API_KEY;
    assert.throws(() => new CyberVault({}), (e) => e.code === "missing_api_key");
  } finally {
    if (saved === undefined) delete process.env.CYBERVAULT_API_KEY; else process.env.CYBERVAULT_API_KEY = saved;
  }
});
