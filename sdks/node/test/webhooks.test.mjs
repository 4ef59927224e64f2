import assert from "node:assert/strict";
import { test } from "node:test";
import { WebhookVerificationError, webhooks } from "@cybervault/node";
import { load } from "./conformance-runner.mjs";

const fixtures = load("webhooks.json");

for (const c of fixtures.cases) {
  test(`webhook fixture: ${c.name}`, () => {
    const options = { tolerance: fixtures.tolerance, now: c.now };
    const how = c.headers ?? c.signature;
    if (c.expect === "valid") {
      assert.equal(webhooks.verify(c.payload, how, c.secret, options), true);
      if (c.event_type) assert.equal(webhooks.constructEvent(Buffer.from(c.payload, "utf8"), how, c.secret, options).type, c.event_type);
    } else {
      assert.throws(() => webhooks.verify(c.payload, how, c.secret, options),
        (err) => err instanceof WebhookVerificationError && err.code === c.expect.error);
    }
  });
}

test("header names are case-insensitive and a Headers object works", () => {
  const c = fixtures.cases.find((x) => x.headers && x.expect === "valid");
  const upper = Object.fromEntries(Object.entries(c.headers).map(([k, v]) => [k.toUpperCase(), v]));
  assert.equal(webhooks.verify(c.payload, upper, c.secret, { now: c.now }), true);
  assert.equal(webhooks.verify(c.payload, new Headers(c.headers), c.secret, { now: c.now }), true);
});

test("sign() makes headers that verify, and a parsed object is refused", () => {
  const secret = fixtures.cases[0].secret;
  const body = JSON.stringify({ id: "evt_1", object: "event", type: "webhook.test", data: { object: {} } });
  const headers = webhooks.sign(body, secret, { msgId: "evt_1" });
  assert.equal(webhooks.constructEvent(body, headers, secret).type, "webhook.test");
  assert.throws(() => webhooks.verify({ id: "evt_1" }, headers, secret), (e) => e.code === "invalid_payload");
  assert.throws(() => webhooks.verify(body, headers, "whsec_not base64!"), (e) => e.code === "invalid_secret");
});
