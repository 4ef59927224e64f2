# frozen_string_literal: true

require "test_helper"
require "conformance_runner"

class ConformanceTest < Minitest::Test
  include Live

  def test_the_shared_scenario_passes_against_the_live_server
    require_live
    spec = JSON.parse(Net::HTTP.get(URI("#{Live::BASE_URL}/openapi.json")))
    scenario = load_conformance("scenario.json")
    runner = ConformanceRunner.new(Live::BASE_URL,
                                   { "live" => Live::LIVE_KEY, "test" => Live::TEST_KEY, "invalid" => scenario["keys"]["invalid"] },
                                   published_paths: spec.fetch("paths", {}).keys)
    report = runner.run(scenario)
    assert_equal [], report.failures
    assert_equal [], report.skipped
    assert_equal scenario["steps"].size, report.ran.size
  end
end
