# frozen_string_literal: true

module CyberVault
  # One class per API area (DESIGN §4.4), mirroring the Python SDK's resources method for method.
  module Resources
    SERVER_MAX_WAIT = 60 # the seed endpoint holds a request at most this long (seconds)

    # Shared plumbing: typed calls and ids that cannot change the URL path.
    class Base
      def initialize(transport)
        @transport = transport
      end

      private

      def call(method, path, params: nil, body: nil, idempotency_key: nil, idempotent: true, timeout: nil)
        body = body&.compact
        Object.wrap(@transport.request(method, path, params: params, body: body, idempotency_key: idempotency_key,
                                                     idempotent: idempotent, timeout: timeout))
      end

      def page(path, params)
        @transport.get_page(path, params.compact)
      end

      def path_id(value)
        value = value.to_s
        if value.empty? || value.match?(%r{[/?#%\\ ]}) || %w[. ..].include?(value)
          raise ArgumentError, "not an object id: #{value.inspect}"
        end

        value
      end
    end

    # create / retrieve / list / update / delete on one collection.
    class Crud < Base
      def initialize(transport, path)
        super(transport)
        @path = path
      end

      def create(idempotency_key: nil, **fields)
        call("POST", @path, body: fields, idempotency_key: idempotency_key)
      end

      def retrieve(id)
        call("GET", "#{@path}/#{path_id(id)}")
      end

      def list(**params)
        page(@path, params)
      end

      def update(id, **fields)
        call("PATCH", "#{@path}/#{path_id(id)}", body: fields)
      end

      def delete(id)
        call("DELETE", "#{@path}/#{path_id(id)}")
      end
    end

    # The seed's scan: starts a scan and waits for it.
    class Threats < Base
      # Runs a scan and waits until it completes, fails or is canceled. The server holds the request up to
      # 60 s; after that the SDK polls. A failed scan is returned (check #status); when timeout (seconds)
      # passes first, ScanTimeoutError carries the scan as last seen.
      def scan(target_ip, depth: nil, include_vulns: nil, timeout: 300, poll_interval: 1)
        deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + timeout
        wait = timeout.to_i.clamp(0, SERVER_MAX_WAIT)
        # This GET starts a scan, so it is retried only when the request never reached the server.
        scan = call("GET", "/v1/threats/scan", idempotent: false, timeout: wait + 30,
                                               params: { target_ip: target_ip, depth: depth, include_vulns: include_vulns, wait: wait })
        Scans.poll(@transport, scan, deadline, timeout, poll_interval)
      end
    end

    class Scans < Base
      def self.poll(transport, scan, deadline, timeout, poll_interval)
        scan_id = scan["scan_id"] || scan.id
        until scan.finished?
          remaining = deadline - Process.clock_gettime(Process::CLOCK_MONOTONIC)
          if remaining <= 0 || scan_id.nil?
            raise ScanTimeoutError.new("Scan #{scan_id} still #{scan['status']} after #{timeout}s.", scan: scan)
          end

          transport.sleep_for([poll_interval, remaining].min)
          scan = Object.wrap(transport.request("GET", "/v1/threats/scans/#{scan_id}"))
        end
        scan
      end

      # Queues a scan (202) and returns at once; see #wait.
      def create(target_ip, idempotency_key: nil, **fields)
        call("POST", "/v1/threats/scans", body: { target_ip: target_ip, **fields }, idempotency_key: idempotency_key)
      end

      def retrieve(scan_id)
        call("GET", "/v1/threats/scans/#{path_id(scan_id)}")
      end

      def list(**params)
        page("/v1/threats/scans", params)
      end

      def cancel(scan_id, idempotency_key: nil)
        call("POST", "/v1/threats/scans/#{path_id(scan_id)}/cancel", idempotency_key: idempotency_key)
      end

      def wait(scan_id, timeout: 300, poll_interval: 1)
        deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + timeout
        self.class.poll(@transport, retrieve(scan_id), deadline, timeout, poll_interval)
      end
    end

    class Findings < Base
      # Filters: severity, type, host, cve, status.
      def list(**params)
        page("/v1/threats/findings", params)
      end

      def retrieve(id)
        call("GET", "/v1/threats/findings/#{path_id(id)}")
      end

      # status: open, resolved or accepted_risk (which needs a reason).
      def update(id, **fields)
        call("PATCH", "/v1/threats/findings/#{path_id(id)}", body: fields)
      end
    end

    class Assets < Crud
      def initialize(transport)
        super(transport, "/v1/assets")
      end

      # Fields: name, tags, criticality, environment, owner.
      def create(target, idempotency_key: nil, **fields)
        super(idempotency_key: idempotency_key, target: target, **fields)
      end
    end

    class Cves < Base
      def retrieve(cve_id)
        call("GET", "/v1/cves/#{path_id(cve_id)}")
      end

      # Filters: product, version, cpe, kev.
      def search(**params)
        page("/v1/cves", params)
      end
      alias list search
    end

    class Incidents < Crud
      def initialize(transport)
        super(transport, "/v1/incidents")
      end

      # The seed's fields; extras: detected_at, personal_data_breach, tags, external_id.
      def create(title:, severity:, description:, affected_systems: nil, idempotency_key: nil, **extra)
        super(idempotency_key: idempotency_key, title: title, severity: severity, description: description,
              affected_systems: affected_systems, **extra)
      end

      def comment(id, body, idempotency_key: nil)
        call("POST", "#{@path}/#{path_id(id)}/comments", body: { body: body }, idempotency_key: idempotency_key)
      end

      def timeline(id, **params)
        page("#{@path}/#{path_id(id)}/timeline", params)
      end
    end

    class NotificationChannels < Crud
      def initialize(transport)
        super(transport, "/v1/notification_channels")
      end

      # Sends a test message through the channel.
      def test(id, idempotency_key: nil)
        call("POST", "#{@path}/#{path_id(id)}/test", idempotency_key: idempotency_key)
      end
    end

    class Compliance < Base
      attr_reader :attestations

      def initialize(transport)
        super
        @attestations = Crud.new(transport, "/v1/compliance/attestations")
      end

      # Posture across soc2, iso27001, hipaa, gdpr (all by default).
      def posture(frameworks: nil)
        call("GET", "/v1/compliance/posture", params: { frameworks: frameworks })
      end

      def frameworks
        call("GET", "/v1/compliance/frameworks")["data"] || []
      end

      def controls(framework: nil)
        call("GET", "/v1/compliance/controls", params: { framework: framework })["data"] || []
      end

      def history(**params)
        page("/v1/compliance/posture/history", params)
      end

      # OSCAL assessment-results (format: "oscal", an Object) or CSV text (format: "csv", a String).
      def export(format: "oscal", frameworks: nil)
        call("GET", "/v1/compliance/export", params: { format: format, frameworks: frameworks })
      end
    end

    class WebhookEndpoints < Crud
      def initialize(transport)
        super(transport, "/v1/webhook_endpoints")
      end

      # The response's secret (whsec_…) is what CyberVault::Webhook.verify needs.
      def create(url:, enabled_events: nil, idempotency_key: nil, **extra)
        super(idempotency_key: idempotency_key, url: url, enabled_events: enabled_events, **extra)
      end

      def secret(id)
        call("GET", "#{@path}/#{path_id(id)}/secret")
      end

      def rotate_secret(id, idempotency_key: nil)
        call("POST", "#{@path}/#{path_id(id)}/rotate_secret", idempotency_key: idempotency_key)
      end

      # Sends a webhook.test event to this endpoint only; returns the queued delivery.
      def test(id, idempotency_key: nil)
        call("POST", "#{@path}/#{path_id(id)}/test", idempotency_key: idempotency_key)
      end

      def deliveries(id, **params)
        page("#{@path}/#{path_id(id)}/deliveries", params)
      end
    end

    class WebhookDeliveries < Base
      def retrieve(id)
        call("GET", "/v1/webhook_deliveries/#{path_id(id)}")
      end

      def retry(id, idempotency_key: nil)
        call("POST", "/v1/webhook_deliveries/#{path_id(id)}/retry", idempotency_key: idempotency_key)
      end
    end

    class Events < Base
      def retrieve(id)
        call("GET", "/v1/events/#{path_id(id)}")
      end

      # Filter: type.
      def list(**params)
        page("/v1/events", params)
      end
    end

    class ApiKeys < Base
      # Fields: type, name, scopes, expires_at, mode. The plaintext secret is in this response only.
      def create(idempotency_key: nil, **fields)
        call("POST", "/v1/api_keys", body: fields, idempotency_key: idempotency_key)
      end

      def retrieve(id)
        call("GET", "/v1/api_keys/#{path_id(id)}")
      end

      def list(**params)
        page("/v1/api_keys", params)
      end

      def revoke(id, idempotency_key: nil)
        call("POST", "/v1/api_keys/#{path_id(id)}/revoke", idempotency_key: idempotency_key)
      end

      # A new secret; the old one keeps working for grace_period_seconds.
      def roll(id, grace_period_seconds: nil, idempotency_key: nil)
        call("POST", "/v1/api_keys/#{path_id(id)}/roll", body: { grace_period_seconds: grace_period_seconds },
                                                          idempotency_key: idempotency_key)
      end
    end

    class AuditLogs < Base
      def retrieve(id)
        call("GET", "/v1/audit_logs/#{path_id(id)}")
      end

      # Filters: action, object_id.
      def list(**params)
        page("/v1/audit_logs", params)
      end
    end
  end
end
