# frozen_string_literal: true

require "test_helper"
require "flaky_server"
require "socket"

class RetryTest < Minitest::Test
  ASSET = { id: "ast_1", object: "asset", livemode: false, target: "198.51.100.9", name: "flaky" }.freeze

  def setup
    @flaky = FlakyServer.new
  end

  def teardown
    @flaky.close
  end

  # Records each wait it is asked for and sleeps at most 20 ms of it, so the tests stay fast.
  def client(**options)
    c = CyberVault::Client.new("cv_test_sk_flakyflakyflakyflakyflaky", base_url: @flaky.url, **options)
    waits = []
    c.define_singleton_method(:sleep_for) { |s| waits << s; sleep([s, 0.02].min) }
    c.define_singleton_method(:waits) { waits }
    c
  end

  def test_post_retries_429_then_503_with_one_idempotency_key
    @flaky.script("POST /v1/assets", FlakyServer.error(429, "rate_limit_exceeded", "Retry-After" => "2"),
                  FlakyServer.error(503, "service_unavailable"), { status: 201, body: ASSET })
    c = client
    asset = c.assets.create("198.51.100.9", name: "flaky")
    assert_equal "flaky", asset.name
    arrived = @flaky.requests("POST /v1/assets")
    assert_equal 3, arrived.size
    keys = arrived.map { |r| r.headers["idempotency-key"] }.uniq
    assert_equal 1, keys.size
    assert_match(/\Acvsdk-/, keys.first)
    assert_equal 1, arrived.map(&:body).uniq.size
    assert_equal 2.0, c.waits[0] # Retry-After: 2
    assert_includes 0.5..1.0, c.waits[1] # 1 s backoff × jitter in [0.5, 1]
  end

  def test_dropped_connections_are_retried_with_the_same_key
    @flaky.script("POST /v1/api_keys/key_1/revoke", { drop: true }, { drop: true }, { status: 200, body: ASSET })
    client.api_keys.revoke("key_1", idempotency_key: "my-key-123")
    arrived = @flaky.requests("POST /v1/api_keys/key_1/revoke")
    assert_equal %w[my-key-123] * 3, arrived.map { |r| r.headers["idempotency-key"] }
  end

  def test_errors_after_the_retries_are_typed
    @flaky.script("GET /v1/assets/ast_500", FlakyServer.error(500, "internal_error"))
    @flaky.script("GET /v1/assets/ast_429", FlakyServer.error(429, "rate_limit_exceeded", "Retry-After" => "1"))
    @flaky.script("GET /v1/assets/ast_400", FlakyServer.error(400, "invalid_request"))
    @flaky.script("POST /v1/threats/scans/sc_1/cancel", FlakyServer.error(409, "scan_not_cancelable"))
    c = client(max_retries: 1, max_retry_wait: 0.03)

    error = assert_raises(CyberVault::APIError) { c.assets.retrieve("ast_500") }
    assert_equal [500, "internal_error", "req_flaky_500", "http://flaky/docs/errors/internal_error"],
                 [error.http_status, error.code, error.request_id, error.documentation_url]
    assert_equal 2, @flaky.requests("GET /v1/assets/ast_500").size

    error = assert_raises(CyberVault::RateLimitError) { c.assets.retrieve("ast_429") }
    assert_equal 1.0, error.retry_after
    assert_equal 0.03, c.waits.last # capped by max_retry_wait

    assert_raises(CyberVault::InvalidRequestError) { c.assets.retrieve("ast_400") }
    assert_equal 1, @flaky.requests("GET /v1/assets/ast_400").size
    error = assert_raises(CyberVault::ConflictError) { c.scans.cancel("sc_1") }
    assert_equal "scan_not_cancelable", error.code
    assert_equal 1, @flaky.requests("POST /v1/threats/scans/sc_1/cancel").size
  end

  def test_a_retryable_409_is_retried
    @flaky.script("POST /v1/incidents", FlakyServer.error(409, "idempotency_key_in_use"), { status: 201, body: ASSET })
    client.incidents.create(title: "t", severity: "low", description: "d")
    assert_equal 2, @flaky.requests("POST /v1/incidents").size
  end

  def test_the_scan_get_is_not_retried_after_a_drop_but_a_refused_connection_is
    @flaky.script("GET /v1/threats/scan", { drop: true }, { status: 200, body: { scan_id: "sc_1", status: "completed" } })
    assert_raises(CyberVault::APIConnectionError) { client.threats.scan("127.0.0.1") }
    assert_equal 1, @flaky.requests("GET /v1/threats/scan").size

    probe = TCPServer.new("127.0.0.1", 0)
    port = probe.addr[1]
    probe.close # nothing listens there any more: connection refused
    closed = CyberVault::Client.new("cv_test_sk_x", base_url: "http://127.0.0.1:#{port}", max_retries: 1)
    waits = []
    closed.define_singleton_method(:sleep_for) { |s| waits << s }
    error = assert_raises(CyberVault::APIConnectionError) { closed.threats.scan("127.0.0.1") }
    assert_equal "connection_error", error.code
    assert_equal 1, waits.size
  end

  def test_a_timeout_is_an_api_timeout_error
    silent = TCPServer.new("127.0.0.1", 0) # accepts (the kernel backlog) but never answers
    c = CyberVault::Client.new("cv_test_sk_x", base_url: "http://127.0.0.1:#{silent.addr[1]}", timeout: 0.2, max_retries: 0)
    assert_raises(CyberVault::APITimeoutError) { c.assets.retrieve("ast_1") }
  ensure
    silent&.close
  end

  def test_each_walks_every_page
    page = ->(more, *ids) { { status: 200, body: { object: "list", url: "/v1/assets", has_more: more, data: ids.map { |id| { id: id, object: "asset" } } } } }
    @flaky.script("GET /v1/assets", page.call(true, "o5", "o4"), page.call(true, "o3", "o2"), page.call(false, "o1"))
    list = client.assets.list(limit: 2, tag: "x")
    assert_equal %w[o5 o4], list.data.map(&:id)
    assert_equal %w[o5 o4 o3 o2 o1], list.auto_paging_each.map(&:id)
    queries = @flaky.requests("GET /v1/assets").map(&:query)
    assert_equal ["limit=2&tag=x", "limit=2&starting_after=o4&tag=x", "limit=2&starting_after=o2&tag=x"], queries
  end

  def test_key_from_the_environment_and_kept_out_of_inspect
    saved = ENV.fetch("CYBERVAULT_API_KEY", nil)
    ENV["CYBERVAULT_API_KEY"] = "cv_test_sk_fromenvfromenvfromenvfromenv"
    c = CyberVault::Client.new(base_url: "http://127.0.0.1:1")
    assert_equal "cv_test_sk_fromenvfromenvfromenvfromenv", c.api_key
    refute_includes c.inspect, "fromenv"
    ENV.delete("CYBERVAULT_API_KEY")
    error = assert_raises(CyberVault::Error) { CyberVault::Client.new }
    assert_equal "missing_api_key", error.code
  ensure
    saved ? ENV["CYBERVAULT_API_KEY"] = saved : ENV.delete("CYBERVAULT_API_KEY")
  end
end
