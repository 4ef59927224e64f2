# frozen_string_literal: true

module CyberVault
  # An API object as the server sent it. Read fields as methods (scan.status) or with [] ("status" or
  # :status); fields a newer server adds are never lost. #to_h gives the plain hash.
  class Object
    TERMINAL_SCAN_STATUSES = %w[completed failed canceled].freeze

    def self.wrap(value)
      case value
      when Hash then new(value)
      when Array then value.map { |item| wrap(item) }
      else value
      end
    end

    def initialize(hash)
      @values = hash.transform_keys(&:to_s)
    end

    def [](key)
      self.class.wrap(@values[key.to_s])
    end

    def key?(key)
      @values.key?(key.to_s)
    end

    def id
      @values["id"]
    end

    def to_h
      @values
    end

    def ==(other)
      other.is_a?(Object) && other.to_h == to_h
    end

    # For scans: completed, failed or canceled.
    def finished?
      TERMINAL_SCAN_STATUSES.include?(@values["status"])
    end

    def method_missing(name, *args)
      key = name.to_s
      return self[key] if args.empty? && @values.key?(key)

      super
    end

    def respond_to_missing?(name, include_private = false)
      @values.key?(name.to_s) || super
    end

    def inspect
      "#<CyberVault::Object #{@values.inspect}>"
    end
  end
end
