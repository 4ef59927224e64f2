/** One class per API area (DESIGN §4.4), mirroring the Python SDK's resources method for method. */
import type { APIClient, JSONBody, Query, RequestOptions } from "./core.js";
import { cleanBody } from "./core.js";
import { ScanTimeoutError } from "./errors.js";
import { PagePromise } from "./pagination.js";
import type {
  ApiKey, Asset, Attestation, AuditLog, ComplianceControl, ComplianceFramework, CompliancePosture, Cve,
  CyberVaultObject, DeletedObject, Event, Finding, Incident, IncidentComment, ListParams, NotificationChannel,
  PostureSnapshot, Scan, ScanSchedule, TimelineEntry, TriageRule, WebhookDelivery, WebhookEndpoint, WebhookSecret,
} from "./types.js";

const SERVER_MAX_WAIT_S = 60; // the seed endpoint holds a request at most this long
const TERMINAL = new Set(["completed", "failed", "canceled"]);

/** Object ids go into URLs; refuse anything that could change the path. */
export function pathId(value: string): string {
  if (!value || /[/?#%\\ ]/.test(value) || value === "." || value === "..") {
    throw new TypeError(`not an object id: ${JSON.stringify(value)}`);
  }
  return value;
}

type Fields = Record<string, unknown>;
type WithKey = RequestOptions;

class Resource {
  constructor(protected readonly client: APIClient) {}

  protected call<T>(method: string, path: string, opts: { query?: Query; body?: Fields; idempotencyKey?: string | undefined; idempotent?: boolean; timeout?: number } = {}): Promise<T> {
    return this.client.request<T>({
      method, path, query: opts.query, body: cleanBody(opts.body as JSONBody | undefined),
      idempotencyKey: opts.idempotencyKey, idempotent: opts.idempotent ?? true, timeout: opts.timeout,
    });
  }

  protected pager<T extends CyberVaultObject>(path: string, params: Query = {}): PagePromise<T> {
    return new PagePromise<T>(this.client, path, params);
  }
}

/** create / retrieve / list / update / delete on one collection. */
class Crud<T extends CyberVaultObject> extends Resource {
  constructor(client: APIClient, protected readonly path: string) { super(client); }
  protected make(fields: Fields, options: WithKey = {}): Promise<T> {
    return this.call<T>("POST", this.path, { body: fields, idempotencyKey: options.idempotencyKey });
  }
  retrieve(id: string): Promise<T> { return this.call<T>("GET", `${this.path}/${pathId(id)}`); }
  // Named `list` on the public classes; `all` here so subclasses can type their filters.
  protected all(params: ListParams = {}): PagePromise<T> { return this.pager<T>(this.path, params); }
  update(id: string, fields: Fields): Promise<T> { return this.call<T>("PATCH", `${this.path}/${pathId(id)}`, { body: fields }); }
  protected del(id: string): Promise<DeletedObject> { return this.call<DeletedObject>("DELETE", `${this.path}/${pathId(id)}`); }
}

// ---- threats, scans, findings, schedules, assets, CVEs ----------------------------------------------

export interface ScanParams { depth?: string; include_vulns?: boolean }
export interface WaitOptions { /** ms, default 300 000 */ timeout?: number; /** ms, default 1000 */ pollInterval?: number }

export class Scans extends Resource {
  /** Queue a scan (202) and return at once; see `wait()` or `threats.scan()`. */
  create(targetIp: string, params: ScanParams & Fields = {}, options: WithKey = {}): Promise<Scan> {
    return this.call<Scan>("POST", "/v1/threats/scans", { body: { target_ip: targetIp, ...params }, idempotencyKey: options.idempotencyKey });
  }
  retrieve(scanId: string): Promise<Scan> { return this.call<Scan>("GET", `/v1/threats/scans/${pathId(scanId)}`); }
  list(params: ListParams & { status?: string } = {}): PagePromise<Scan> { return this.pager<Scan>("/v1/threats/scans", params); }
  cancel(scanId: string, options: WithKey = {}): Promise<Scan> {
    return this.call<Scan>("POST", `/v1/threats/scans/${pathId(scanId)}/cancel`, { idempotencyKey: options.idempotencyKey });
  }
  /** Poll a scan until it completes, fails or is canceled. */
  async wait(scanId: string, options: WaitOptions = {}): Promise<Scan> {
    return pollScan(this.client, await this.retrieve(scanId), options, Date.now() + (options.timeout ?? 300_000));
  }
}

async function pollScan(client: APIClient, scan: Scan, options: WaitOptions, deadline: number): Promise<Scan> {
  const scanId = scan.scan_id ?? scan.id;
  while (!TERMINAL.has(scan.status)) {
    const remaining = deadline - Date.now();
    if (remaining <= 0 || !scanId) {
      throw new ScanTimeoutError(`Scan ${scanId} still ${scan.status} after the wait timeout.`, scan);
    }
    await client.sleep(Math.min(options.pollInterval ?? 1000, remaining));
    scan = await client.request<Scan>({ method: "GET", path: `/v1/threats/scans/${pathId(scanId)}` });
  }
  return scan;
}

export class Threats extends Resource {
  /**
   * Run a scan and wait for it to finish (the seed's `GET /v1/threats/scan`). The server holds the request
   * up to 60 s; after that the SDK polls until the scan completes, fails or is canceled. A failed scan is
   * returned (check `status`); when `timeout` passes first, `ScanTimeoutError` carries the scan as last seen.
   */
  async scan(targetIp: string, params: ScanParams & WaitOptions = {}): Promise<Scan> {
    const timeout = params.timeout ?? 300_000;
    const deadline = Date.now() + timeout;
    const wait = Math.max(0, Math.min(SERVER_MAX_WAIT_S, Math.floor(timeout / 1000)));
    // This GET starts a scan, so it is retried only when the request never reached the server.
    const scan = await this.call<Scan>("GET", "/v1/threats/scan", {
      query: { target_ip: targetIp, depth: params.depth, include_vulns: params.include_vulns, wait },
      idempotent: false, timeout: (wait + 30) * 1000,
    });
    return pollScan(this.client, scan, params, deadline);
  }
}

export class Findings extends Resource {
  list(params: ListParams & { severity?: string; type?: string; host?: string; cve?: string; status?: string } = {}): PagePromise<Finding> {
    return this.pager<Finding>("/v1/threats/findings", params);
  }
  retrieve(findingId: string): Promise<Finding> { return this.call<Finding>("GET", `/v1/threats/findings/${pathId(findingId)}`); }
  /** status: open, resolved or accepted_risk (which needs a `reason`). */
  update(findingId: string, fields: { status?: string; reason?: string } & Fields): Promise<Finding> {
    return this.call<Finding>("PATCH", `/v1/threats/findings/${pathId(findingId)}`, { body: fields });
  }
}

export class ScanSchedules extends Crud<ScanSchedule> {
  constructor(client: APIClient) { super(client, "/v1/threats/schedules"); }
  create(fields: Fields, options: WithKey = {}): Promise<ScanSchedule> { return this.make(fields, options); }
  list(params: ListParams = {}): PagePromise<ScanSchedule> { return this.all(params); }
  delete(id: string): Promise<DeletedObject> { return this.del(id); }
}

export interface AssetParams { name?: string; tags?: string[]; criticality?: string; environment?: string; owner?: string }

export class Assets extends Crud<Asset> {
  constructor(client: APIClient) { super(client, "/v1/assets"); }
  create(target: string | Fields, params: AssetParams & Fields = {}, options: WithKey = {}): Promise<Asset> {
    const body = typeof target === "string" ? { target, ...params } : target;
    return this.make(body, options);
  }
  list(params: ListParams & { tag?: string; criticality?: string; environment?: string } = {}): PagePromise<Asset> { return this.all(params); }
  delete(id: string): Promise<DeletedObject> { return this.del(id); }
}

export class Cves extends Resource {
  retrieve(cveId: string): Promise<Cve> { return this.call<Cve>("GET", `/v1/cves/${pathId(cveId)}`); }
  search(params: ListParams & { product?: string; version?: string; cpe?: string; kev?: boolean } = {}): PagePromise<Cve> {
    return this.pager<Cve>("/v1/cves", params);
  }
  list(params: ListParams & { product?: string; version?: string; cpe?: string; kev?: boolean } = {}): PagePromise<Cve> {
    return this.search(params);
  }
}

// ---- incidents, channels, triage --------------------------------------------------------------------

export interface IncidentParams {
  title: string;
  severity: string;
  description: string;
  affected_systems?: string[];
  [extra: string]: unknown; // detected_at, personal_data_breach, tags, external_id
}

export class Incidents extends Crud<Incident> {
  constructor(client: APIClient) { super(client, "/v1/incidents"); }
  create(params: IncidentParams, options: WithKey = {}): Promise<Incident> { return this.make(params, options); }
  list(params: ListParams & { status?: string; severity?: string; priority?: string; assignee?: string; tag?: string } = {}): PagePromise<Incident> {
    return this.all(params);
  }
  comment(incidentId: string, body: string, options: WithKey = {}): Promise<IncidentComment> {
    return this.call<IncidentComment>("POST", `${this.path}/${pathId(incidentId)}/comments`, { body: { body }, idempotencyKey: options.idempotencyKey });
  }
  timeline(incidentId: string, params: ListParams = {}): PagePromise<TimelineEntry> {
    return this.pager<TimelineEntry>(`${this.path}/${pathId(incidentId)}/timeline`, params);
  }
}

export class NotificationChannels extends Crud<NotificationChannel> {
  constructor(client: APIClient) { super(client, "/v1/notification_channels"); }
  create(fields: Fields, options: WithKey = {}): Promise<NotificationChannel> { return this.make(fields, options); }
  list(params: ListParams = {}): PagePromise<NotificationChannel> { return this.all(params); }
  delete(id: string): Promise<DeletedObject> { return this.del(id); }
  /** Send a test message through the channel. */
  test(channelId: string, options: WithKey = {}): Promise<Record<string, unknown>> {
    return this.call("POST", `${this.path}/${pathId(channelId)}/test`, { idempotencyKey: options.idempotencyKey });
  }
}

export class TriageRules extends Crud<TriageRule> {
  constructor(client: APIClient) { super(client, "/v1/triage_rules"); }
  create(fields: Fields, options: WithKey = {}): Promise<TriageRule> { return this.make(fields, options); }
  list(params: ListParams = {}): PagePromise<TriageRule> { return this.all(params); }
  delete(id: string): Promise<DeletedObject> { return this.del(id); }
}

// ---- compliance ---------------------------------------------------------------------------------------

export class Attestations extends Crud<Attestation> {
  constructor(client: APIClient) { super(client, "/v1/compliance/attestations"); }
  create(fields: Fields, options: WithKey = {}): Promise<Attestation> { return this.make(fields, options); }
  list(params: ListParams = {}): PagePromise<Attestation> { return this.all(params); }
  delete(id: string): Promise<DeletedObject> { return this.del(id); }
}

export class Compliance extends Resource {
  readonly attestations: Attestations;
  constructor(client: APIClient) { super(client); this.attestations = new Attestations(client); }
  /** Posture across soc2, iso27001, hipaa, gdpr (all by default). */
  posture(params: { frameworks?: string | string[] } = {}): Promise<CompliancePosture> {
    return this.call<CompliancePosture>("GET", "/v1/compliance/posture", { query: { frameworks: params.frameworks } });
  }
  async frameworks(): Promise<ComplianceFramework[]> {
    return (await this.call<{ data?: ComplianceFramework[] }>("GET", "/v1/compliance/frameworks")).data ?? [];
  }
  async controls(params: { framework?: string } = {}): Promise<ComplianceControl[]> {
    return (await this.call<{ data?: ComplianceControl[] }>("GET", "/v1/compliance/controls", { query: params })).data ?? [];
  }
  history(params: ListParams = {}): PagePromise<PostureSnapshot> { return this.pager<PostureSnapshot>("/v1/compliance/posture/history", params); }
  /** OSCAL assessment-results as an object (`format: "oscal"`) or CSV text (`format: "csv"`). */
  export(params: { format?: "oscal" | "csv"; frameworks?: string | string[] } = {}): Promise<Record<string, unknown> | string> {
    return this.call("GET", "/v1/compliance/export", { query: { format: params.format ?? "oscal", frameworks: params.frameworks } });
  }
}

// ---- webhooks, events, keys, audit logs ---------------------------------------------------------------

export class WebhookEndpoints extends Crud<WebhookEndpoint> {
  constructor(client: APIClient) { super(client, "/v1/webhook_endpoints"); }
  /** The response's `secret` (`whsec_…`) is what `webhooks.verify()` needs. */
  create(params: { url: string; enabled_events?: string[]; description?: string; [extra: string]: unknown }, options: WithKey = {}): Promise<WebhookEndpoint> {
    return this.make(params, options);
  }
  list(params: ListParams = {}): PagePromise<WebhookEndpoint> { return this.all(params); }
  delete(id: string): Promise<DeletedObject> { return this.del(id); }
  secret(id: string): Promise<WebhookSecret> { return this.call<WebhookSecret>("GET", `${this.path}/${pathId(id)}/secret`); }
  rotateSecret(id: string, options: WithKey = {}): Promise<WebhookEndpoint> {
    return this.call<WebhookEndpoint>("POST", `${this.path}/${pathId(id)}/rotate_secret`, { idempotencyKey: options.idempotencyKey });
  }
  /** Send a `webhook.test` event to this endpoint only; returns the queued delivery. */
  test(id: string, options: WithKey = {}): Promise<WebhookDelivery> {
    return this.call<WebhookDelivery>("POST", `${this.path}/${pathId(id)}/test`, { idempotencyKey: options.idempotencyKey });
  }
  deliveries(id: string, params: ListParams = {}): PagePromise<WebhookDelivery> {
    return this.pager<WebhookDelivery>(`${this.path}/${pathId(id)}/deliveries`, params);
  }
}

export class WebhookDeliveries extends Resource {
  retrieve(id: string): Promise<WebhookDelivery> { return this.call<WebhookDelivery>("GET", `/v1/webhook_deliveries/${pathId(id)}`); }
  retry(id: string, options: WithKey = {}): Promise<WebhookDelivery> {
    return this.call<WebhookDelivery>("POST", `/v1/webhook_deliveries/${pathId(id)}/retry`, { idempotencyKey: options.idempotencyKey });
  }
}

export class Events extends Resource {
  retrieve(id: string): Promise<Event> { return this.call<Event>("GET", `/v1/events/${pathId(id)}`); }
  list(params: ListParams & { type?: string } = {}): PagePromise<Event> { return this.pager<Event>("/v1/events", params); }
}

export class ApiKeys extends Resource {
  /** The plaintext `secret` is in this response only. */
  create(params: { type?: string; name?: string; scopes?: string[]; expires_at?: string; mode?: string } = {}, options: WithKey = {}): Promise<ApiKey> {
    return this.call<ApiKey>("POST", "/v1/api_keys", { body: params, idempotencyKey: options.idempotencyKey });
  }
  retrieve(id: string): Promise<ApiKey> { return this.call<ApiKey>("GET", `/v1/api_keys/${pathId(id)}`); }
  list(params: ListParams = {}): PagePromise<ApiKey> { return this.pager<ApiKey>("/v1/api_keys", params); }
  revoke(id: string, options: WithKey = {}): Promise<ApiKey> {
    return this.call<ApiKey>("POST", `/v1/api_keys/${pathId(id)}/revoke`, { idempotencyKey: options.idempotencyKey });
  }
  /** A new secret for the key; the old one keeps working for `grace_period_seconds`. */
  roll(id: string, params: { grace_period_seconds?: number } = {}, options: WithKey = {}): Promise<ApiKey> {
    return this.call<ApiKey>("POST", `/v1/api_keys/${pathId(id)}/roll`, { body: params, idempotencyKey: options.idempotencyKey });
  }
}

export class AuditLogs extends Resource {
  retrieve(id: string): Promise<AuditLog> { return this.call<AuditLog>("GET", `/v1/audit_logs/${pathId(id)}`); }
  list(params: ListParams & { action?: string; object_id?: string } = {}): PagePromise<AuditLog> { return this.pager<AuditLog>("/v1/audit_logs", params); }
}
