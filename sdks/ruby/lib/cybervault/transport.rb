# frozen_string_literal: true

require "json"
require "net/http"
require "openssl"
require "securerandom"
require "time"
require "uri"

module CyberVault
  # A successful (2xx) response as #raw_request returns it.
  Response = Struct.new(:status, :headers, :body, keyword_init: true) do
    def request_id
      headers["x-request-id"]
    end
  end

  # Sends one logical request with retries, and turns error responses into typed errors.
  class Transport
    DEFAULT_BASE_URL = "http://127.0.0.1:8000"
    DEFAULT_TIMEOUT = 80
    DEFAULT_MAX_RETRIES = 2
    DEFAULT_MAX_RETRY_WAIT = 60
    INITIAL_RETRY_DELAY = 0.5
    MAX_RETRY_DELAY = 8.0
    # 409s that describe a final state: retrying cannot change the answer.
    PERMANENT_CONFLICT_CODES = %w[scan_not_cancelable conflict].freeze
    # Failures before the request left this machine: even a non-idempotent request may be retried.
    CONNECT_ERRORS = [Errno::ECONNREFUSED, Errno::EHOSTUNREACH, Errno::ENETUNREACH, Net::OpenTimeout, SocketError].freeze
    NETWORK_ERRORS = (CONNECT_ERRORS + [Errno::ECONNRESET, Errno::EPIPE, EOFError, IOError, Net::ReadTimeout,
                                        Net::WriteTimeout, Errno::ETIMEDOUT, OpenSSL::SSL::SSLError]).freeze

    attr_reader :base_url, :timeout, :max_retries, :max_retry_wait

    def initialize(api_key: nil, base_url: nil, timeout: nil, max_retries: nil, max_retry_wait: nil, default_headers: {})
      @api_key = api_key || ENV.fetch("CYBERVAULT_API_KEY", nil)
      if @api_key.nil? || @api_key.empty?
        raise Error.new("No API key given. Pass api_key: or set CYBERVAULT_API_KEY " \
                        "(`make run` prints a demo key the first time it starts).", code: "missing_api_key")
      end
      base = base_url || ENV.fetch("CYBERVAULT_BASE_URL", nil)
      @base_url = (base.nil? || base.empty? ? DEFAULT_BASE_URL : base).sub(%r{/+\z}, "")
      @timeout = timeout || DEFAULT_TIMEOUT
      @max_retries = max_retries || DEFAULT_MAX_RETRIES
      raise ArgumentError, "max_retries must be >= 0" if @max_retries.negative?

      @max_retry_wait = max_retry_wait || DEFAULT_MAX_RETRY_WAIT
      @default_headers = default_headers
    end

    def api_key
      @api_key
    end

    # Keeps the key out of logs and error pages.
    def inspect
      "#<#{self.class.name} base_url=#{@base_url.inspect}>"
    end

    # Waits between retries; tests may replace it.
    def sleep_for(seconds)
      sleep(seconds)
    end

    # Any endpoint (for routes newer than this SDK): a Response for a 2xx, a typed error otherwise.
    def raw_request(method, path, params: nil, json: nil, idempotency_key: nil)
      send_request(method, path, params: params, body: json, idempotency_key: idempotency_key)
    end

    # The decoded body of a 2xx answer.
    def request(method, path, params: nil, body: nil, idempotency_key: nil, idempotent: true, timeout: nil)
      send_request(method, path, params: params, body: body, idempotency_key: idempotency_key,
                                 idempotent: idempotent, timeout: timeout).body
    end

    def get_page(path, params)
      ListObject.new(self, path, params, request("GET", path, params: params))
    end

    def send_request(method, path, params: nil, body: nil, idempotency_key: nil, idempotent: true, timeout: nil)
      method = method.to_s.upcase
      # Generated once, so every retry of this POST carries the same key and the server runs it only once.
      idempotency_key ||= "cvsdk-#{SecureRandom.uuid}" if method == "POST"
      uri = URI("#{@base_url}#{path}")
      query = self.class.encode_query(params)
      uri.query = query unless query.empty?
      payload = body.nil? ? nil : JSON.generate(body)
      retry_failures = idempotent || !idempotency_key.nil?
      attempt = 0
      loop do
        begin
          status, headers, decoded = perform(method, uri, payload, idempotency_key, timeout || @timeout)
        rescue *NETWORK_ERRORS => e
          if attempt < @max_retries && (retry_failures || CONNECT_ERRORS.any? { |cls| e.is_a?(cls) })
            attempt += 1
            sleep_for(backoff(attempt))
            next
          end
          raise connection_error(e, path)
        end
        return Response.new(status: status, headers: headers, body: decoded) if (200..299).cover?(status)

        if attempt < @max_retries && retry_status?(status, decoded)
          attempt += 1
          hinted = hinted_delay(headers, status, Time.now.to_f)
          sleep_for(hinted.nil? ? backoff(attempt) : [hinted, @max_retry_wait].min)
          next
        end
        raise error_from_response(status, headers, decoded, path)
      end
    end

    def self.encode_query(params)
      pairs = (params || {}).filter_map do |key, value|
        next if value.nil?

        value = value.join(",") if value.is_a?(Array)
        [key.to_s, value.to_s] # true/false spell themselves
      end
      URI.encode_www_form(pairs.sort_by(&:first))
    end

    # Exponential backoff (0.5 s, 1 s, 2 s … 8 s) with jitter in [50 %, 100 %] so clients do not retry in step.
    def backoff(attempt)
      [INITIAL_RETRY_DELAY * (2**(attempt - 1)), MAX_RETRY_DELAY].min * (0.5 + (rand / 2))
    end

    # Seconds the server asked us to wait: Retry-After (seconds or an HTTP date), then X-RateLimit-Reset on a 429.
    def hinted_delay(headers, status, now)
      if (value = headers["retry-after"])
        seconds = Float(value, exception: false)
        return [seconds, 0].max if seconds

        begin
          return [Time.httpdate(value).to_f - now, 0].max
        rescue ArgumentError
          nil
        end
      end
      reset = headers["x-ratelimit-reset"]
      if status == 429 && reset && (at = Float(reset, exception: false))
        return [at - now, 0].max
      end

      nil
    end

    private

    def perform(method, uri, payload, idempotency_key, timeout)
      http = Net::HTTP.new(uri.host, uri.port)
      http.use_ssl = uri.scheme == "https"
      http.open_timeout = timeout
      http.read_timeout = timeout
      http.write_timeout = timeout
      http.max_retries = 0 # retries are ours, with the idempotency key
      request = Net::HTTPGenericRequest.new(method, !payload.nil?, method != "HEAD", uri.request_uri)
      request["Authorization"] = "Bearer #{@api_key}"
      request["Accept"] = "application/json"
      request["User-Agent"] = "cybervault-ruby/#{VERSION} ruby/#{RUBY_VERSION}"
      @default_headers.each { |k, v| request[k] = v }
      request["Idempotency-Key"] = idempotency_key if idempotency_key
      if payload
        request["Content-Type"] = "application/json"
        request.body = payload
      end
      response = http.start { |conn| conn.request(request) }
      headers = response.each_header.to_h { |k, v| [k.downcase, v] }
      [response.code.to_i, headers, decode(response.body, headers["content-type"].to_s)]
    end

    def decode(text, content_type)
      return {} if text.nil? || text.empty?
      return text unless content_type.include?("json")

      data = JSON.parse(text)
      data.is_a?(Hash) ? data : { "data" => data }
    rescue JSON::ParserError
      text
    end

    def retry_status?(status, body)
      if status == 409
        code = body.is_a?(Hash) && body["error"].is_a?(Hash) ? body["error"]["code"] : nil
        return !PERMANENT_CONFLICT_CODES.include?(code)
      end
      status == 429 || status >= 500
    end

    def connection_error(error, path)
      timed_out = error.is_a?(Net::OpenTimeout) || error.is_a?(Net::ReadTimeout) || error.is_a?(Net::WriteTimeout) ||
                  error.is_a?(Errno::ETIMEDOUT)
      cls = timed_out ? APITimeoutError : APIConnectionError
      cls.new("Request to #{@base_url}#{path} #{timed_out ? 'timed out' : 'failed'}: #{error.class}: #{error.message}",
              code: "connection_error")
    end

    def error_from_response(status, headers, body, path)
      document = body.is_a?(Hash) ? body : {}
      fields = document["error"].is_a?(Hash) ? document["error"] : {}
      CyberVault.error_class_for_status(status).new(
        fields["message"] || "HTTP #{status} from #{path}",
        code: fields["code"], documentation_url: fields["documentation_url"],
        request_id: fields["request_id"] || headers["x-request-id"], http_status: status, param: fields["param"],
        headers: headers, body: document
      )
    end
  end
end
