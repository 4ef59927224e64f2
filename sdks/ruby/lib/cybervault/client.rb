# frozen_string_literal: true

module CyberVault
  # The CyberVault API client. api_key defaults to CYBERVAULT_API_KEY, base_url to CYBERVAULT_BASE_URL
  # (else http://127.0.0.1:8000). Failed requests are retried max_retries times (default 2) with exponential
  # backoff and jitter; a server's Retry-After is honoured up to max_retry_wait seconds (default 60).
  class Client < Transport
    attr_reader :threats, :scans, :findings, :scan_schedules, :assets, :cves, :incidents, :notification_channels,
                :triage_rules, :compliance, :webhook_endpoints, :webhook_deliveries, :events, :api_keys, :audit_logs

    def initialize(api_key = nil, **options)
      super(api_key: api_key || options.delete(:api_key), **options)
      @threats = Resources::Threats.new(self)
      @scans = Resources::Scans.new(self)
      @findings = Resources::Findings.new(self)
      @scan_schedules = Resources::Crud.new(self, "/v1/threats/schedules")
      @assets = Resources::Assets.new(self)
      @cves = Resources::Cves.new(self)
      @incidents = Resources::Incidents.new(self)
      @notification_channels = Resources::NotificationChannels.new(self)
      @triage_rules = Resources::Crud.new(self, "/v1/triage_rules")
      @compliance = Resources::Compliance.new(self)
      @webhook_endpoints = Resources::WebhookEndpoints.new(self)
      @webhook_deliveries = Resources::WebhookDeliveries.new(self)
      @events = Resources::Events.new(self)
      @api_keys = Resources::ApiKeys.new(self)
      @audit_logs = Resources::AuditLogs.new(self)
    end
  end
end
