# omniauth_openid_connect (Debian's ruby-omniauth-openid-connect, the
# strategy GitLab uses) as a relying party of the login server, driven as
# the Rack middleware it is: the request phase (discovery, then the
# redirect to the authorization endpoint with state and nonce in the
# session), then, with the callback URL the test's HTTP client reached
# through the login form (read on stdin), the callback phase: the code
# exchanged at the token endpoint with client_secret_basic, the id_token
# verified against the JWKS (issuer, audience, nonce), userinfo fetched.
# Prints the authorization URL on one line, then the auth hash as JSON.
#
# usage: omniauth_rp.rb ISSUER CLIENT_ID SECRET REDIRECT_URI
require "json"
require "logger"
require "uri"
require "rack"
require "omniauth"
require "omniauth_openid_connect"

issuer, client_id, secret, redirect_uri = ARGV
raise "usage: omniauth_rp.rb ISSUER CLIENT_ID SECRET REDIRECT_URI" unless redirect_uri

# The test's issuer is http://127.0.0.1:PORT: discovery over plain HTTP.
SWD.url_builder = URI::HTTP
WebFinger.url_builder = URI::HTTP
OmniAuth.config.allowed_request_methods = [:get]
OmniAuth.config.silence_get_warning = true
OmniAuth.config.logger = Logger.new($stderr)
OmniAuth.config.request_validation_phase = nil
OmniAuth.config.on_failure = proc do |env|
  error = env["omniauth.error"]
  warn "omniauth failure: #{env['omniauth.error.type']}: #{error&.class}: #{error&.message}"
  exit 1
end

issuer_uri = URI(issuer)
callback = URI(redirect_uri)
auth = nil
app = Rack::Builder.new do
  use OmniAuth::Strategies::OpenIDConnect,
      name: :openid_connect,
      issuer: issuer,
      discovery: true,
      scope: %i[openid profile email groups],
      response_type: :code,
      callback_path: callback.path,
      client_options: {
        identifier: client_id,
        secret: secret,
        redirect_uri: redirect_uri,
        scheme: issuer_uri.scheme,
        host: issuer_uri.host,
        port: issuer_uri.port
      }
  run(lambda do |env|
    auth = env["omniauth.auth"]
    [200, { "content-type" => "text/plain" }, ["ok"]]
  end)
end.to_app

session = {}
start = Rack::MockRequest.env_for("http://#{callback.host}:#{callback.port}/auth/openid_connect",
                                  "rack.session" => session)
status, headers, = app.call(start)
location = headers["Location"] || headers["location"]
raise "request phase answered #{status} without a redirect" unless status == 302 && location

puts location
$stdout.flush
back = $stdin.gets.to_s.strip
back_uri = URI(back)
env = Rack::MockRequest.env_for("http://#{callback.host}:#{callback.port}#{back_uri.path}?#{back_uri.query}",
                                "rack.session" => session)
status, = app.call(env)
raise "callback phase answered #{status}" unless status == 200 && auth

puts JSON.generate(
  "uid" => auth["uid"],
  "info" => auth["info"].to_hash,
  "raw_info" => auth["extra"]["raw_info"].to_hash,
  "has_id_token" => !auth["credentials"]["id_token"].to_s.empty?,
  "has_refresh_token" => !auth["credentials"]["refresh_token"].to_s.empty?
)
