# frozen_string_literal: true

module CyberVault
  VERSION = "0.1.0"
end
