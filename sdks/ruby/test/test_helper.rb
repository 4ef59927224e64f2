# frozen_string_literal: true

require "json"
require "minitest/autorun"
require "cybervault"

CONFORMANCE_DIR = File.expand_path("../../conformance", __dir__)

def load_conformance(name)
  JSON.parse(File.read(File.join(CONFORMANCE_DIR, name), encoding: "UTF-8"))
end

# The server and one organization's keys, from the environment (tests/sdk/test_other_sdks.py in the
# main suite sets them for a server it starts).
module Live
  BASE_URL = ENV.fetch("CYBERVAULT_BASE_URL", nil)
  LIVE_KEY = ENV.fetch("CYBERVAULT_API_KEY", nil)
  TEST_KEY = ENV.fetch("CYBERVAULT_TEST_API_KEY", nil)

  def require_live
    return if BASE_URL && LIVE_KEY && TEST_KEY

    skip "set CYBERVAULT_BASE_URL, CYBERVAULT_API_KEY and CYBERVAULT_TEST_API_KEY to run the live tests"
  end

  def sandbox
    CyberVault::Client.new(TEST_KEY, base_url: BASE_URL)
  end
end
