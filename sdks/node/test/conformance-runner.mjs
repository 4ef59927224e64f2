// The Node runner for sdks/conformance/scenario.json (step format: sdks/conformance/README.md).
// Every request goes through the SDK (rawRequest, getPage + iterPages), so the scenario checks the
// SDK's authentication, error mapping and paging, not just the server.
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  APIConnectionError, APIError, AuthenticationError, ConflictError, CyberVault, CyberVaultError,
  InvalidRequestError, NotFoundError, PermissionDeniedError, RateLimitError,
} from "@cybervault/node";

export const CONFORMANCE_DIR = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "conformance");
export const load = (name) => JSON.parse(readFileSync(join(CONFORMANCE_DIR, name), "utf8"));

const ERROR_TYPES = {
  authentication: AuthenticationError, permission: PermissionDeniedError, not_found: NotFoundError,
  invalid_request: InvalidRequestError, conflict: ConflictError, rate_limit: RateLimitError, api: APIError,
  connection: APIConnectionError,
};
const MISSING = Symbol("missing");

class Unresolved extends Error {}

function substitute(value, vars) {
  if (typeof value === "string") {
    return value.replace(/\{\{(\w+)\}\}/g, (_, name) => {
      if (!(name in vars)) throw new Unresolved(name);
      return vars[name];
    });
  }
  if (Array.isArray(value)) return value.map((v) => substitute(v, vars));
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [substitute(k, vars), substitute(v, vars)]));
  }
  return value;
}

export function lookup(doc, path) {
  const parts = path ? path.split(".") : [];
  let current = doc;
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i];
    if (part === "*") {
      if (!Array.isArray(current)) return MISSING;
      const rest = parts.slice(i + 1).join(".");
      return current.map((item) => lookup(item, rest));
    }
    if (Array.isArray(current) && /^\d+$/.test(part)) current = Number(part) < current.length ? current[Number(part)] : MISSING;
    else if (current && typeof current === "object" && !Array.isArray(current)) current = part in current ? current[part] : MISSING;
    else return MISSING;
    if (current === MISSING) return MISSING;
  }
  return current;
}

function deepEqual(a, b) {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== "object") return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a), kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k) => deepEqual(a[k], b[k]));
}

const TYPES = {
  string: (v) => typeof v === "string", number: (v) => typeof v === "number", integer: (v) => Number.isInteger(v),
  boolean: (v) => typeof v === "boolean", object: (v) => v !== null && typeof v === "object" && !Array.isArray(v),
  array: Array.isArray, null: (v) => v === null,
};

export function matches(actual, expected) {
  if (expected && typeof expected === "object" && !Array.isArray(expected)) {
    const keys = Object.keys(expected);
    if (keys.length === 1 && keys[0].startsWith("$")) {
      const op = keys[0], arg = expected[op];
      if (op === "$exists") return (actual !== MISSING) === arg ? null : `exists=${actual !== MISSING}`;
      if (actual === MISSING) return "missing";
      const checks = {
        $prefix: () => typeof actual === "string" && actual.startsWith(arg),
        $suffix: () => typeof actual === "string" && actual.endsWith(arg),
        $regex: () => typeof actual === "string" && new RegExp(arg).test(actual),
        $len: () => (Array.isArray(actual) || typeof actual === "string" ? actual.length : actual && typeof actual === "object" ? Object.keys(actual).length : -1) === arg,
        $contains: () => Array.isArray(actual) && actual.some((v) => deepEqual(v, arg)),
        $in: () => arg.some((v) => deepEqual(v, actual)),
        $gte: () => typeof actual === "number" && actual >= arg,
        $keys: () => TYPES.object(actual) && deepEqual(Object.keys(actual).sort(), [...arg].sort()),
        $type: () => TYPES[arg](actual),
      };
      if (!checks[op]) return `unknown matcher ${op}`;
      return checks[op]() ? null : `${op} ${JSON.stringify(arg)} failed for ${JSON.stringify(actual)}`;
    }
  }
  if (actual === MISSING) return "missing";
  return deepEqual(actual, expected) ? null : `expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`;
}

