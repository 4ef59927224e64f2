# frozen_string_literal: true

require "open3"
require "rbconfig"
require "test_helper"

# The README's quick start runs as written against the live server, with the sandbox key.
class ReadmeTest < Minitest::Test
  include Live

  def test_the_quick_start_works
    require_live
    readme = File.read(File.expand_path("../README.md", __dir__), encoding: "UTF-8")
    code = readme[readme.index("## Quick start")..][/```ruby\n(.*?)```/m, 1]
    env = { "CYBERVAULT_API_KEY" => Live::TEST_KEY, "CYBERVAULT_BASE_URL" => Live::BASE_URL }
    out, status = Open3.capture2e(env, RbConfig.ruby, "-I", File.expand_path("../lib", __dir__), "-e", code)
    assert status.success?, out
    assert_match(/^sc_\w+ completed 2$/, out)
    assert_match(/critical\s+vulnerable_service\s+.*CVE-2017-5638/, out)
    assert_match(/^inc_\w+ \w+ open$/, out)
    assert_match(/^invalid_request title /, out)
  end
end
