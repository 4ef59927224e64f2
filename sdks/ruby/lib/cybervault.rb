# frozen_string_literal: true

# The CyberVault API client for Ruby: standard library only (net/http, json, openssl).
#
#   client = CyberVault::Client.new                     # CYBERVAULT_API_KEY, CYBERVAULT_BASE_URL
#   scan = client.threats.scan("192.168.1.0/24", depth: "standard")
#   client.assets.list(limit: 100).each { |asset| puts asset.id }
require_relative "cybervault/version"
require_relative "cybervault/errors"
require_relative "cybervault/object"
require_relative "cybervault/list_object"
require_relative "cybervault/transport"
require_relative "cybervault/resources"
require_relative "cybervault/client"
require_relative "cybervault/webhook"
