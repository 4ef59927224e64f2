// A real local HTTP server that answers each "METHOD path" from a script (429 with Retry-After, 503,
// 409, a dropped connection, then success) and records what arrived, so tests can check every retry.
import { createServer } from "node:http";

export async function startFlakyServer() {
  const scripts = new Map();
  const received = [];
  const server = createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const url = new URL(req.url, "http://x");
      const key = `${req.method} ${url.pathname}`;
      received.push({ key, headers: req.headers, body: Buffer.concat(chunks).toString(), query: url.search, at: performance.now() });
      const actions = scripts.get(key) ?? [{ status: 404, body: { error: { code: "resource_not_found", message: "no script" } } }];
      const action = actions.length > 1 ? actions.shift() : actions[0]; // the last action repeats
      if (action.drop) { req.socket.destroy(); return; }
      const payload = JSON.stringify(action.body ?? { id: "obj_1", object: "thing" });
      res.writeHead(action.status ?? 200, { "content-type": "application/json", ...(action.headers ?? {}) });
      res.end(payload);
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    script: (key, ...actions) => scripts.set(key, actions),
    requests: (key) => received.filter((r) => r.key === key),
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }),
  };
}

export const apiError = (status, code, headers = {}) => ({
  status, headers, body: { error: { code, message: "scripted error", documentation_url: `http://flaky/docs/errors/${code}`, request_id: `req_flaky_${status}` } },
});
