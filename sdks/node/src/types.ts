/**
 * Response objects. Each interface names the fields the API documents; fields a newer server adds are
 * still present on the object (the index signature), so a newer server never breaks an older SDK.
 * Timestamps are ISO-8601 UTC strings as sent (`2025-01-15T08:32:11Z`).
 */

export interface CyberVaultObject {
  id: string;
  object: string;
  livemode?: boolean;
  [field: string]: unknown;
}

export interface DeletedObject extends CyberVaultObject { deleted: boolean }

export interface Finding extends CyberVaultObject {
  type: string;
  severity: string;
  details: string;
  cve?: string | null;
  host?: string | null;
  port?: number | null;
  status?: string;
}

export interface Scan extends CyberVaultObject {
  scan_id: string;
  status: "queued" | "running" | "completed" | "failed" | "canceled" | string;
  threats_found: number;
  findings: Finding[];
  timestamp: string;
  target_ip?: string;
  depth?: string;
}

export interface ScanSchedule extends CyberVaultObject { interval_minutes?: number; target?: string | null }
export interface Asset extends CyberVaultObject {
  target: string;
  name?: string | null;
  tags: string[];
  criticality?: string;
  environment?: string | null;
  owner?: string | null;
  created: string;
}
export interface Cve extends CyberVaultObject { cve_id?: string; description?: string; kev?: boolean }
export interface Incident extends CyberVaultObject {
  title: string;
  severity: string;
  description: string;
  status: string;
  priority?: string;
  affected_systems?: string[];
  created?: string;
}
export interface IncidentComment extends CyberVaultObject { body?: string }
export interface TimelineEntry extends CyberVaultObject { type?: string }
export interface NotificationChannel extends CyberVaultObject { type?: string; name?: string }
export interface TriageRule extends CyberVaultObject { name?: string; position?: number; enabled?: boolean }
export interface CompliancePosture extends CyberVaultObject { frameworks?: unknown }
export interface ComplianceFramework extends CyberVaultObject { name?: string }
export interface ComplianceControl extends CyberVaultObject { framework?: string }
export interface Attestation extends CyberVaultObject { control_id?: string }
export interface PostureSnapshot extends CyberVaultObject {}
export interface WebhookEndpoint extends CyberVaultObject { url: string; enabled_events?: string[]; secret?: string }
export interface WebhookSecret extends CyberVaultObject { secret: string }
export interface WebhookDelivery extends CyberVaultObject { status?: string; event?: string }
export interface Event extends CyberVaultObject {
  type: string;
  created: string;
  data: { object: Record<string, unknown>; [field: string]: unknown };
}
export interface ApiKey extends CyberVaultObject { secret?: string; scopes?: string[]; type?: string }
export interface AuditLog extends CyberVaultObject { action?: string; object_id?: string }

/** Parameters every list accepts. */
export interface ListParams {
  limit?: number;
  starting_after?: string;
  ending_before?: string;
  [filter: string]: unknown;
}
