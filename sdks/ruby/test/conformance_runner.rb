# frozen_string_literal: true

require "json"
require "net/http"
require "securerandom"

# The Ruby runner for sdks/conformance/scenario.json (step format: sdks/conformance/README.md). Every
# request goes through the SDK (raw_request, get_page + each_page), so the scenario checks the SDK's
# authentication, error mapping and paging, not just the server.
class ConformanceRunner
  MISSING = Object.new.freeze
  ERROR_TYPES = {
    "authentication" => CyberVault::AuthenticationError, "permission" => CyberVault::PermissionDeniedError,
    "not_found" => CyberVault::NotFoundError, "invalid_request" => CyberVault::InvalidRequestError,
    "conflict" => CyberVault::ConflictError, "rate_limit" => CyberVault::RateLimitError,
    "api" => CyberVault::APIError, "connection" => CyberVault::APIConnectionError
  }.freeze
  TYPES = {
    "string" => ->(v) { v.is_a?(String) }, "number" => ->(v) { v.is_a?(Numeric) },
    "integer" => ->(v) { v.is_a?(Integer) }, "boolean" => ->(v) { [true, false].include?(v) },
    "object" => ->(v) { v.is_a?(Hash) }, "array" => ->(v) { v.is_a?(Array) }, "null" => lambda(&:nil?)
  }.freeze

  class Unresolved < StandardError; end

  Report = Struct.new(:ran, :skipped, :failures)

  def initialize(base_url, keys, published_paths: nil)
    @base_url = base_url
    @keys = keys
    @vars = { "run_id" => SecureRandom.hex(4) }
    @routes = published_paths&.map do |p|
      Regexp.new("\\A#{Regexp.escape(p).gsub(/\\\{[^\/]+?\\\}/, '[^/]+')}\\z")
    end
    @clients = {}
  end

  def client(name)
    @clients[name] ||= CyberVault::Client.new(@keys.fetch(name, name), base_url: @base_url, max_retries: 2)
  end

  def substitute(value)
    case value
    when String
      value.gsub(/\{\{(\w+)\}\}/) { @vars.fetch(Regexp.last_match(1)) { |n| raise Unresolved, n } }
    when Array then value.map { |v| substitute(v) }
    when Hash then value.to_h { |k, v| [substitute(k), substitute(v)] }
    else value
    end
  end

  def self.lookup(doc, path)
    parts = path.empty? ? [] : path.split(".")
    current = doc
    parts.each_with_index do |part, i|
      if part == "*"
        return MISSING unless current.is_a?(Array)

        return current.map { |item| lookup(item, parts[(i + 1)..].join(".")) }
      end
      current = if current.is_a?(Array) && part.match?(/\A\d+\z/)
                  part.to_i < current.size ? current[part.to_i] : MISSING
                elsif current.is_a?(Hash)
                  current.key?(part) ? current[part] : MISSING
                else
                  MISSING
                end
      return MISSING if current.equal?(MISSING)
    end
    current
  end

  def self.matches(actual, expected)
    if expected.is_a?(Hash) && expected.size == 1 && expected.keys.first.start_with?("$")
      op, arg = expected.first
      if op == "$exists"
        return (!actual.equal?(MISSING)) == arg ? nil : "exists=#{!actual.equal?(MISSING)}"
      end
      return "missing" if actual.equal?(MISSING)

      pass = case op
             when "$prefix" then actual.is_a?(String) && actual.start_with?(arg)
             when "$suffix" then actual.is_a?(String) && actual.end_with?(arg)
             when "$regex" then actual.is_a?(String) && Regexp.new(arg).match?(actual)
             when "$len" then actual.respond_to?(:size) && !actual.is_a?(Numeric) && actual.size == arg
             when "$contains" then actual.is_a?(Array) && actual.include?(arg)
             when "$in" then arg.include?(actual)
             when "$gte" then actual.is_a?(Numeric) && actual >= arg
             when "$keys" then actual.is_a?(Hash) && actual.keys.sort == arg.sort
             when "$type" then TYPES.fetch(arg).call(actual)
             else return "unknown matcher #{op}"
             end
      return pass ? nil : "#{op} #{arg.inspect} failed for #{actual.inspect}"
    end
    return "missing" if actual.equal?(MISSING)

    actual == expected ? nil : "expected #{expected.inspect}, got #{actual.inspect}"
  end

  def run(scenario)
    report = Report.new([], [], [])
    scenario["steps"].each do |step|
      name = step["name"]
      begin
        resolved = substitute(step.except("save"))
      rescue Unresolved => e
        report.skipped << "#{name} (needs #{e.message} from a skipped step)"
        next
      end
      if @routes && @routes.none? { |r| r.match?(resolved["path"]) }
        report.skipped << "#{name} (server does not publish #{resolved['method']} #{resolved['path']})"
        next
      end
      problems = resolved["paginate"] ? paginate(resolved) : request(resolved, step)
      report.ran << name
      report.failures.concat(problems.map { |p| "#{name}: #{p}" })
    end
    report
  end

  def request(step, raw)
    expect = step["expect"] || {}
    error_type = nil
    begin
      response = client(step["key"] || "live").raw_request(step["method"], step["path"], params: step["query"],
                                                                                           json: step["body"])
      status = response.status
      body = response.body
    rescue CyberVault::Error => e
      status = e.http_status
      body = e.body
      error_type = ERROR_TYPES.key(e.class) || e.class.name
    end
    if expect.key?("status") && status != expect["status"]
      return ["status #{status}, expected #{expect['status']} (body #{JSON.generate(body)[0, 300]})"]
    end

    problems = []
    if expect.key?("error_type") && error_type != expect["error_type"]
      problems << "SDK error type #{error_type}, expected #{expect['error_type']}"
    end
    (expect["fields"] || {}).each do |path, expected|
      reason = self.class.matches(self.class.lookup(body, path), expected)
      problems << "field #{path}: #{reason}" if reason
    end
    (raw["save"] || {}).each do |var, path|
      value = self.class.lookup(body, path)
      if value.equal?(MISSING)
        problems << "cannot save #{var}: #{path} missing"
      else
        @vars[var] = value.to_s
      end
    end
    problems
  end

  def paginate(step)
    expect = step["expect"] || {}
    params = (step["query"] || {}).merge("limit" => step["paginate"]["limit"])
    pages = client(step["key"] || "live").get_page(step["path"], params).each_page.to_a
    ids = pages.flat_map { |page| page.data.map(&:id) }
    problems = []
    problems << "#{ids.size} items, expected #{expect['items']}" if expect.key?("items") && ids.size != expect["items"]
    problems << "#{pages.size} pages, expected #{expect['pages']}" if expect.key?("pages") && pages.size != expect["pages"]
    problems << "an object appeared twice while paging" if expect["unique_ids"] && ids.uniq.size != ids.size
    problems << "not newest first: #{ids}" if expect["order"] == "id_desc" && ids != ids.sort.reverse
    problems
  end
end
