# frozen_string_literal: true

module CyberVault
  # Base class of every error this SDK raises. Carries the API's error object fields and the HTTP status.
  class Error < StandardError
    attr_reader :code, :documentation_url, :request_id, :http_status, :param, :headers, :body

    def initialize(message = nil, code: nil, documentation_url: nil, request_id: nil, http_status: nil, param: nil,
                   headers: {}, body: {})
      super(message)
      @code = code
      @documentation_url = documentation_url
      @request_id = request_id
      @http_status = http_status
      @param = param
      @headers = headers || {}   # lower-cased names
      @body = body || {}         # the decoded JSON error body: {"error" => {...}}
    end

    # message stays the API's own message; inspect adds the details for logs.
    def inspect
      parts = ["#{self.class.name}: #{message}"]
      parts << "code=#{code}" if code
      parts << "param=#{param}" if param
      parts << "http_status=#{http_status}" if http_status
      parts << "request_id=#{request_id}" if request_id
      "#<#{parts.join(' | ')}>"
    end
  end

  # 401: the key is unknown, expired or revoked (invalid_api_key).
  class AuthenticationError < Error; end
  # 403: the key lacks a scope, or the scan target is out of scope.
  class PermissionDeniedError < Error; end
  # 404: no such object for this organization and mode.
  class NotFoundError < Error; end
  # 400, 405, 413, 415, 422: a bad parameter; #param names it.
  class InvalidRequestError < Error; end
  # 409: an idempotency conflict, or a state conflict such as scan_not_cancelable.
  class ConflictError < Error; end
  # 429 after the retries ran out; #retry_after is the server's hint in seconds.
  class RateLimitError < Error
    def retry_after
      value = headers["retry-after"]
      value && Float(value, exception: false)
    end
  end
  # 5xx after the retries ran out, or any status without a more specific class.
  class APIError < Error; end
  # No response: connection refused, dropped, or DNS failure.
  class APIConnectionError < Error; end
  # No response before the timeout.
  class APITimeoutError < APIConnectionError; end
  # threats.scan / scans.wait gave up waiting; #scan is the scan as last seen.
  class ScanTimeoutError < Error
    attr_reader :scan

    def initialize(message, scan:)
      super(message, code: "scan_wait_timeout")
      @scan = scan
    end
  end
  # A webhook failed verification; #code is missing_signature, invalid_signature, missing_timestamp,
  # invalid_timestamp, timestamp_outside_tolerance, invalid_secret or invalid_payload.
  class WebhookVerificationError < Error; end

  ERRORS_BY_STATUS = {
    400 => InvalidRequestError, 401 => AuthenticationError, 403 => PermissionDeniedError, 404 => NotFoundError,
    405 => InvalidRequestError, 409 => ConflictError, 413 => InvalidRequestError, 415 => InvalidRequestError,
    422 => InvalidRequestError, 429 => RateLimitError
  }.freeze

  def self.error_class_for_status(status)
    ERRORS_BY_STATUS.fetch(status) { (400..499).cover?(status) ? InvalidRequestError : APIError }
  end
end
