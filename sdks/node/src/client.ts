/** `CyberVault`: the transport plus one attribute per API area (DESIGN §4.4). */
import { APIClient, type ClientOptions, type Query } from "./core.js";
import { fetchPage, type Page } from "./pagination.js";
import {
  ApiKeys, Assets, AuditLogs, Compliance, Cves, Events, Findings, Incidents, NotificationChannels, Scans,
  ScanSchedules, Threats, TriageRules, WebhookDeliveries, WebhookEndpoints,
} from "./resources.js";
import type { CyberVaultObject } from "./types.js";

export class CyberVault extends APIClient {
  readonly threats: Threats;
  readonly scans: Scans;
  readonly findings: Findings;
  readonly scanSchedules: ScanSchedules;
  readonly assets: Assets;
  readonly cves: Cves;
  readonly incidents: Incidents;
  readonly notificationChannels: NotificationChannels;
  readonly triageRules: TriageRules;
  readonly compliance: Compliance;
  readonly webhookEndpoints: WebhookEndpoints;
  readonly webhookDeliveries: WebhookDeliveries;
  readonly events: Events;
  readonly apiKeys: ApiKeys;
  readonly auditLogs: AuditLogs;

  /**
   * `apiKey` defaults to CYBERVAULT_API_KEY, `baseURL` to CYBERVAULT_BASE_URL (else http://127.0.0.1:8000).
   * Failed requests are retried `maxRetries` times (default 2) with exponential backoff and jitter.
   */
  constructor(options: ClientOptions = {}) {
    super(options);
    this.threats = new Threats(this);
    this.scans = new Scans(this);
    this.findings = new Findings(this);
    this.scanSchedules = new ScanSchedules(this);
    this.assets = new Assets(this);
    this.cves = new Cves(this);
    this.incidents = new Incidents(this);
    this.notificationChannels = new NotificationChannels(this);
    this.triageRules = new TriageRules(this);
    this.compliance = new Compliance(this);
    this.webhookEndpoints = new WebhookEndpoints(this);
    this.webhookDeliveries = new WebhookDeliveries(this);
    this.events = new Events(this);
    this.apiKeys = new ApiKeys(this);
    this.auditLogs = new AuditLogs(this);
  }

  /** The first page of any list endpoint; iterate the page (`for await`) to walk the rest. */
  getPage<T extends CyberVaultObject = CyberVaultObject>(path: string, query: Query = {}): Promise<Page<T>> {
    return fetchPage<T>(this, path, query);
  }
}
