
use builtin;
use str;

set edit:completion:arg-completer[b24auth] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'b24auth'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'b24auth'= {
            cand --profile 'Which stored authorization (1–64 of A-Za-z0-9._-, no leading dot)'
            cand --config-dir 'Where profiles live [default: the platform config dir, e.g. ~/.config/b24auth]'
            cand --oauth-server 'Base URL of the OAuth server (token endpoint = URL + /oauth/token/)'
            cand --client-id 'The app''s client_id (local.… / app.…) [default: the stored value]'
            cand --client-secret 'The app''s client_secret; prefer the env var or the prompt [default: the stored value]'
            cand --store 'Where profiles live: `file` or a postgres:// URL'
            cand --store-key 'Seals the secrets in a postgres:// store: 32 random bytes in base64'
            cand --http-timeout 'Timeout of each HTTP request to Bitrix24'
            cand --on-refresh 'After a refresh is saved, run CMD (with `sh -c`) with the `exec` variables; a failure is a warning'
            cand -q 'No messages on stderr except errors (the addresses to open or paste still show)'
            cand --quiet 'No messages on stderr except errors (the addresses to open or paste still show)'
            cand -v 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug'
            cand --verbose 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand setup 'A guided first run on a terminal: the portal, the way in, what to enter in the portal''s form, the keys, the first token and a first call'
            cand install-listen 'Catch the installation callback of a local app and save its tokens'
            cand authorize 'Full OAuth in a browser: open the authorize page, catch the code, exchange it at once'
            cand refresh 'Trade the stored refresh token for a new pair and save it'
            cand show 'Show what is stored (secrets masked unless asked for)'
            cand token 'Print a valid access token, refreshing only when it is due'
            cand call 'Call a REST method with the stored authorization'
            cand batch 'Run REST calls read as JSON lines on stdin, 50 per `batch` request; one line out per line in'
            cand exec 'Run a command with B24_ACCESS_TOKEN, B24_CLIENT_ENDPOINT, B24_MEMBER_ID and more set'
            cand import 'Adopt an existing pair: the PHP examples'' auth.json, CRest''s settings.json, the PHP SDK''s file or b24auth''s own JSON'
            cand list 'List the stored profiles'
            cand forget 'Delete a stored profile'
            cand events 'The app''s offline events: pull them into a handler, bind events, list and retry failed ones'
            cand serve 'Receive the events of one app on any number of portals and hand them to a handler'
            cand store 'Move profiles between stores'
            cand completions 'Print shell completions'
            cand man 'Print the man page (roff), or write every page to a directory'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'b24auth;setup'= {
            cand --profile 'Which stored authorization (1–64 of A-Za-z0-9._-, no leading dot)'
            cand --config-dir 'Where profiles live [default: the platform config dir, e.g. ~/.config/b24auth]'
            cand --oauth-server 'Base URL of the OAuth server (token endpoint = URL + /oauth/token/)'
            cand --client-id 'The app''s client_id (local.… / app.…) [default: the stored value]'
            cand --client-secret 'The app''s client_secret; prefer the env var or the prompt [default: the stored value]'
            cand --store 'Where profiles live: `file` or a postgres:// URL'
            cand --store-key 'Seals the secrets in a postgres:// store: 32 random bytes in base64'
            cand --http-timeout 'Timeout of each HTTP request to Bitrix24'
            cand --on-refresh 'After a refresh is saved, run CMD (with `sh -c`) with the `exec` variables; a failure is a warning'
            cand -q 'No messages on stderr except errors (the addresses to open or paste still show)'
            cand --quiet 'No messages on stderr except errors (the addresses to open or paste still show)'
            cand -v 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug'
            cand --verbose 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'b24auth;install-listen'= {
            cand --listen 'Address to listen on (IP:PORT, localhost:PORT, [::1]:PORT, 0.0.0.0:PORT)'
            cand --path 'Path to accept the callback on [default: /install/<32 random hex>]'
            cand --public-url 'How Bitrix24 reaches the listener (a tunnel or reverse proxy), for the printed instructions and the Host check'
            cand --timeout 'Give up after this long (0 = wait forever)'
            cand --profile 'Which stored authorization (1–64 of A-Za-z0-9._-, no leading dot)'
            cand --config-dir 'Where profiles live [default: the platform config dir, e.g. ~/.config/b24auth]'
            cand --oauth-server 'Base URL of the OAuth server (token endpoint = URL + /oauth/token/)'
            cand --client-id 'The app''s client_id (local.… / app.…) [default: the stored value]'
            cand --client-secret 'The app''s client_secret; prefer the env var or the prompt [default: the stored value]'
            cand --store 'Where profiles live: `file` or a postgres:// URL'
            cand --store-key 'Seals the secrets in a postgres:// store: 32 random bytes in base64'
            cand --http-timeout 'Timeout of each HTTP request to Bitrix24'
            cand --on-refresh 'After a refresh is saved, run CMD (with `sh -c`) with the `exec` variables; a failure is a warning'
            cand --no-verify 'Save without asking the OAuth server''s app.info whether the token is genuine'
            cand --allow-http 'Accept a plain http:// client_endpoint for an on-premise portal (a warning is printed; https is required otherwise, except on a loopback portal)'
            cand --force 'Replace an existing profile'
            cand -q 'No messages on stderr except errors (the addresses to open or paste still show)'
            cand --quiet 'No messages on stderr except errors (the addresses to open or paste still show)'
            cand -v 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug'
            cand --verbose 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'b24auth;authorize'= {
            cand --domain 'The portal: portal.bitrix24.com, https://portal.example.com or http://127.0.0.1:PORT'
            cand --redirect-uri 'The handler path registered for the app, where the portal sends the browser back'
            cand --listen 'Address to listen on [default: the redirect URI''s host:port when it is a loopback address, else 127.0.0.1:8787]'
            cand --timeout 'Give up after this long (0 = wait forever)'
            cand --profile 'Which stored authorization (1–64 of A-Za-z0-9._-, no leading dot)'
            cand --config-dir 'Where profiles live [default: the platform config dir, e.g. ~/.config/b24auth]'
            cand --oauth-server 'Base URL of the OAuth server (token endpoint = URL + /oauth/token/)'
            cand --client-id 'The app''s client_id (local.… / app.…) [default: the stored value]'
            cand --client-secret 'The app''s client_secret; prefer the env var or the prompt [default: the stored value]'
            cand --store 'Where profiles live: `file` or a postgres:// URL'
            cand --store-key 'Seals the secrets in a postgres:// store: 32 random bytes in base64'
            cand --http-timeout 'Timeout of each HTTP request to Bitrix24'
            cand --on-refresh 'After a refresh is saved, run CMD (with `sh -c`) with the `exec` variables; a failure is a warning'
            cand --no-browser 'Print the authorize URL but do not open a browser'
            cand --force 'Replace an existing profile'
            cand -q 'No messages on stderr except errors (the addresses to open or paste still show)'
            cand --quiet 'No messages on stderr except errors (the addresses to open or paste still show)'
            cand -v 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug'
            cand --verbose 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'b24auth;refresh'= {
            cand --if-older-than 'Refresh only when the stored refresh token is older than this (cron keep-alive)'
            cand --profile 'Which stored authorization (1–64 of A-Za-z0-9._-, no leading dot)'
            cand --config-dir 'Where profiles live [default: the platform config dir, e.g. ~/.config/b24auth]'
            cand --oauth-server 'Base URL of the OAuth server (token endpoint = URL + /oauth/token/)'
            cand --client-id 'The app''s client_id (local.… / app.…) [default: the stored value]'
            cand --client-secret 'The app''s client_secret; prefer the env var or the prompt [default: the stored value]'
            cand --store 'Where profiles live: `file` or a postgres:// URL'
            cand --store-key 'Seals the secrets in a postgres:// store: 32 random bytes in base64'
            cand --http-timeout 'Timeout of each HTTP request to Bitrix24'
            cand --on-refresh 'After a refresh is saved, run CMD (with `sh -c`) with the `exec` variables; a failure is a warning'
            cand --json 'Print the saved profile as JSON on stdout (secrets included)'
            cand --accept-change 'Apply the portal, member_id or scheme the last refresh answer named instead of the stored one (until then every command exits 3 naming the change); nothing is sent'
            cand -q 'No messages on stderr except errors (the addresses to open or paste still show)'
            cand --quiet 'No messages on stderr except errors (the addresses to open or paste still show)'
            cand -v 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug'
            cand --verbose 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'b24auth;show'= {
            cand --field 'Print one raw value (access_token, client_endpoint, member_id, portal, …)'
            cand --format 'Print the pair for another tool: `crest` (a CRest settings.json object) or `env` (the `exec` variables as KEY=value lines)'
            cand --profile 'Which stored authorization (1–64 of A-Za-z0-9._-, no leading dot)'
            cand --config-dir 'Where profiles live [default: the platform config dir, e.g. ~/.config/b24auth]'
            cand --oauth-server 'Base URL of the OAuth server (token endpoint = URL + /oauth/token/)'
            cand --client-id 'The app''s client_id (local.… / app.…) [default: the stored value]'
            cand --client-secret 'The app''s client_secret; prefer the env var or the prompt [default: the stored value]'
            cand --store 'Where profiles live: `file` or a postgres:// URL'
            cand --store-key 'Seals the secrets in a postgres:// store: 32 random bytes in base64'
            cand --http-timeout 'Timeout of each HTTP request to Bitrix24'
            cand --on-refresh 'After a refresh is saved, run CMD (with `sh -c`) with the `exec` variables; a failure is a warning'
            cand --json 'The stored object as JSON, secrets included'
            cand --path 'Print only the file path'
            cand --reveal 'Show secrets unmasked in the summary'
            cand --check 'Ask the OAuth server whether the stored authorization works (0 works, 3 authorize again, 1 cannot tell)'
            cand -q 'No messages on stderr except errors (the addresses to open or paste still show)'
            cand --quiet 'No messages on stderr except errors (the addresses to open or paste still show)'
            cand -v 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug'
            cand --verbose 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'b24auth;token'= {
            cand --min-ttl 'Refresh first when the token expires within this many seconds'
            cand --rejected 'The portal refused this token: refresh unless another caller already has, and print the current one (`-` reads TOKEN from stdin, out of sight of `ps`)'
            cand --profile 'Which stored authorization (1–64 of A-Za-z0-9._-, no leading dot)'
            cand --config-dir 'Where profiles live [default: the platform config dir, e.g. ~/.config/b24auth]'
            cand --oauth-server 'Base URL of the OAuth server (token endpoint = URL + /oauth/token/)'
            cand --client-id 'The app''s client_id (local.… / app.…) [default: the stored value]'
            cand --client-secret 'The app''s client_secret; prefer the env var or the prompt [default: the stored value]'
            cand --store 'Where profiles live: `file` or a postgres:// URL'
            cand --store-key 'Seals the secrets in a postgres:// store: 32 random bytes in base64'
            cand --http-timeout 'Timeout of each HTTP request to Bitrix24'
            cand --on-refresh 'After a refresh is saved, run CMD (with `sh -c`) with the `exec` variables; a failure is a warning'
            cand --json 'Print {"access_token","expires","client_endpoint","member_id","domain"} for credential helpers that cache tokens (never the refresh token or the client secret)'
            cand -q 'No messages on stderr except errors (the addresses to open or paste still show)'
            cand --quiet 'No messages on stderr except errors (the addresses to open or paste still show)'
            cand -v 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug'
            cand --verbose 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'b24auth;call'= {
            cand --data 'The parameters as a JSON object, from the argument, @FILE or @- (stdin)'
            cand --rate 'Requests per second at most, sustained [default: the plan''s, 2/s]'
            cand --burst 'Requests allowed at once before --rate applies [default: the plan''s, 50]'
            cand --plan 'The portal''s plan: standard (2/s, burst 50) or enterprise (5/s, burst 250) [default: the one app.info''s LICENSE_FAMILY names, else standard]'
            cand --concurrency 'Requests in flight at once for --all and batch; items still come out in order'
            cand --operating-limit 'The portal''s operating-time budget per method per 10 minutes; 0 = none, as on-premise portals default to [default: 480s, the cloud''s, or what the portal showed]'
            cand --profile 'Which stored authorization (1–64 of A-Za-z0-9._-, no leading dot)'
            cand --config-dir 'Where profiles live [default: the platform config dir, e.g. ~/.config/b24auth]'
            cand --oauth-server 'Base URL of the OAuth server (token endpoint = URL + /oauth/token/)'
            cand --client-id 'The app''s client_id (local.… / app.…) [default: the stored value]'
            cand --client-secret 'The app''s client_secret; prefer the env var or the prompt [default: the stored value]'
            cand --store 'Where profiles live: `file` or a postgres:// URL'
            cand --store-key 'Seals the secrets in a postgres:// store: 32 random bytes in base64'
            cand --http-timeout 'Timeout of each HTTP request to Bitrix24'
            cand --on-refresh 'After a refresh is saved, run CMD (with `sh -c`) with the `exec` variables; a failure is a warning'
            cand --all 'Follow `next` through every page (50 pages per `batch` request); print the items as JSON lines'
            cand --by-id 'With --all: page by ID (order[ID]=ASC, filter[>ID], start=-1, 2,500 items a request) instead of counting; for tables too large to count'
            cand --array 'With --all: print one JSON array instead of lines'
            cand --result 'Print only the `result` of the answer'
            cand --v3 'Call REST 3.0 (<portal>/rest/api/METHOD) instead of the classic REST'
            cand -q 'No messages on stderr except errors (the addresses to open or paste still show)'
            cand --quiet 'No messages on stderr except errors (the addresses to open or paste still show)'
            cand -v 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug'
            cand --verbose 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'b24auth;batch'= {
            cand --rate 'Requests per second at most, sustained [default: the plan''s, 2/s]'
            cand --burst 'Requests allowed at once before --rate applies [default: the plan''s, 50]'
            cand --plan 'The portal''s plan: standard (2/s, burst 50) or enterprise (5/s, burst 250) [default: the one app.info''s LICENSE_FAMILY names, else standard]'
            cand --concurrency 'Requests in flight at once for --all and batch; items still come out in order'
            cand --operating-limit 'The portal''s operating-time budget per method per 10 minutes; 0 = none, as on-premise portals default to [default: 480s, the cloud''s, or what the portal showed]'
            cand --profile 'Which stored authorization (1–64 of A-Za-z0-9._-, no leading dot)'
            cand --config-dir 'Where profiles live [default: the platform config dir, e.g. ~/.config/b24auth]'
            cand --oauth-server 'Base URL of the OAuth server (token endpoint = URL + /oauth/token/)'
            cand --client-id 'The app''s client_id (local.… / app.…) [default: the stored value]'
            cand --client-secret 'The app''s client_secret; prefer the env var or the prompt [default: the stored value]'
            cand --store 'Where profiles live: `file` or a postgres:// URL'
            cand --store-key 'Seals the secrets in a postgres:// store: 32 random bytes in base64'
            cand --http-timeout 'Timeout of each HTTP request to Bitrix24'
            cand --on-refresh 'After a refresh is saved, run CMD (with `sh -c`) with the `exec` variables; a failure is a warning'
            cand --halt 'Stop at the first failed command (Bitrix24''s halt=1); nothing after it runs'
            cand -q 'No messages on stderr except errors (the addresses to open or paste still show)'
            cand --quiet 'No messages on stderr except errors (the addresses to open or paste still show)'
            cand -v 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug'
            cand --verbose 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'b24auth;exec'= {
            cand --min-ttl 'The token handed to CMD is valid for at least this many seconds'
            cand --profile 'Which stored authorization (1–64 of A-Za-z0-9._-, no leading dot)'
            cand --config-dir 'Where profiles live [default: the platform config dir, e.g. ~/.config/b24auth]'
            cand --oauth-server 'Base URL of the OAuth server (token endpoint = URL + /oauth/token/)'
            cand --client-id 'The app''s client_id (local.… / app.…) [default: the stored value]'
            cand --client-secret 'The app''s client_secret; prefer the env var or the prompt [default: the stored value]'
            cand --store 'Where profiles live: `file` or a postgres:// URL'
            cand --store-key 'Seals the secrets in a postgres:// store: 32 random bytes in base64'
            cand --http-timeout 'Timeout of each HTTP request to Bitrix24'
            cand --on-refresh 'After a refresh is saved, run CMD (with `sh -c`) with the `exec` variables; a failure is a warning'
            cand -q 'No messages on stderr except errors (the addresses to open or paste still show)'
            cand --quiet 'No messages on stderr except errors (the addresses to open or paste still show)'
            cand -v 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug'
            cand --verbose 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'b24auth;import'= {
            cand --profile 'Which stored authorization (1–64 of A-Za-z0-9._-, no leading dot)'
            cand --config-dir 'Where profiles live [default: the platform config dir, e.g. ~/.config/b24auth]'
            cand --oauth-server 'Base URL of the OAuth server (token endpoint = URL + /oauth/token/)'
            cand --client-id 'The app''s client_id (local.… / app.…) [default: the stored value]'
            cand --client-secret 'The app''s client_secret; prefer the env var or the prompt [default: the stored value]'
            cand --store 'Where profiles live: `file` or a postgres:// URL'
            cand --store-key 'Seals the secrets in a postgres:// store: 32 random bytes in base64'
            cand --http-timeout 'Timeout of each HTTP request to Bitrix24'
            cand --on-refresh 'After a refresh is saved, run CMD (with `sh -c`) with the `exec` variables; a failure is a warning'
            cand --webhook 'Save an incoming webhook (https://PORTAL/rest/USER_ID/SECRET/) as the profile, its address read from stdin or a hidden prompt — never from the command line'
            cand --no-verify 'Save without asking the OAuth server''s app.info whether the token is genuine'
            cand --force 'Replace an existing profile'
            cand -q 'No messages on stderr except errors (the addresses to open or paste still show)'
            cand --quiet 'No messages on stderr except errors (the addresses to open or paste still show)'
            cand -v 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug'
            cand --verbose 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'b24auth;list'= {
            cand --profile 'Which stored authorization (1–64 of A-Za-z0-9._-, no leading dot)'
            cand --config-dir 'Where profiles live [default: the platform config dir, e.g. ~/.config/b24auth]'
            cand --oauth-server 'Base URL of the OAuth server (token endpoint = URL + /oauth/token/)'
            cand --client-id 'The app''s client_id (local.… / app.…) [default: the stored value]'
            cand --client-secret 'The app''s client_secret; prefer the env var or the prompt [default: the stored value]'
            cand --store 'Where profiles live: `file` or a postgres:// URL'
            cand --store-key 'Seals the secrets in a postgres:// store: 32 random bytes in base64'
            cand --http-timeout 'Timeout of each HTTP request to Bitrix24'
            cand --on-refresh 'After a refresh is saved, run CMD (with `sh -c`) with the `exec` variables; a failure is a warning'
            cand --json 'Print a JSON array'
            cand -q 'No messages on stderr except errors (the addresses to open or paste still show)'
            cand --quiet 'No messages on stderr except errors (the addresses to open or paste still show)'
            cand -v 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug'
            cand --verbose 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'b24auth;forget'= {
            cand --profile 'Which stored authorization (1–64 of A-Za-z0-9._-, no leading dot)'
            cand --config-dir 'Where profiles live [default: the platform config dir, e.g. ~/.config/b24auth]'
            cand --oauth-server 'Base URL of the OAuth server (token endpoint = URL + /oauth/token/)'
            cand --client-id 'The app''s client_id (local.… / app.…) [default: the stored value]'
            cand --client-secret 'The app''s client_secret; prefer the env var or the prompt [default: the stored value]'
            cand --store 'Where profiles live: `file` or a postgres:// URL'
            cand --store-key 'Seals the secrets in a postgres:// store: 32 random bytes in base64'
            cand --http-timeout 'Timeout of each HTTP request to Bitrix24'
            cand --on-refresh 'After a refresh is saved, run CMD (with `sh -c`) with the `exec` variables; a failure is a warning'
            cand -y 'Delete without asking (required when there is no terminal)'
            cand --yes 'Delete without asking (required when there is no terminal)'
            cand -q 'No messages on stderr except errors (the addresses to open or paste still show)'
            cand --quiet 'No messages on stderr except errors (the addresses to open or paste still show)'
            cand -v 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug'
            cand --verbose 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'b24auth;events'= {
            cand --profile 'Which stored authorization (1–64 of A-Za-z0-9._-, no leading dot)'
            cand --config-dir 'Where profiles live [default: the platform config dir, e.g. ~/.config/b24auth]'
            cand --oauth-server 'Base URL of the OAuth server (token endpoint = URL + /oauth/token/)'
            cand --client-id 'The app''s client_id (local.… / app.…) [default: the stored value]'
            cand --client-secret 'The app''s client_secret; prefer the env var or the prompt [default: the stored value]'
            cand --store 'Where profiles live: `file` or a postgres:// URL'
            cand --store-key 'Seals the secrets in a postgres:// store: 32 random bytes in base64'
            cand --http-timeout 'Timeout of each HTTP request to Bitrix24'
            cand --on-refresh 'After a refresh is saved, run CMD (with `sh -c`) with the `exec` variables; a failure is a warning'
            cand -q 'No messages on stderr except errors (the addresses to open or paste still show)'
            cand --quiet 'No messages on stderr except errors (the addresses to open or paste still show)'
            cand -v 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug'
            cand --verbose 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand pull 'Fetch the portal''s offline events and run CMD once per event (or print JSON lines); at least once'
            cand bind 'Bind events for the app: offline (for `events pull`) or to a `serve` URL'
            cand failed 'List the events whose handler failed for good'
            cand retry 'Run failed events again'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'b24auth;events;pull'= {
            cand --limit 'Events per request'
            cand --tries 'Runs of a failing handler before the event is marked failed (with back-off)'
            cand --exec 'The handler and its arguments (the rest of the line): the event JSON on stdin, B24_EVENT and B24_EVENT_ID and the `exec` variables in its environment'
            cand --profile 'Which stored authorization (1–64 of A-Za-z0-9._-, no leading dot)'
            cand --config-dir 'Where profiles live [default: the platform config dir, e.g. ~/.config/b24auth]'
            cand --oauth-server 'Base URL of the OAuth server (token endpoint = URL + /oauth/token/)'
            cand --client-id 'The app''s client_id (local.… / app.…) [default: the stored value]'
            cand --client-secret 'The app''s client_secret; prefer the env var or the prompt [default: the stored value]'
            cand --store 'Where profiles live: `file` or a postgres:// URL'
            cand --store-key 'Seals the secrets in a postgres:// store: 32 random bytes in base64'
            cand --http-timeout 'Timeout of each HTTP request to Bitrix24'
            cand --on-refresh 'After a refresh is saved, run CMD (with `sh -c`) with the `exec` variables; a failure is a warning'
            cand --follow 'Keep pulling, backing off while the queue is empty'
            cand -q 'No messages on stderr except errors (the addresses to open or paste still show)'
            cand --quiet 'No messages on stderr except errors (the addresses to open or paste still show)'
            cand -v 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug'
            cand --verbose 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'b24auth;events;bind'= {
            cand --handler 'Send them to this URL (a `serve`''s event URL)'
            cand --profile 'Which stored authorization (1–64 of A-Za-z0-9._-, no leading dot)'
            cand --config-dir 'Where profiles live [default: the platform config dir, e.g. ~/.config/b24auth]'
            cand --oauth-server 'Base URL of the OAuth server (token endpoint = URL + /oauth/token/)'
            cand --client-id 'The app''s client_id (local.… / app.…) [default: the stored value]'
            cand --client-secret 'The app''s client_secret; prefer the env var or the prompt [default: the stored value]'
            cand --store 'Where profiles live: `file` or a postgres:// URL'
            cand --store-key 'Seals the secrets in a postgres:// store: 32 random bytes in base64'
            cand --http-timeout 'Timeout of each HTTP request to Bitrix24'
            cand --on-refresh 'After a refresh is saved, run CMD (with `sh -c`) with the `exec` variables; a failure is a warning'
            cand --offline 'Queue the events on the portal for `b24auth events pull`'
            cand -q 'No messages on stderr except errors (the addresses to open or paste still show)'
            cand --quiet 'No messages on stderr except errors (the addresses to open or paste still show)'
            cand -v 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug'
            cand --verbose 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'b24auth;events;failed'= {
            cand --profile 'Which stored authorization (1–64 of A-Za-z0-9._-, no leading dot)'
            cand --config-dir 'Where profiles live [default: the platform config dir, e.g. ~/.config/b24auth]'
            cand --oauth-server 'Base URL of the OAuth server (token endpoint = URL + /oauth/token/)'
            cand --client-id 'The app''s client_id (local.… / app.…) [default: the stored value]'
            cand --client-secret 'The app''s client_secret; prefer the env var or the prompt [default: the stored value]'
            cand --store 'Where profiles live: `file` or a postgres:// URL'
            cand --store-key 'Seals the secrets in a postgres:// store: 32 random bytes in base64'
            cand --http-timeout 'Timeout of each HTTP request to Bitrix24'
            cand --on-refresh 'After a refresh is saved, run CMD (with `sh -c`) with the `exec` variables; a failure is a warning'
            cand --json 'Print a JSON array'
            cand -q 'No messages on stderr except errors (the addresses to open or paste still show)'
            cand --quiet 'No messages on stderr except errors (the addresses to open or paste still show)'
            cand -v 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug'
            cand --verbose 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'b24auth;events;retry'= {
            cand --profile 'Which stored authorization (1–64 of A-Za-z0-9._-, no leading dot)'
            cand --config-dir 'Where profiles live [default: the platform config dir, e.g. ~/.config/b24auth]'
            cand --oauth-server 'Base URL of the OAuth server (token endpoint = URL + /oauth/token/)'
            cand --client-id 'The app''s client_id (local.… / app.…) [default: the stored value]'
            cand --client-secret 'The app''s client_secret; prefer the env var or the prompt [default: the stored value]'
            cand --store 'Where profiles live: `file` or a postgres:// URL'
            cand --store-key 'Seals the secrets in a postgres:// store: 32 random bytes in base64'
            cand --http-timeout 'Timeout of each HTTP request to Bitrix24'
            cand --on-refresh 'After a refresh is saved, run CMD (with `sh -c`) with the `exec` variables; a failure is a warning'
            cand --all 'Every failed event'
            cand -q 'No messages on stderr except errors (the addresses to open or paste still show)'
            cand --quiet 'No messages on stderr except errors (the addresses to open or paste still show)'
            cand -v 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug'
            cand --verbose 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'b24auth;events;help'= {
            cand pull 'Fetch the portal''s offline events and run CMD once per event (or print JSON lines); at least once'
            cand bind 'Bind events for the app: offline (for `events pull`) or to a `serve` URL'
            cand failed 'List the events whose handler failed for good'
            cand retry 'Run failed events again'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'b24auth;events;help;pull'= {
        }
        &'b24auth;events;help;bind'= {
        }
        &'b24auth;events;help;failed'= {
        }
        &'b24auth;events;help;retry'= {
        }
        &'b24auth;events;help;help'= {
        }
        &'b24auth;serve'= {
            cand --listen 'Address to listen on (IP:PORT, localhost:PORT, [::1]:PORT, 0.0.0.0:PORT)'
            cand --public-url 'How Bitrix24 reaches the listener (a tunnel or reverse proxy), for the printed URLs and the Host check'
            cand --path 'Path prefix of the routes [default: /b24/<32 random hex>, made on the first run and kept in <config dir>/serve-path]'
            cand --concurrency 'Handlers running at once'
            cand --tries 'Runs of a failing handler before the event is kept as failed (with back-off)'
            cand --timeout-handler 'A handler run longer than this is killed and counts as failed (0 = no limit)'
            cand --exec 'The handler and its arguments (the rest of the line); without it, events are printed as JSON lines'
            cand --profile 'Which stored authorization (1–64 of A-Za-z0-9._-, no leading dot)'
            cand --config-dir 'Where profiles live [default: the platform config dir, e.g. ~/.config/b24auth]'
            cand --oauth-server 'Base URL of the OAuth server (token endpoint = URL + /oauth/token/)'
            cand --client-id 'The app''s client_id (local.… / app.…) [default: the stored value]'
            cand --client-secret 'The app''s client_secret; prefer the env var or the prompt [default: the stored value]'
            cand --store 'Where profiles live: `file` or a postgres:// URL'
            cand --store-key 'Seals the secrets in a postgres:// store: 32 random bytes in base64'
            cand --http-timeout 'Timeout of each HTTP request to Bitrix24'
            cand --on-refresh 'After a refresh is saved, run CMD (with `sh -c`) with the `exec` variables; a failure is a warning'
            cand -q 'No messages on stderr except errors (the addresses to open or paste still show)'
            cand --quiet 'No messages on stderr except errors (the addresses to open or paste still show)'
            cand -v 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug'
            cand --verbose 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'b24auth;store'= {
            cand --profile 'Which stored authorization (1–64 of A-Za-z0-9._-, no leading dot)'
            cand --config-dir 'Where profiles live [default: the platform config dir, e.g. ~/.config/b24auth]'
            cand --oauth-server 'Base URL of the OAuth server (token endpoint = URL + /oauth/token/)'
            cand --client-id 'The app''s client_id (local.… / app.…) [default: the stored value]'
            cand --client-secret 'The app''s client_secret; prefer the env var or the prompt [default: the stored value]'
            cand --store 'Where profiles live: `file` or a postgres:// URL'
            cand --store-key 'Seals the secrets in a postgres:// store: 32 random bytes in base64'
            cand --http-timeout 'Timeout of each HTTP request to Bitrix24'
            cand --on-refresh 'After a refresh is saved, run CMD (with `sh -c`) with the `exec` variables; a failure is a warning'
            cand -q 'No messages on stderr except errors (the addresses to open or paste still show)'
            cand --quiet 'No messages on stderr except errors (the addresses to open or paste still show)'
            cand -v 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug'
            cand --verbose 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand copy 'Copy the profile (--profile) from one store to another, e.g. file → postgres://…'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'b24auth;store;copy'= {
            cand --from 'The store to read: `file` or a postgres:// URL'
            cand --to 'The store to write: `file` or a postgres:// URL'
            cand --profile 'Which stored authorization (1–64 of A-Za-z0-9._-, no leading dot)'
            cand --config-dir 'Where profiles live [default: the platform config dir, e.g. ~/.config/b24auth]'
            cand --oauth-server 'Base URL of the OAuth server (token endpoint = URL + /oauth/token/)'
            cand --client-id 'The app''s client_id (local.… / app.…) [default: the stored value]'
            cand --client-secret 'The app''s client_secret; prefer the env var or the prompt [default: the stored value]'
            cand --store 'Where profiles live: `file` or a postgres:// URL'
            cand --store-key 'Seals the secrets in a postgres:// store: 32 random bytes in base64'
            cand --http-timeout 'Timeout of each HTTP request to Bitrix24'
            cand --on-refresh 'After a refresh is saved, run CMD (with `sh -c`) with the `exec` variables; a failure is a warning'
            cand --force 'Replace the profile in the target store'
            cand -q 'No messages on stderr except errors (the addresses to open or paste still show)'
            cand --quiet 'No messages on stderr except errors (the addresses to open or paste still show)'
            cand -v 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug'
            cand --verbose 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'b24auth;store;help'= {
            cand copy 'Copy the profile (--profile) from one store to another, e.g. file → postgres://…'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'b24auth;store;help;copy'= {
        }
        &'b24auth;store;help;help'= {
        }
        &'b24auth;completions'= {
            cand --profile 'Which stored authorization (1–64 of A-Za-z0-9._-, no leading dot)'
            cand --config-dir 'Where profiles live [default: the platform config dir, e.g. ~/.config/b24auth]'
            cand --oauth-server 'Base URL of the OAuth server (token endpoint = URL + /oauth/token/)'
            cand --client-id 'The app''s client_id (local.… / app.…) [default: the stored value]'
            cand --client-secret 'The app''s client_secret; prefer the env var or the prompt [default: the stored value]'
            cand --store 'Where profiles live: `file` or a postgres:// URL'
            cand --store-key 'Seals the secrets in a postgres:// store: 32 random bytes in base64'
            cand --http-timeout 'Timeout of each HTTP request to Bitrix24'
            cand --on-refresh 'After a refresh is saved, run CMD (with `sh -c`) with the `exec` variables; a failure is a warning'
            cand -q 'No messages on stderr except errors (the addresses to open or paste still show)'
            cand --quiet 'No messages on stderr except errors (the addresses to open or paste still show)'
            cand -v 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug'
            cand --verbose 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'b24auth;man'= {
            cand --dir 'Write b24auth.1 and one page per subcommand (b24auth-authorize.1, …) into DIR'
            cand --profile 'Which stored authorization (1–64 of A-Za-z0-9._-, no leading dot)'
            cand --config-dir 'Where profiles live [default: the platform config dir, e.g. ~/.config/b24auth]'
            cand --oauth-server 'Base URL of the OAuth server (token endpoint = URL + /oauth/token/)'
            cand --client-id 'The app''s client_id (local.… / app.…) [default: the stored value]'
            cand --client-secret 'The app''s client_secret; prefer the env var or the prompt [default: the stored value]'
            cand --store 'Where profiles live: `file` or a postgres:// URL'
            cand --store-key 'Seals the secrets in a postgres:// store: 32 random bytes in base64'
            cand --http-timeout 'Timeout of each HTTP request to Bitrix24'
            cand --on-refresh 'After a refresh is saved, run CMD (with `sh -c`) with the `exec` variables; a failure is a warning'
            cand -q 'No messages on stderr except errors (the addresses to open or paste still show)'
            cand --quiet 'No messages on stderr except errors (the addresses to open or paste still show)'
            cand -v 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug'
            cand --verbose 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'b24auth;help'= {
            cand setup 'A guided first run on a terminal: the portal, the way in, what to enter in the portal''s form, the keys, the first token and a first call'
            cand install-listen 'Catch the installation callback of a local app and save its tokens'
            cand authorize 'Full OAuth in a browser: open the authorize page, catch the code, exchange it at once'
            cand refresh 'Trade the stored refresh token for a new pair and save it'
            cand show 'Show what is stored (secrets masked unless asked for)'
            cand token 'Print a valid access token, refreshing only when it is due'
            cand call 'Call a REST method with the stored authorization'
            cand batch 'Run REST calls read as JSON lines on stdin, 50 per `batch` request; one line out per line in'
            cand exec 'Run a command with B24_ACCESS_TOKEN, B24_CLIENT_ENDPOINT, B24_MEMBER_ID and more set'
            cand import 'Adopt an existing pair: the PHP examples'' auth.json, CRest''s settings.json, the PHP SDK''s file or b24auth''s own JSON'
            cand list 'List the stored profiles'
            cand forget 'Delete a stored profile'
            cand events 'The app''s offline events: pull them into a handler, bind events, list and retry failed ones'
            cand serve 'Receive the events of one app on any number of portals and hand them to a handler'
            cand store 'Move profiles between stores'
            cand completions 'Print shell completions'
            cand man 'Print the man page (roff), or write every page to a directory'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'b24auth;help;setup'= {
        }
        &'b24auth;help;install-listen'= {
        }
        &'b24auth;help;authorize'= {
        }
        &'b24auth;help;refresh'= {
        }
        &'b24auth;help;show'= {
        }
        &'b24auth;help;token'= {
        }
        &'b24auth;help;call'= {
        }
        &'b24auth;help;batch'= {
        }
        &'b24auth;help;exec'= {
        }
        &'b24auth;help;import'= {
        }
        &'b24auth;help;list'= {
        }
        &'b24auth;help;forget'= {
        }
        &'b24auth;help;events'= {
            cand pull 'Fetch the portal''s offline events and run CMD once per event (or print JSON lines); at least once'
            cand bind 'Bind events for the app: offline (for `events pull`) or to a `serve` URL'
            cand failed 'List the events whose handler failed for good'
            cand retry 'Run failed events again'
        }
        &'b24auth;help;events;pull'= {
        }
        &'b24auth;help;events;bind'= {
        }
        &'b24auth;help;events;failed'= {
        }
        &'b24auth;help;events;retry'= {
        }
        &'b24auth;help;serve'= {
        }
        &'b24auth;help;store'= {
            cand copy 'Copy the profile (--profile) from one store to another, e.g. file → postgres://…'
        }
        &'b24auth;help;store;copy'= {
        }
        &'b24auth;help;completions'= {
        }
        &'b24auth;help;man'= {
        }
        &'b24auth;help;help'= {
        }
    ]
    $completions[$command]
}
