# frozen_string_literal: true

require "json"
require "openssl"

module CyberVault
  # Verifies CyberVault webhook deliveries. Every delivery is signed twice over the *raw* request body:
  #
  # - X-CyberVault-Signature: hex HMAC-SHA256 of the body keyed with the secret string's bytes (the
  #   published verify(payload, signature, secret) scheme; it has no timestamp);
  # - Standard Webhooks: webhook-id, webhook-timestamp, webhook-signature ("v1,<base64>") over
  #   "{id}.{timestamp}.{body}", keyed with the base64-decoded part of the whsec_ secret. The signed
  #   timestamp is what makes a captured delivery useless to replay later.
  #
  #   event = CyberVault::Webhook.construct_event(request.raw_post, request.headers, secret)
  module Webhook
    DEFAULT_TOLERANCE = 300
    SIGNATURE_HEADER = "X-CyberVault-Signature"
    PREVIOUS_SIGNATURE_HEADER = "x-cybervault-signature-previous"
    SECRET_PREFIX = "whsec_"

    module_function

    # true when the delivery is authentic and fresh; otherwise raises WebhookVerificationError.
    # headers_or_signature: the request's headers (any hash-like; names are case-insensitive, Rack's
    # HTTP_WEBHOOK_SIGNATURE spelling works too) or the X-CyberVault-Signature value alone.
    # now: the current unix time (for tests).
    def verify(payload, headers_or_signature, secret, tolerance: DEFAULT_TOLERANCE, timestamp: nil, now: nil)
      raise failure("invalid_secret", "The webhook secret is empty.") if secret.nil? || secret.empty?

      body = raw_body(payload)
      if headers_or_signature.is_a?(String)
        check_timestamp(timestamp, tolerance, now) unless timestamp.nil?
        verify_hex(body, headers_or_signature, secret)
        return true
      end
      headers = normalize(headers_or_signature)
      if headers["webhook-signature"] && !headers["webhook-signature"].empty?
        verify_standard(body, headers, secret, tolerance, now)
        return true
      end
      hex_values = [headers[SIGNATURE_HEADER.downcase], headers[PREVIOUS_SIGNATURE_HEADER]].compact.join(" ")
      unless hex_values.strip.empty?
        # Headers without the Standard Webhooks signature: still insist on a fresh timestamp.
        check_timestamp(headers["webhook-timestamp"] || timestamp, tolerance, now)
        verify_hex(body, hex_values, secret)
        return true
      end
      raise failure("missing_signature", "Neither webhook-signature nor #{SIGNATURE_HEADER} is present.")
    end

    # Verifies the delivery, then parses it (event["type"], event.data["object"]).
    def construct_event(payload, headers_or_signature, secret, **options)
      verify(payload, headers_or_signature, secret, **options)
      data = begin
        JSON.parse(raw_body(payload))
      rescue JSON::ParserError
        raise failure("invalid_payload", "The payload is not JSON.")
      end
      raise failure("invalid_payload", "The payload is not a CyberVault event object.") unless data.is_a?(Hash) && data["object"] == "event"

      CyberVault::Object.new(data)
    end

    # The headers CyberVault would send for payload; for testing your own handler.
    def sign(payload, secret, msg_id:, timestamp: Time.now.to_i)
      body = raw_body(payload)
      ts = timestamp.to_i.to_s
      {
        SIGNATURE_HEADER => hex_digest(secret, body),
        "webhook-id" => msg_id,
        "webhook-timestamp" => ts,
        "webhook-signature" => "v1,#{standard_digest(standard_key(secret), msg_id, ts, body)}"
      }
    end

    def failure(code, message)
      WebhookVerificationError.new(message, code: code)
    end

    def raw_body(payload)
      unless payload.is_a?(String)
        raise failure("invalid_payload", "Pass the raw request body (a String), not a parsed object: " \
                                         "re-serialized JSON does not match the signed bytes.")
      end

      payload.b
    end

    def normalize(headers)
      headers.to_h.each_with_object({}) do |(name, value), out|
        key = name.to_s.downcase.sub(/\Ahttp_/, "").tr("_", "-")
        out[key] = Array(value).join(" ")
      end
    end

    def standard_key(secret)
      encoded = secret.delete_prefix(SECRET_PREFIX)
      # pack("m0") is strict base64, without the base64 gem (no longer a default gem from Ruby 3.4).
      encoded.unpack1("m0")
    rescue ArgumentError
      raise failure("invalid_secret", "The webhook secret is not a whsec_ secret with a base64 key.")
    end

    def hex_digest(secret, body)
      OpenSSL::HMAC.hexdigest("SHA256", secret.b, body)
    end

    def standard_digest(key, msg_id, timestamp, body)
      [OpenSSL::HMAC.digest("SHA256", key, "#{msg_id}.#{timestamp}.".b + body)].pack("m0")
    end

    def secure_equal(left, right)
      left.bytesize == right.bytesize && OpenSSL.fixed_length_secure_compare(left, right)
    end

    def check_timestamp(value, tolerance, now)
      if value.nil? || value.to_s.empty?
        raise failure("missing_timestamp", "No webhook-timestamp: without it a replayed delivery cannot be told " \
                                           "from a fresh one.")
      end
      stamp = Integer(value.to_s.strip, 10, exception: false)
      raise failure("invalid_timestamp", "webhook-timestamp #{value.inspect} is not unix seconds.") if stamp.nil?

      current = now || Time.now.to_f
      return if (current - stamp).abs <= tolerance

      raise failure("timestamp_outside_tolerance",
                    "The webhook timestamp is #{(current - stamp).to_i} s from now, outside the tolerance of " \
                    "#{tolerance} s: a stale or replayed delivery.")
    end

    def verify_standard(body, headers, secret, tolerance, now)
      msg_id = headers["webhook-id"]
      raise failure("missing_signature", "webhook-signature is present but webhook-id is missing.") if msg_id.nil? || msg_id.empty?

      timestamp = headers["webhook-timestamp"]
      check_timestamp(timestamp, tolerance, now)
      expected = standard_digest(standard_key(secret), msg_id, timestamp, body)
      # Several space-separated "v1,<sig>" entries during a secret rotation; any one may match.
      headers["webhook-signature"].split.each do |entry|
        version, signature = entry.split(",", 2)
        return if version == "v1" && signature && secure_equal(signature, expected)
      end
      raise failure("invalid_signature", "No webhook-signature entry matches this payload and secret.")
    end

    def verify_hex(body, signatures, secret)
      expected = hex_digest(secret, body)
      signatures.tr(",", " ").split.each do |candidate|
        return if secure_equal(candidate.downcase, expected)
      end
      raise failure("invalid_signature", "The #{SIGNATURE_HEADER} value does not match this payload and secret.")
    end
  end
end
