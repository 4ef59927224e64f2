// The published package shape: ESM and CommonJS entry points with the same API, and .d.ts files.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { test } from "node:test";
import * as esm from "@cybervault/node";

const require = createRequire(import.meta.url);

test("require() and import give the same exports", () => {
  const cjs = require("@cybervault/node");
  assert.deepEqual(Object.keys(cjs).filter((k) => k !== "__esModule").sort(), Object.keys(esm).sort());
  assert.equal(typeof cjs.CyberVault, "function");
  assert.equal(typeof cjs.webhooks.verify, "function");
  const client = new cjs.CyberVault({ apiKey: "cv_test_sk_x", baseURL: "http://127.0.0.1:1/" });
  assert.equal(client.baseURL, "http://127.0.0.1:1");
  assert.ok(new cjs.NotFoundError("x") instanceof cjs.CyberVaultError);
});

test("type declarations are emitted and referenced by package.json", () => {
  const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url)));
  assert.deepEqual(pkg.dependencies ?? {}, {}); // zero runtime dependencies
  const types = new URL(`../${pkg.exports["."].types}`, import.meta.url);
  assert.ok(existsSync(types));
  const dts = readFileSync(new URL("../dist/types/client.d.ts", import.meta.url), "utf8");
  assert.match(dts, /readonly incidents: Incidents;/);
});

test("code using the package type-checks against the emitted declarations", async () => {
  const { execFile } = await import("node:child_process");
  const { promisify } = await import("node:util");
  const tsc = require.resolve("typescript/bin/tsc");
  const project = new URL("./types/tsconfig.json", import.meta.url).pathname;
  await promisify(execFile)(process.execPath, [tsc, "-p", project]).catch((err) => {
    assert.fail(`tsc failed:\n${err.stdout}${err.stderr}`);
  });
});
