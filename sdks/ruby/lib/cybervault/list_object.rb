# frozen_string_literal: true

module CyberVault
  # One page of a list (newest first). #each and #auto_paging_each walk this page and every later one,
  # one request per page; #data is this page only. Walking follows starting_after (older objects), or
  # ending_before (newer objects) when the first request used it.
  class ListObject
    include Enumerable

    attr_reader :data, :has_more, :url

    def initialize(transport, path, params, body)
      @transport = transport
      @path = path
      @params = params
      @url = body["url"] || path
      @has_more = body["has_more"] == true
      @data = Array(body["data"]).map { |item| Object.wrap(item) }
    end

    alias has_more? has_more

    def next_page
      return nil unless has_more && !data.empty?

      params = @params.dup
      if params[:ending_before] || params["ending_before"]
        params.delete("ending_before")
        params[:ending_before] = data.first.id
      else
        params.delete(:ending_before)
        params.delete("starting_after")
        params[:starting_after] = data.last.id
      end
      @transport.get_page(@path, params)
    end

    # Yields this page and every later one.
    def each_page
      return enum_for(:each_page) unless block_given?

      page = self
      while page
        yield page
        page = page.next_page
      end
    end

    def auto_paging_each(&block)
      return enum_for(:auto_paging_each) unless block

      each_page { |page| page.data.each(&block) }
    end
    alias each auto_paging_each
  end
end
