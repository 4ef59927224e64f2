# frozen_string_literal: true

require "test_helper"

class WebhookTest < Minitest::Test
  FIXTURES = load_conformance("webhooks.json")

  FIXTURES["cases"].each_with_index do |c, i|
    define_method("test_fixture_#{i}_#{c['name'].gsub(/\W+/, '_')}") do
      options = { tolerance: FIXTURES["tolerance"], now: c["now"] }
      how = c["headers"] || c["signature"]
      if c["expect"] == "valid"
        assert CyberVault::Webhook.verify(c["payload"], how, c["secret"], **options)
        if c["event_type"]
          assert_equal c["event_type"], CyberVault::Webhook.construct_event(c["payload"], how, c["secret"], **options).type
        end
      else
        error = assert_raises(CyberVault::WebhookVerificationError) do
          CyberVault::Webhook.verify(c["payload"], how, c["secret"], **options)
        end
        assert_equal c["expect"]["error"], error.code
        assert_kind_of CyberVault::Error, error
      end
    end
  end

  def test_rack_style_header_names_work
    c = FIXTURES["cases"].find { |x| x["headers"] && x["expect"] == "valid" }
    rack = c["headers"].to_h { |k, v| ["HTTP_#{k.upcase.tr('-', '_')}", v] }
    assert CyberVault::Webhook.verify(c["payload"], rack, c["secret"], now: c["now"])
  end

  def test_sign_round_trip_and_refusals
    secret = FIXTURES["cases"][0]["secret"]
    body = JSON.generate({ id: "evt_1", object: "event", type: "webhook.test", data: { object: {} } })
    headers = CyberVault::Webhook.sign(body, secret, msg_id: "evt_1")
    assert_equal "webhook.test", CyberVault::Webhook.construct_event(body, headers, secret).type
    error = assert_raises(CyberVault::WebhookVerificationError) { CyberVault::Webhook.verify({ "id" => 1 }, headers, secret) }
    assert_equal "invalid_payload", error.code
    error = assert_raises(CyberVault::WebhookVerificationError) { CyberVault::Webhook.verify(body, headers, "whsec_not base64!") }
    assert_equal "invalid_secret", error.code
  end
end