export class ConformanceRunner {
  constructor(baseURL, keys, { publishedPaths } = {}) {
    this.baseURL = baseURL;
    this.keys = keys;
    this.vars = { run_id: randomBytes(4).toString("hex") };
    this.routes = publishedPaths ? [...publishedPaths].map((p) => new RegExp("^" + p.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\\?\{[^/]+?\\?\}/g, "[^/]+") + "$")) : null;
    this.clients = {};
  }

  client(name) {
    this.clients[name] ??= new CyberVault({ apiKey: this.keys[name] ?? name, baseURL: this.baseURL, maxRetries: 2 });
    return this.clients[name];
  }

  async run(scenario) {
    const report = { ran: [], skipped: [], failures: [] };
    for (const step of scenario.steps) {
      let resolved;
      try {
        const { save, ...rest } = step;
        resolved = substitute(rest, this.vars);
      } catch (err) {
        if (err instanceof Unresolved) { report.skipped.push(`${step.name} (needs ${err.message})`); continue; }
        throw err;
      }
      if (this.routes && !this.routes.some((r) => r.test(resolved.path))) {
        report.skipped.push(`${step.name} (server does not publish ${resolved.method} ${resolved.path})`);
        continue;
      }
      const problems = resolved.paginate ? await this.paginate(resolved) : await this.request(resolved, step);
      report.ran.push(step.name);
      report.failures.push(...problems.map((p) => `${step.name}: ${p}`));
    }
    return report;
  }

  async request(step, raw) {
    const expect = step.expect ?? {};
    let status, body, errorType = null;
    try {
      const response = await this.client(step.key ?? "live").rawRequest(step.method, step.path, { query: step.query, body: step.body });
      ({ status, body } = response);
    } catch (err) {
      if (!(err instanceof CyberVaultError)) throw err;
      status = err.httpStatus;
      body = err.body;
      errorType = Object.entries(ERROR_TYPES).find(([, cls]) => err.constructor === cls)?.[0] ?? err.constructor.name;
    }
    const problems = [];
    if ("status" in expect && status !== expect.status) {
      return [`status ${status}, expected ${expect.status} (body ${JSON.stringify(body).slice(0, 300)})`];
    }
    if ("error_type" in expect && errorType !== expect.error_type) problems.push(`SDK error type ${errorType}, expected ${expect.error_type}`);
    for (const [path, expected] of Object.entries(expect.fields ?? {})) {
      const reason = matches(lookup(body, path), expected);
      if (reason) problems.push(`field ${path}: ${reason}`);
    }
    for (const [name, path] of Object.entries(raw.save ?? {})) {
      const value = lookup(body, path);
      if (value === MISSING) problems.push(`cannot save ${name}: ${path} missing`);
      else this.vars[name] = String(value);
    }
    return problems;
  }

  async paginate(step) {
    const expect = step.expect ?? {};
    const first = await this.client(step.key ?? "live").getPage(step.path, { ...(step.query ?? {}), limit: step.paginate.limit });
    const ids = [];
    let pages = 0;
    for await (const page of first.iterPages()) {
      pages += 1;
      ids.push(...page.data.map((o) => o.id));
    }
    const problems = [];
    if ("items" in expect && ids.length !== expect.items) problems.push(`${ids.length} items, expected ${expect.items}`);
    if ("pages" in expect && pages !== expect.pages) problems.push(`${pages} pages, expected ${expect.pages}`);
    if (expect.unique_ids && new Set(ids).size !== ids.length) problems.push("an object appeared twice while paging");
    if (expect.order === "id_desc" && JSON.stringify(ids) !== JSON.stringify([...ids].sort().reverse())) problems.push(`not newest first: ${ids}`);
    return problems;
  }
}
