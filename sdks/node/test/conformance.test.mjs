import assert from "node:assert/strict";
import { test } from "node:test";
import { ConformanceRunner, load } from "./conformance-runner.mjs";
import { live, skipLive } from "./support.mjs";

test("the shared conformance scenario passes against the live server", { skip: skipLive }, async () => {
  const spec = await (await fetch(`${live.baseURL}/openapi.json`)).json();
  const runner = new ConformanceRunner(live.baseURL, { live: live.liveKey, test: live.testKey, invalid: load("scenario.json").keys.invalid },
    { publishedPaths: Object.keys(spec.paths ?? {}) });
  const scenario = load("scenario.json");
  const report = await runner.run(scenario);
  assert.deepEqual(report.failures, []);
  assert.deepEqual(report.skipped, []);
  assert.equal(report.ran.length, scenario.steps.length);
});
