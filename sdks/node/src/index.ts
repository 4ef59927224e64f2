export { CyberVault } from "./client.js";
export { CyberVault as default } from "./client.js";
export { APIClient, type ClientOptions, type RawResponse, type RequestSpec, type RequestOptions, type Query, type JSONBody } from "./core.js";
export * from "./errors.js";
export { Page, PagePromise } from "./pagination.js";
export * from "./resources.js";
export type {
  CyberVaultObject, DeletedObject, Finding, Scan, ScanSchedule, Asset, Cve, Incident, IncidentComment, TimelineEntry, NotificationChannel, TriageRule, CompliancePosture, ComplianceFramework, ComplianceControl, Attestation, PostureSnapshot, WebhookEndpoint, WebhookSecret, WebhookDelivery, Event, ApiKey, AuditLog, ListParams,
} from "./types.js";
export * as webhooks from "./webhooks.js";
export { VERSION } from "./version.js";
