import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import {
  AuthenticationError, CyberVault, CyberVaultError, InvalidRequestError, NotFoundError, RateLimitError,
} from "@cybervault/node";
import { live, skipLive } from "./support.mjs";

const sandbox = () => new CyberVault({ apiKey: live.testKey, baseURL: live.baseURL });
const tag = () => `node-${randomBytes(4).toString("hex")}`;

test("the published example: a sandbox scan of 192.168.1.0/24 waits until it completes", { skip: skipLive }, async () => {
  const scan = await sandbox().threats.scan("192.168.1.0/24", { depth: "standard" });
  assert.match(scan.scan_id, /^sc_/);
  assert.equal(scan.status, "completed");
  assert.equal(scan.threats_found, 2);
  assert.ok(scan.findings.some((f) => f.cve === "CVE-2017-5638" && f.severity === "critical"));
  const again = await sandbox().scans.retrieve(scan.scan_id);
  assert.equal(again.status, "completed");
});

test("assets: create, list with for await across pages, update, delete", { skip: skipLive }, async () => {
  const cv = sandbox();
  const t = tag();
  const made = [];
  for (const n of [1, 2, 3]) made.push(await cv.assets.create(`${t}-${n}.example.com`, { tags: [t], criticality: "high" }));
  assert.match(made[0].id, /^ast_/);
  assert.equal(made[0].livemode, false);
  const first = await cv.assets.list({ tag: t, limit: 2 });
  assert.equal(first.data.length, 2);
  assert.equal(first.hasMore, true);
  const seen = [];
  for await (const asset of cv.assets.list({ tag: t, limit: 2 })) seen.push(asset.id);
  assert.deepEqual(seen, made.map((a) => a.id).reverse()); // newest first
  const updated = await cv.assets.update(made[0].id, { name: "renamed" });
  assert.equal(updated.name, "renamed");
  const deleted = await cv.assets.delete(made[0].id);
  assert.deepEqual([deleted.id, deleted.deleted], [made[0].id, true]);
  await assert.rejects(cv.assets.retrieve(made[0].id), NotFoundError);
});

test("incidents: create with the seed's fields, retrieve, comment", { skip: skipLive }, async () => {
  const cv = sandbox();
  const incident = await cv.incidents.create({
    title: "Apache Struts RCE on web tier", severity: "critical", description: "CVE-2017-5638", affected_systems: ["192.168.1.10"],
  });
  assert.match(incident.id, /^inc_/);
  assert.equal((await cv.incidents.retrieve(incident.id)).title, "Apache Struts RCE on web tier");
  const comment = await cv.incidents.comment(incident.id, "investigating");
  assert.ok(comment.id);
});

test("typed errors carry code, message, documentation URL, request id and status", { skip: skipLive }, async () => {
  const bad = new CyberVault({ apiKey: "cv_test_sk_000000000000000000000000000000", baseURL: live.baseURL });
  await assert.rejects(async () => bad.assets.list(), (err) => {
    assert.ok(err instanceof AuthenticationError && err instanceof CyberVaultError);
    assert.equal(err.httpStatus, 401);
    assert.equal(err.code, "invalid_api_key");
    assert.equal(err.message, "The provided API key is expired or invalid.");
    assert.ok(err.documentationUrl.endsWith("/errors/invalid_api_key"));
    assert.ok(err.requestId);
    return true;
  });
  await assert.rejects(sandbox().incidents.create({ title: "", severity: "urgent", description: "x" }),
    (err) => err instanceof InvalidRequestError && err.httpStatus === 400 && typeof err.param === "string");
});

test("a test-mode object is invisible to the live key", { skip: skipLive }, async () => {
  const asset = await sandbox().assets.create(`${tag()}.example.com`);
  const liveClient = new CyberVault({ apiKey: live.liveKey, baseURL: live.baseURL });
  await assert.rejects(liveClient.assets.retrieve(asset.id), NotFoundError);
});

test("the server's own 429 is retried, then raised with its details", { skip: skipLive || (!process.env.CYBERVAULT_LIMITED_API_KEY && "set CYBERVAULT_LIMITED_API_KEY (a key limited to 3 requests a minute)") }, async () => {
  // maxRetryWait caps the server's Retry-After (the rest of the minute) so the test stays fast.
  const c = new CyberVault({ apiKey: process.env.CYBERVAULT_LIMITED_API_KEY, baseURL: live.baseURL, maxRetries: 1, maxRetryWait: 100 });
  for (let i = 0; i < 3; i++) await c.assets.list();
  await assert.rejects(async () => c.assets.list(), (err) => {
    assert.ok(err instanceof RateLimitError);
    assert.equal(err.httpStatus, 429);
    assert.equal(err.code, "rate_limit_exceeded");
    assert.ok(err.retryAfter > 0 && err.retryAfter <= 60, `retryAfter ${err.retryAfter}`);
    assert.equal(err.headers["x-ratelimit-limit"], "3");
    assert.equal(err.headers["x-ratelimit-remaining"], "0");
    assert.ok(err.requestId && err.documentationUrl.endsWith("/errors/rate_limit_exceeded"));
    return true;
  });
});
