# frozen_string_literal: true

require "json"
require "socket"

# A real local HTTP/1.1 server (plain TCPServer, one thread per connection) that answers each
# "METHOD path" from a script: 429 with Retry-After, 503, 409, a dropped connection, then success.
# It records every request so tests can check what arrived on each retry.
class FlakyServer
  Received = Struct.new(:method, :path, :query, :headers, :body, keyword_init: true)

  attr_reader :url

  def initialize
    @server = TCPServer.new("127.0.0.1", 0)
    @url = "http://127.0.0.1:#{@server.addr[1]}"
    @scripts = {}
    @received = []
    @lock = Mutex.new
    @thread = Thread.new { accept_loop }
  end

  def self.error(status, code, headers = {})
    { status: status, headers: headers, body: { error: { code: code, message: "scripted error",
                                                         documentation_url: "http://flaky/docs/errors/#{code}",
                                                         request_id: "req_flaky_#{status}" } } }
  end

  def script(key, *actions)
    @lock.synchronize { @scripts[key] = actions }
  end

  def requests(key)
    @lock.synchronize { @received.select { |r| "#{r.method} #{r.path}" == key } }
  end

  def close
    @thread.kill
    @server.close
  end

  private

  def accept_loop
    loop do
      socket = @server.accept
      Thread.new(socket) { |s| handle(s) }
    end
  rescue IOError
    nil # closed
  end

  def handle(socket)
    request_line = socket.gets or return socket.close
    method, target, = request_line.split(" ")
    headers = {}
    while (line = socket.gets) && line != "\r\n"
      name, value = line.split(":", 2)
      headers[name.strip.downcase] = value.strip
    end
    body = headers["content-length"] ? socket.read(headers["content-length"].to_i) : ""
    path, query = target.split("?", 2)
    action = @lock.synchronize do
      @received << Received.new(method: method, path: path, query: query.to_s, headers: headers, body: body)
      actions = @scripts["#{method} #{path}"]
      if actions.nil? || actions.empty?
        self.class.error(404, "resource_not_found")
      else
        actions.size > 1 ? actions.shift : actions.first # the last action repeats
      end
    end
    return socket.close if action[:drop]

    payload = JSON.generate(action[:body] || { id: "obj_1", object: "thing" })
    extra = (action[:headers] || {}).map { |k, v| "#{k}: #{v}\r\n" }.join
    socket.write("HTTP/1.1 #{action[:status] || 200} X\r\nContent-Type: application/json\r\n" \
                 "Content-Length: #{payload.bytesize}\r\nConnection: close\r\n#{extra}\r\n#{payload}")
    socket.close
  rescue IOError, SystemCallError
    socket.close
  end
end
