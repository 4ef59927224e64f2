// The README's quick start runs as written against the live server, with the sandbox key.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { test } from "node:test";
import { promisify } from "node:util";
import { live, skipLive } from "./support.mjs";

test("the README quick start works", { skip: skipLive }, async () => {
  const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
  const section = readme.slice(readme.indexOf("## Quick start"));
  const code = section.match(/```js\n([\s\S]*?)```/)[1];
  // Inside the package folder, so `import "@cybervault/node"` resolves to this package.
  const file = new URL(`./.quickstart-${process.pid}.mjs`, import.meta.url);
  writeFileSync(file, code);
  try {
    const { stdout } = await promisify(execFile)(process.execPath, [file.pathname], {
      env: { ...process.env, CYBERVAULT_API_KEY: live.testKey, CYBERVAULT_BASE_URL: live.baseURL },
    });
    assert.match(stdout, /^sc_\w+ completed 2$/m);
    assert.match(stdout, /critical\s+vulnerable_service\s+.*CVE-2017-5638/);
    assert.match(stdout, /^inc_\w+ \w+ open$/m);
    assert.match(stdout, /^invalid_request title /m);
  } finally {
    rmSync(file, { force: true });
  }
});
