# frozen_string_literal: true

require "securerandom"
require "test_helper"

class LiveTest < Minitest::Test
  include Live

  def setup
    require_live
  end

  def test_the_published_example_sandbox_scan_waits_until_complete
    scan = sandbox.threats.scan("192.168.1.0/24", depth: "standard")
    assert_match(/\Asc_/, scan.scan_id)
    assert_equal ["completed", 2, false], [scan.status, scan.threats_found, scan.livemode]
    assert(scan.findings.any? { |f| f.cve == "CVE-2017-5638" && f.severity == "critical" })
    assert_equal "completed", sandbox.scans.retrieve(scan.scan_id).status
  end

  def test_assets_each_across_pages_update_delete
    client = sandbox
    tag = "rb-#{SecureRandom.hex(4)}"
    made = (1..3).map { |n| client.assets.create("#{tag}-#{n}.example.com", tags: [tag], criticality: "high") }
    assert_match(/\Aast_/, made[0].id)
    first = client.assets.list(tag: tag, limit: 2)
    assert_equal [2, true], [first.data.size, first.has_more?]
    assert_equal made.map(&:id).reverse, first.each.map(&:id) # newest first, across both pages
    assert_equal "renamed", client.assets.update(made[0].id, name: "renamed").name
    deleted = client.assets.delete(made[0].id)
    assert_equal [made[0].id, true], [deleted.id, deleted.deleted]
    assert_raises(CyberVault::NotFoundError) { client.assets.retrieve(made[0].id) }
  end

  def test_incident_and_typed_errors
    incident = sandbox.incidents.create(title: "Apache Struts RCE on web tier", severity: "critical",
                                        description: "CVE-2017-5638", affected_systems: ["192.168.1.10"])
    assert_match(/\Ainc_/, incident.id)
    assert sandbox.incidents.comment(incident.id, "investigating").id
    error = assert_raises(CyberVault::InvalidRequestError) do
      sandbox.incidents.create(title: "", severity: "urgent", description: "x")
    end
    assert_equal 400, error.http_status
    refute_nil error.param

    bad = CyberVault::Client.new("cv_test_sk_000000000000000000000000000000", base_url: Live::BASE_URL)
    error = assert_raises(CyberVault::AuthenticationError) { bad.assets.list }
    assert_equal [401, "invalid_api_key", "The provided API key is expired or invalid."],
                 [error.http_status, error.code, error.message]
    assert error.documentation_url.end_with?("/errors/invalid_api_key")
    refute_nil error.request_id
  end

  def test_a_test_mode_object_is_invisible_to_the_live_key
    asset = sandbox.assets.create("rb-#{SecureRandom.hex(4)}.example.com")
    live = CyberVault::Client.new(Live::LIVE_KEY, base_url: Live::BASE_URL)
    assert_raises(CyberVault::NotFoundError) { live.assets.retrieve(asset.id) }
  end

  def test_the_servers_own_429_is_retried_then_raised_with_its_details
    key = ENV.fetch("CYBERVAULT_LIMITED_API_KEY", nil)
    skip "set CYBERVAULT_LIMITED_API_KEY (a key limited to 3 requests a minute)" unless key
    # max_retry_wait caps the server's Retry-After (the rest of the minute) so the test stays fast.
    client = CyberVault::Client.new(key, base_url: Live::BASE_URL, max_retries: 1, max_retry_wait: 0.1)
    3.times { client.assets.list }
    error = assert_raises(CyberVault::RateLimitError) { client.assets.list }
    assert_equal [429, "rate_limit_exceeded", "3", "0"],
                 [error.http_status, error.code, error.headers["x-ratelimit-limit"], error.headers["x-ratelimit-remaining"]]
    assert_operator error.retry_after, :>, 0
    assert_operator error.retry_after, :<=, 60
    assert error.documentation_url.end_with?("/errors/rate_limit_exceeded")
    refute_nil error.request_id
  end
end
