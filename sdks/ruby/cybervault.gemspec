# frozen_string_literal: true

require_relative "lib/cybervault/version"

Gem::Specification.new do |spec|
  spec.name = "cybervault"
  spec.version = CyberVault::VERSION
  spec.summary = "CyberVault API client: retries with idempotency keys, auto-pagination, typed errors, webhook verification"
  spec.description = "A Ruby client for the CyberVault security operations API, using only the standard library " \
                     "(net/http, json, openssl)."
  spec.authors = ["CyberVault"]
  spec.license = "MIT"
  spec.homepage = "https://github.com/cybervault/sdk-ruby"
  spec.required_ruby_version = ">= 3.0"
  spec.files = Dir["lib/**/*.rb"] + ["README.md", "cybervault.gemspec"]
  spec.require_paths = ["lib"]
  spec.metadata["rubygems_mfa_required"] = "true"
end
