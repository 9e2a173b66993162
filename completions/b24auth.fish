# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_b24auth_global_optspecs
    string join \n profile= config-dir= oauth-server= client-id= client-secret= store= store-key= http-timeout= q/quiet on-refresh= v/verbose h/help V/version
end

function __fish_b24auth_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_b24auth_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_b24auth_using_subcommand
    set -l cmd (__fish_b24auth_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c b24auth -n "__fish_b24auth_needs_command" -l profile -d 'Which stored authorization (1–64 of A-Za-z0-9._-, no leading dot)' -r
complete -c b24auth -n "__fish_b24auth_needs_command" -l config-dir -d 'Where profiles live [default: the platform config dir, e.g. ~/.config/b24auth]' -r -F
complete -c b24auth -n "__fish_b24auth_needs_command" -l oauth-server -d 'Base URL of the OAuth server (token endpoint = URL + /oauth/token/)' -r
complete -c b24auth -n "__fish_b24auth_needs_command" -l client-id -d 'The app\'s client_id (local.… / app.…) [default: the stored value]' -r
complete -c b24auth -n "__fish_b24auth_needs_command" -l client-secret -d 'The app\'s client_secret; prefer the env var or the prompt [default: the stored value]' -r
complete -c b24auth -n "__fish_b24auth_needs_command" -l store -d 'Where profiles live: `file` or a postgres:// URL' -r
complete -c b24auth -n "__fish_b24auth_needs_command" -l store-key -d 'Seals the secrets in a postgres:// store: 32 random bytes in base64' -r
complete -c b24auth -n "__fish_b24auth_needs_command" -l http-timeout -d 'Timeout of each HTTP request to Bitrix24' -r
complete -c b24auth -n "__fish_b24auth_needs_command" -l on-refresh -d 'After a refresh is saved, run CMD (with `sh -c`) with the `exec` variables; a failure is a warning' -r
complete -c b24auth -n "__fish_b24auth_needs_command" -s q -l quiet -d 'No messages on stderr except errors (the addresses to open or paste still show)'
complete -c b24auth -n "__fish_b24auth_needs_command" -s v -l verbose -d 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug'
complete -c b24auth -n "__fish_b24auth_needs_command" -s h -l help -d 'Print help'
complete -c b24auth -n "__fish_b24auth_needs_command" -s V -l version -d 'Print version'
complete -c b24auth -n "__fish_b24auth_needs_command" -f -a "setup" -d 'A guided first run on a terminal: the portal, the way in, what to enter in the portal\'s form, the keys, the first token and a first call'
complete -c b24auth -n "__fish_b24auth_needs_command" -f -a "install-listen" -d 'Catch the installation callback of a local app and save its tokens'
complete -c b24auth -n "__fish_b24auth_needs_command" -f -a "authorize" -d 'Full OAuth in a browser: open the authorize page, catch the code, exchange it at once'
complete -c b24auth -n "__fish_b24auth_needs_command" -f -a "refresh" -d 'Trade the stored refresh token for a new pair and save it'
complete -c b24auth -n "__fish_b24auth_needs_command" -f -a "show" -d 'Show what is stored (secrets masked unless asked for)'
complete -c b24auth -n "__fish_b24auth_needs_command" -f -a "token" -d 'Print a valid access token, refreshing only when it is due'
complete -c b24auth -n "__fish_b24auth_needs_command" -f -a "call" -d 'Call a REST method with the stored authorization'
complete -c b24auth -n "__fish_b24auth_needs_command" -f -a "batch" -d 'Run REST calls read as JSON lines on stdin, 50 per `batch` request; one line out per line in'
complete -c b24auth -n "__fish_b24auth_needs_command" -f -a "exec" -d 'Run a command with B24_ACCESS_TOKEN, B24_CLIENT_ENDPOINT, B24_MEMBER_ID and more set'
complete -c b24auth -n "__fish_b24auth_needs_command" -f -a "import" -d 'Adopt an existing pair: the PHP examples\' auth.json, CRest\'s settings.json, the PHP SDK\'s file or b24auth\'s own JSON'
complete -c b24auth -n "__fish_b24auth_needs_command" -f -a "list" -d 'List the stored profiles'
complete -c b24auth -n "__fish_b24auth_needs_command" -f -a "forget" -d 'Delete a stored profile'
complete -c b24auth -n "__fish_b24auth_needs_command" -f -a "events" -d 'The app\'s offline events: pull them into a handler, bind events, list and retry failed ones'
complete -c b24auth -n "__fish_b24auth_needs_command" -f -a "serve" -d 'Receive the events of one app on any number of portals and hand them to a handler'
complete -c b24auth -n "__fish_b24auth_needs_command" -f -a "store" -d 'Move profiles between stores'
complete -c b24auth -n "__fish_b24auth_needs_command" -f -a "completions" -d 'Print shell completions'
complete -c b24auth -n "__fish_b24auth_needs_command" -f -a "man" -d 'Print the man page (roff), or write every page to a directory'
complete -c b24auth -n "__fish_b24auth_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c b24auth -n "__fish_b24auth_using_subcommand setup" -l profile -d 'Which stored authorization (1–64 of A-Za-z0-9._-, no leading dot)' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand setup" -l config-dir -d 'Where profiles live [default: the platform config dir, e.g. ~/.config/b24auth]' -r -F
complete -c b24auth -n "__fish_b24auth_using_subcommand setup" -l oauth-server -d 'Base URL of the OAuth server (token endpoint = URL + /oauth/token/)' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand setup" -l client-id -d 'The app\'s client_id (local.… / app.…) [default: the stored value]' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand setup" -l client-secret -d 'The app\'s client_secret; prefer the env var or the prompt [default: the stored value]' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand setup" -l store -d 'Where profiles live: `file` or a postgres:// URL' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand setup" -l store-key -d 'Seals the secrets in a postgres:// store: 32 random bytes in base64' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand setup" -l http-timeout -d 'Timeout of each HTTP request to Bitrix24' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand setup" -l on-refresh -d 'After a refresh is saved, run CMD (with `sh -c`) with the `exec` variables; a failure is a warning' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand setup" -s q -l quiet -d 'No messages on stderr except errors (the addresses to open or paste still show)'
complete -c b24auth -n "__fish_b24auth_using_subcommand setup" -s v -l verbose -d 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug'
complete -c b24auth -n "__fish_b24auth_using_subcommand setup" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c b24auth -n "__fish_b24auth_using_subcommand setup" -s V -l version -d 'Print version'
complete -c b24auth -n "__fish_b24auth_using_subcommand install-listen" -l listen -d 'Address to listen on (IP:PORT, localhost:PORT, [::1]:PORT, 0.0.0.0:PORT)' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand install-listen" -l path -d 'Path to accept the callback on [default: /install/<32 random hex>]' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand install-listen" -l public-url -d 'How Bitrix24 reaches the listener (a tunnel or reverse proxy), for the printed instructions and the Host check' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand install-listen" -l timeout -d 'Give up after this long (0 = wait forever)' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand install-listen" -l profile -d 'Which stored authorization (1–64 of A-Za-z0-9._-, no leading dot)' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand install-listen" -l config-dir -d 'Where profiles live [default: the platform config dir, e.g. ~/.config/b24auth]' -r -F
complete -c b24auth -n "__fish_b24auth_using_subcommand install-listen" -l oauth-server -d 'Base URL of the OAuth server (token endpoint = URL + /oauth/token/)' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand install-listen" -l client-id -d 'The app\'s client_id (local.… / app.…) [default: the stored value]' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand install-listen" -l client-secret -d 'The app\'s client_secret; prefer the env var or the prompt [default: the stored value]' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand install-listen" -l store -d 'Where profiles live: `file` or a postgres:// URL' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand install-listen" -l store-key -d 'Seals the secrets in a postgres:// store: 32 random bytes in base64' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand install-listen" -l http-timeout -d 'Timeout of each HTTP request to Bitrix24' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand install-listen" -l on-refresh -d 'After a refresh is saved, run CMD (with `sh -c`) with the `exec` variables; a failure is a warning' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand install-listen" -l no-verify -d 'Save without asking the OAuth server\'s app.info whether the token is genuine'
complete -c b24auth -n "__fish_b24auth_using_subcommand install-listen" -l allow-http -d 'Accept a plain http:// client_endpoint for an on-premise portal (a warning is printed; https is required otherwise, except on a loopback portal)'
complete -c b24auth -n "__fish_b24auth_using_subcommand install-listen" -l force -d 'Replace an existing profile'
complete -c b24auth -n "__fish_b24auth_using_subcommand install-listen" -s q -l quiet -d 'No messages on stderr except errors (the addresses to open or paste still show)'
complete -c b24auth -n "__fish_b24auth_using_subcommand install-listen" -s v -l verbose -d 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug'
complete -c b24auth -n "__fish_b24auth_using_subcommand install-listen" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c b24auth -n "__fish_b24auth_using_subcommand install-listen" -s V -l version -d 'Print version'
complete -c b24auth -n "__fish_b24auth_using_subcommand authorize" -l domain -d 'The portal: portal.bitrix24.com, https://portal.example.com or http://127.0.0.1:PORT' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand authorize" -l redirect-uri -d 'The handler path registered for the app, where the portal sends the browser back' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand authorize" -l listen -d 'Address to listen on [default: the redirect URI\'s host:port when it is a loopback address, else 127.0.0.1:8787]' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand authorize" -l timeout -d 'Give up after this long (0 = wait forever)' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand authorize" -l profile -d 'Which stored authorization (1–64 of A-Za-z0-9._-, no leading dot)' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand authorize" -l config-dir -d 'Where profiles live [default: the platform config dir, e.g. ~/.config/b24auth]' -r -F
complete -c b24auth -n "__fish_b24auth_using_subcommand authorize" -l oauth-server -d 'Base URL of the OAuth server (token endpoint = URL + /oauth/token/)' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand authorize" -l client-id -d 'The app\'s client_id (local.… / app.…) [default: the stored value]' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand authorize" -l client-secret -d 'The app\'s client_secret; prefer the env var or the prompt [default: the stored value]' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand authorize" -l store -d 'Where profiles live: `file` or a postgres:// URL' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand authorize" -l store-key -d 'Seals the secrets in a postgres:// store: 32 random bytes in base64' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand authorize" -l http-timeout -d 'Timeout of each HTTP request to Bitrix24' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand authorize" -l on-refresh -d 'After a refresh is saved, run CMD (with `sh -c`) with the `exec` variables; a failure is a warning' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand authorize" -l no-browser -d 'Print the authorize URL but do not open a browser'
complete -c b24auth -n "__fish_b24auth_using_subcommand authorize" -l force -d 'Replace an existing profile'
complete -c b24auth -n "__fish_b24auth_using_subcommand authorize" -s q -l quiet -d 'No messages on stderr except errors (the addresses to open or paste still show)'
complete -c b24auth -n "__fish_b24auth_using_subcommand authorize" -s v -l verbose -d 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug'
complete -c b24auth -n "__fish_b24auth_using_subcommand authorize" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c b24auth -n "__fish_b24auth_using_subcommand authorize" -s V -l version -d 'Print version'
complete -c b24auth -n "__fish_b24auth_using_subcommand refresh" -l if-older-than -d 'Refresh only when the stored refresh token is older than this (cron keep-alive)' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand refresh" -l profile -d 'Which stored authorization (1–64 of A-Za-z0-9._-, no leading dot)' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand refresh" -l config-dir -d 'Where profiles live [default: the platform config dir, e.g. ~/.config/b24auth]' -r -F
complete -c b24auth -n "__fish_b24auth_using_subcommand refresh" -l oauth-server -d 'Base URL of the OAuth server (token endpoint = URL + /oauth/token/)' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand refresh" -l client-id -d 'The app\'s client_id (local.… / app.…) [default: the stored value]' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand refresh" -l client-secret -d 'The app\'s client_secret; prefer the env var or the prompt [default: the stored value]' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand refresh" -l store -d 'Where profiles live: `file` or a postgres:// URL' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand refresh" -l store-key -d 'Seals the secrets in a postgres:// store: 32 random bytes in base64' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand refresh" -l http-timeout -d 'Timeout of each HTTP request to Bitrix24' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand refresh" -l on-refresh -d 'After a refresh is saved, run CMD (with `sh -c`) with the `exec` variables; a failure is a warning' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand refresh" -l json -d 'Print the saved profile as JSON on stdout (secrets included)'
complete -c b24auth -n "__fish_b24auth_using_subcommand refresh" -l accept-change -d 'Apply the portal, member_id or scheme the last refresh answer named instead of the stored one (until then every command exits 3 naming the change); nothing is sent'
complete -c b24auth -n "__fish_b24auth_using_subcommand refresh" -s q -l quiet -d 'No messages on stderr except errors (the addresses to open or paste still show)'
complete -c b24auth -n "__fish_b24auth_using_subcommand refresh" -s v -l verbose -d 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug'
complete -c b24auth -n "__fish_b24auth_using_subcommand refresh" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c b24auth -n "__fish_b24auth_using_subcommand refresh" -s V -l version -d 'Print version'
complete -c b24auth -n "__fish_b24auth_using_subcommand show" -l field -d 'Print one raw value (access_token, client_endpoint, member_id, portal, …)' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand show" -l format -d 'Print the pair for another tool: `crest` (a CRest settings.json object) or `env` (the `exec` variables as KEY=value lines)' -r -f -a "crest\t'A CRest settings.json object'
env\t'KEY=value lines of the `exec` variables (docker --env-file, systemd EnvironmentFile=)'"
complete -c b24auth -n "__fish_b24auth_using_subcommand show" -l profile -d 'Which stored authorization (1–64 of A-Za-z0-9._-, no leading dot)' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand show" -l config-dir -d 'Where profiles live [default: the platform config dir, e.g. ~/.config/b24auth]' -r -F
complete -c b24auth -n "__fish_b24auth_using_subcommand show" -l oauth-server -d 'Base URL of the OAuth server (token endpoint = URL + /oauth/token/)' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand show" -l client-id -d 'The app\'s client_id (local.… / app.…) [default: the stored value]' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand show" -l client-secret -d 'The app\'s client_secret; prefer the env var or the prompt [default: the stored value]' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand show" -l store -d 'Where profiles live: `file` or a postgres:// URL' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand show" -l store-key -d 'Seals the secrets in a postgres:// store: 32 random bytes in base64' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand show" -l http-timeout -d 'Timeout of each HTTP request to Bitrix24' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand show" -l on-refresh -d 'After a refresh is saved, run CMD (with `sh -c`) with the `exec` variables; a failure is a warning' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand show" -l json -d 'The stored object as JSON, secrets included'
complete -c b24auth -n "__fish_b24auth_using_subcommand show" -l path -d 'Print only the file path'
complete -c b24auth -n "__fish_b24auth_using_subcommand show" -l reveal -d 'Show secrets unmasked in the summary'
complete -c b24auth -n "__fish_b24auth_using_subcommand show" -l check -d 'Ask the OAuth server whether the stored authorization works (0 works, 3 authorize again, 1 cannot tell)'
complete -c b24auth -n "__fish_b24auth_using_subcommand show" -s q -l quiet -d 'No messages on stderr except errors (the addresses to open or paste still show)'
complete -c b24auth -n "__fish_b24auth_using_subcommand show" -s v -l verbose -d 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug'
complete -c b24auth -n "__fish_b24auth_using_subcommand show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c b24auth -n "__fish_b24auth_using_subcommand show" -s V -l version -d 'Print version'
complete -c b24auth -n "__fish_b24auth_using_subcommand token" -l min-ttl -d 'Refresh first when the token expires within this many seconds' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand token" -l rejected -d 'The portal refused this token: refresh unless another caller already has, and print the current one (`-` reads TOKEN from stdin, out of sight of `ps`)' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand token" -l profile -d 'Which stored authorization (1–64 of A-Za-z0-9._-, no leading dot)' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand token" -l config-dir -d 'Where profiles live [default: the platform config dir, e.g. ~/.config/b24auth]' -r -F
complete -c b24auth -n "__fish_b24auth_using_subcommand token" -l oauth-server -d 'Base URL of the OAuth server (token endpoint = URL + /oauth/token/)' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand token" -l client-id -d 'The app\'s client_id (local.… / app.…) [default: the stored value]' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand token" -l client-secret -d 'The app\'s client_secret; prefer the env var or the prompt [default: the stored value]' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand token" -l store -d 'Where profiles live: `file` or a postgres:// URL' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand token" -l store-key -d 'Seals the secrets in a postgres:// store: 32 random bytes in base64' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand token" -l http-timeout -d 'Timeout of each HTTP request to Bitrix24' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand token" -l on-refresh -d 'After a refresh is saved, run CMD (with `sh -c`) with the `exec` variables; a failure is a warning' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand token" -l json -d 'Print {"access_token","expires","client_endpoint","member_id","domain"} for credential helpers that cache tokens (never the refresh token or the client secret)'
complete -c b24auth -n "__fish_b24auth_using_subcommand token" -s q -l quiet -d 'No messages on stderr except errors (the addresses to open or paste still show)'
complete -c b24auth -n "__fish_b24auth_using_subcommand token" -s v -l verbose -d 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug'
complete -c b24auth -n "__fish_b24auth_using_subcommand token" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c b24auth -n "__fish_b24auth_using_subcommand token" -s V -l version -d 'Print version'
complete -c b24auth -n "__fish_b24auth_using_subcommand call" -l data -d 'The parameters as a JSON object, from the argument, @FILE or @- (stdin)' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand call" -l rate -d 'Requests per second at most, sustained [default: the plan\'s, 2/s]' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand call" -l burst -d 'Requests allowed at once before --rate applies [default: the plan\'s, 50]' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand call" -l plan -d 'The portal\'s plan: standard (2/s, burst 50) or enterprise (5/s, burst 250) [default: the one app.info\'s LICENSE_FAMILY names, else standard]' -r -f -a "standard\t'2 requests/s, burst 50 (every cloud plan but Enterprise)'
enterprise\t'5 requests/s, burst 250'"
complete -c b24auth -n "__fish_b24auth_using_subcommand call" -l concurrency -d 'Requests in flight at once for --all and batch; items still come out in order' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand call" -l operating-limit -d 'The portal\'s operating-time budget per method per 10 minutes; 0 = none, as on-premise portals default to [default: 480s, the cloud\'s, or what the portal showed]' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand call" -l profile -d 'Which stored authorization (1–64 of A-Za-z0-9._-, no leading dot)' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand call" -l config-dir -d 'Where profiles live [default: the platform config dir, e.g. ~/.config/b24auth]' -r -F
complete -c b24auth -n "__fish_b24auth_using_subcommand call" -l oauth-server -d 'Base URL of the OAuth server (token endpoint = URL + /oauth/token/)' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand call" -l client-id -d 'The app\'s client_id (local.… / app.…) [default: the stored value]' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand call" -l client-secret -d 'The app\'s client_secret; prefer the env var or the prompt [default: the stored value]' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand call" -l store -d 'Where profiles live: `file` or a postgres:// URL' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand call" -l store-key -d 'Seals the secrets in a postgres:// store: 32 random bytes in base64' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand call" -l http-timeout -d 'Timeout of each HTTP request to Bitrix24' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand call" -l on-refresh -d 'After a refresh is saved, run CMD (with `sh -c`) with the `exec` variables; a failure is a warning' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand call" -l all -d 'Follow `next` through every page (50 pages per `batch` request); print the items as JSON lines'
complete -c b24auth -n "__fish_b24auth_using_subcommand call" -l by-id -d 'With --all: page by ID (order[ID]=ASC, filter[>ID], start=-1, 2,500 items a request) instead of counting; for tables too large to count'
complete -c b24auth -n "__fish_b24auth_using_subcommand call" -l array -d 'With --all: print one JSON array instead of lines'
complete -c b24auth -n "__fish_b24auth_using_subcommand call" -l result -d 'Print only the `result` of the answer'
complete -c b24auth -n "__fish_b24auth_using_subcommand call" -l v3 -d 'Call REST 3.0 (<portal>/rest/api/METHOD) instead of the classic REST'
complete -c b24auth -n "__fish_b24auth_using_subcommand call" -s q -l quiet -d 'No messages on stderr except errors (the addresses to open or paste still show)'
complete -c b24auth -n "__fish_b24auth_using_subcommand call" -s v -l verbose -d 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug'
complete -c b24auth -n "__fish_b24auth_using_subcommand call" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c b24auth -n "__fish_b24auth_using_subcommand call" -s V -l version -d 'Print version'
complete -c b24auth -n "__fish_b24auth_using_subcommand batch" -l rate -d 'Requests per second at most, sustained [default: the plan\'s, 2/s]' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand batch" -l burst -d 'Requests allowed at once before --rate applies [default: the plan\'s, 50]' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand batch" -l plan -d 'The portal\'s plan: standard (2/s, burst 50) or enterprise (5/s, burst 250) [default: the one app.info\'s LICENSE_FAMILY names, else standard]' -r -f -a "standard\t'2 requests/s, burst 50 (every cloud plan but Enterprise)'
enterprise\t'5 requests/s, burst 250'"
complete -c b24auth -n "__fish_b24auth_using_subcommand batch" -l concurrency -d 'Requests in flight at once for --all and batch; items still come out in order' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand batch" -l operating-limit -d 'The portal\'s operating-time budget per method per 10 minutes; 0 = none, as on-premise portals default to [default: 480s, the cloud\'s, or what the portal showed]' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand batch" -l profile -d 'Which stored authorization (1–64 of A-Za-z0-9._-, no leading dot)' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand batch" -l config-dir -d 'Where profiles live [default: the platform config dir, e.g. ~/.config/b24auth]' -r -F
complete -c b24auth -n "__fish_b24auth_using_subcommand batch" -l oauth-server -d 'Base URL of the OAuth server (token endpoint = URL + /oauth/token/)' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand batch" -l client-id -d 'The app\'s client_id (local.… / app.…) [default: the stored value]' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand batch" -l client-secret -d 'The app\'s client_secret; prefer the env var or the prompt [default: the stored value]' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand batch" -l store -d 'Where profiles live: `file` or a postgres:// URL' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand batch" -l store-key -d 'Seals the secrets in a postgres:// store: 32 random bytes in base64' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand batch" -l http-timeout -d 'Timeout of each HTTP request to Bitrix24' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand batch" -l on-refresh -d 'After a refresh is saved, run CMD (with `sh -c`) with the `exec` variables; a failure is a warning' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand batch" -l halt -d 'Stop at the first failed command (Bitrix24\'s halt=1); nothing after it runs'
complete -c b24auth -n "__fish_b24auth_using_subcommand batch" -s q -l quiet -d 'No messages on stderr except errors (the addresses to open or paste still show)'
complete -c b24auth -n "__fish_b24auth_using_subcommand batch" -s v -l verbose -d 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug'
complete -c b24auth -n "__fish_b24auth_using_subcommand batch" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c b24auth -n "__fish_b24auth_using_subcommand batch" -s V -l version -d 'Print version'
complete -c b24auth -n "__fish_b24auth_using_subcommand exec" -l min-ttl -d 'The token handed to CMD is valid for at least this many seconds' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand exec" -l profile -d 'Which stored authorization (1–64 of A-Za-z0-9._-, no leading dot)' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand exec" -l config-dir -d 'Where profiles live [default: the platform config dir, e.g. ~/.config/b24auth]' -r -F
complete -c b24auth -n "__fish_b24auth_using_subcommand exec" -l oauth-server -d 'Base URL of the OAuth server (token endpoint = URL + /oauth/token/)' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand exec" -l client-id -d 'The app\'s client_id (local.… / app.…) [default: the stored value]' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand exec" -l client-secret -d 'The app\'s client_secret; prefer the env var or the prompt [default: the stored value]' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand exec" -l store -d 'Where profiles live: `file` or a postgres:// URL' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand exec" -l store-key -d 'Seals the secrets in a postgres:// store: 32 random bytes in base64' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand exec" -l http-timeout -d 'Timeout of each HTTP request to Bitrix24' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand exec" -l on-refresh -d 'After a refresh is saved, run CMD (with `sh -c`) with the `exec` variables; a failure is a warning' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand exec" -s q -l quiet -d 'No messages on stderr except errors (the addresses to open or paste still show)'
complete -c b24auth -n "__fish_b24auth_using_subcommand exec" -s v -l verbose -d 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug'
complete -c b24auth -n "__fish_b24auth_using_subcommand exec" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c b24auth -n "__fish_b24auth_using_subcommand exec" -s V -l version -d 'Print version'
complete -c b24auth -n "__fish_b24auth_using_subcommand import" -l profile -d 'Which stored authorization (1–64 of A-Za-z0-9._-, no leading dot)' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand import" -l config-dir -d 'Where profiles live [default: the platform config dir, e.g. ~/.config/b24auth]' -r -F
complete -c b24auth -n "__fish_b24auth_using_subcommand import" -l oauth-server -d 'Base URL of the OAuth server (token endpoint = URL + /oauth/token/)' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand import" -l client-id -d 'The app\'s client_id (local.… / app.…) [default: the stored value]' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand import" -l client-secret -d 'The app\'s client_secret; prefer the env var or the prompt [default: the stored value]' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand import" -l store -d 'Where profiles live: `file` or a postgres:// URL' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand import" -l store-key -d 'Seals the secrets in a postgres:// store: 32 random bytes in base64' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand import" -l http-timeout -d 'Timeout of each HTTP request to Bitrix24' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand import" -l on-refresh -d 'After a refresh is saved, run CMD (with `sh -c`) with the `exec` variables; a failure is a warning' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand import" -l webhook -d 'Save an incoming webhook (https://PORTAL/rest/USER_ID/SECRET/) as the profile, its address read from stdin or a hidden prompt — never from the command line'
complete -c b24auth -n "__fish_b24auth_using_subcommand import" -l no-verify -d 'Save without asking the OAuth server\'s app.info whether the token is genuine'
complete -c b24auth -n "__fish_b24auth_using_subcommand import" -l force -d 'Replace an existing profile'
complete -c b24auth -n "__fish_b24auth_using_subcommand import" -s q -l quiet -d 'No messages on stderr except errors (the addresses to open or paste still show)'
complete -c b24auth -n "__fish_b24auth_using_subcommand import" -s v -l verbose -d 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug'
complete -c b24auth -n "__fish_b24auth_using_subcommand import" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c b24auth -n "__fish_b24auth_using_subcommand import" -s V -l version -d 'Print version'
complete -c b24auth -n "__fish_b24auth_using_subcommand list" -l profile -d 'Which stored authorization (1–64 of A-Za-z0-9._-, no leading dot)' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand list" -l config-dir -d 'Where profiles live [default: the platform config dir, e.g. ~/.config/b24auth]' -r -F
complete -c b24auth -n "__fish_b24auth_using_subcommand list" -l oauth-server -d 'Base URL of the OAuth server (token endpoint = URL + /oauth/token/)' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand list" -l client-id -d 'The app\'s client_id (local.… / app.…) [default: the stored value]' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand list" -l client-secret -d 'The app\'s client_secret; prefer the env var or the prompt [default: the stored value]' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand list" -l store -d 'Where profiles live: `file` or a postgres:// URL' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand list" -l store-key -d 'Seals the secrets in a postgres:// store: 32 random bytes in base64' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand list" -l http-timeout -d 'Timeout of each HTTP request to Bitrix24' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand list" -l on-refresh -d 'After a refresh is saved, run CMD (with `sh -c`) with the `exec` variables; a failure is a warning' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand list" -l json -d 'Print a JSON array'
complete -c b24auth -n "__fish_b24auth_using_subcommand list" -s q -l quiet -d 'No messages on stderr except errors (the addresses to open or paste still show)'
complete -c b24auth -n "__fish_b24auth_using_subcommand list" -s v -l verbose -d 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug'
complete -c b24auth -n "__fish_b24auth_using_subcommand list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c b24auth -n "__fish_b24auth_using_subcommand list" -s V -l version -d 'Print version'
complete -c b24auth -n "__fish_b24auth_using_subcommand forget" -l profile -d 'Which stored authorization (1–64 of A-Za-z0-9._-, no leading dot)' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand forget" -l config-dir -d 'Where profiles live [default: the platform config dir, e.g. ~/.config/b24auth]' -r -F
complete -c b24auth -n "__fish_b24auth_using_subcommand forget" -l oauth-server -d 'Base URL of the OAuth server (token endpoint = URL + /oauth/token/)' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand forget" -l client-id -d 'The app\'s client_id (local.… / app.…) [default: the stored value]' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand forget" -l client-secret -d 'The app\'s client_secret; prefer the env var or the prompt [default: the stored value]' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand forget" -l store -d 'Where profiles live: `file` or a postgres:// URL' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand forget" -l store-key -d 'Seals the secrets in a postgres:// store: 32 random bytes in base64' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand forget" -l http-timeout -d 'Timeout of each HTTP request to Bitrix24' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand forget" -l on-refresh -d 'After a refresh is saved, run CMD (with `sh -c`) with the `exec` variables; a failure is a warning' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand forget" -s y -l yes -d 'Delete without asking (required when there is no terminal)'
complete -c b24auth -n "__fish_b24auth_using_subcommand forget" -s q -l quiet -d 'No messages on stderr except errors (the addresses to open or paste still show)'
complete -c b24auth -n "__fish_b24auth_using_subcommand forget" -s v -l verbose -d 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug'
complete -c b24auth -n "__fish_b24auth_using_subcommand forget" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c b24auth -n "__fish_b24auth_using_subcommand forget" -s V -l version -d 'Print version'
complete -c b24auth -n "__fish_b24auth_using_subcommand events; and not __fish_seen_subcommand_from pull bind failed retry help" -l profile -d 'Which stored authorization (1–64 of A-Za-z0-9._-, no leading dot)' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand events; and not __fish_seen_subcommand_from pull bind failed retry help" -l config-dir -d 'Where profiles live [default: the platform config dir, e.g. ~/.config/b24auth]' -r -F
complete -c b24auth -n "__fish_b24auth_using_subcommand events; and not __fish_seen_subcommand_from pull bind failed retry help" -l oauth-server -d 'Base URL of the OAuth server (token endpoint = URL + /oauth/token/)' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand events; and not __fish_seen_subcommand_from pull bind failed retry help" -l client-id -d 'The app\'s client_id (local.… / app.…) [default: the stored value]' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand events; and not __fish_seen_subcommand_from pull bind failed retry help" -l client-secret -d 'The app\'s client_secret; prefer the env var or the prompt [default: the stored value]' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand events; and not __fish_seen_subcommand_from pull bind failed retry help" -l store -d 'Where profiles live: `file` or a postgres:// URL' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand events; and not __fish_seen_subcommand_from pull bind failed retry help" -l store-key -d 'Seals the secrets in a postgres:// store: 32 random bytes in base64' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand events; and not __fish_seen_subcommand_from pull bind failed retry help" -l http-timeout -d 'Timeout of each HTTP request to Bitrix24' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand events; and not __fish_seen_subcommand_from pull bind failed retry help" -l on-refresh -d 'After a refresh is saved, run CMD (with `sh -c`) with the `exec` variables; a failure is a warning' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand events; and not __fish_seen_subcommand_from pull bind failed retry help" -s q -l quiet -d 'No messages on stderr except errors (the addresses to open or paste still show)'
complete -c b24auth -n "__fish_b24auth_using_subcommand events; and not __fish_seen_subcommand_from pull bind failed retry help" -s v -l verbose -d 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug'
complete -c b24auth -n "__fish_b24auth_using_subcommand events; and not __fish_seen_subcommand_from pull bind failed retry help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c b24auth -n "__fish_b24auth_using_subcommand events; and not __fish_seen_subcommand_from pull bind failed retry help" -s V -l version -d 'Print version'
complete -c b24auth -n "__fish_b24auth_using_subcommand events; and not __fish_seen_subcommand_from pull bind failed retry help" -f -a "pull" -d 'Fetch the portal\'s offline events and run CMD once per event (or print JSON lines); at least once'
complete -c b24auth -n "__fish_b24auth_using_subcommand events; and not __fish_seen_subcommand_from pull bind failed retry help" -f -a "bind" -d 'Bind events for the app: offline (for `events pull`) or to a `serve` URL'
complete -c b24auth -n "__fish_b24auth_using_subcommand events; and not __fish_seen_subcommand_from pull bind failed retry help" -f -a "failed" -d 'List the events whose handler failed for good'
complete -c b24auth -n "__fish_b24auth_using_subcommand events; and not __fish_seen_subcommand_from pull bind failed retry help" -f -a "retry" -d 'Run failed events again'
complete -c b24auth -n "__fish_b24auth_using_subcommand events; and not __fish_seen_subcommand_from pull bind failed retry help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c b24auth -n "__fish_b24auth_using_subcommand events; and __fish_seen_subcommand_from pull" -l limit -d 'Events per request' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand events; and __fish_seen_subcommand_from pull" -l tries -d 'Runs of a failing handler before the event is marked failed (with back-off)' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand events; and __fish_seen_subcommand_from pull" -l exec -d 'The handler and its arguments (the rest of the line): the event JSON on stdin, B24_EVENT and B24_EVENT_ID and the `exec` variables in its environment' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand events; and __fish_seen_subcommand_from pull" -l profile -d 'Which stored authorization (1–64 of A-Za-z0-9._-, no leading dot)' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand events; and __fish_seen_subcommand_from pull" -l config-dir -d 'Where profiles live [default: the platform config dir, e.g. ~/.config/b24auth]' -r -F
complete -c b24auth -n "__fish_b24auth_using_subcommand events; and __fish_seen_subcommand_from pull" -l oauth-server -d 'Base URL of the OAuth server (token endpoint = URL + /oauth/token/)' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand events; and __fish_seen_subcommand_from pull" -l client-id -d 'The app\'s client_id (local.… / app.…) [default: the stored value]' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand events; and __fish_seen_subcommand_from pull" -l client-secret -d 'The app\'s client_secret; prefer the env var or the prompt [default: the stored value]' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand events; and __fish_seen_subcommand_from pull" -l store -d 'Where profiles live: `file` or a postgres:// URL' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand events; and __fish_seen_subcommand_from pull" -l store-key -d 'Seals the secrets in a postgres:// store: 32 random bytes in base64' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand events; and __fish_seen_subcommand_from pull" -l http-timeout -d 'Timeout of each HTTP request to Bitrix24' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand events; and __fish_seen_subcommand_from pull" -l on-refresh -d 'After a refresh is saved, run CMD (with `sh -c`) with the `exec` variables; a failure is a warning' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand events; and __fish_seen_subcommand_from pull" -l follow -d 'Keep pulling, backing off while the queue is empty'
complete -c b24auth -n "__fish_b24auth_using_subcommand events; and __fish_seen_subcommand_from pull" -s q -l quiet -d 'No messages on stderr except errors (the addresses to open or paste still show)'
complete -c b24auth -n "__fish_b24auth_using_subcommand events; and __fish_seen_subcommand_from pull" -s v -l verbose -d 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug'
complete -c b24auth -n "__fish_b24auth_using_subcommand events; and __fish_seen_subcommand_from pull" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c b24auth -n "__fish_b24auth_using_subcommand events; and __fish_seen_subcommand_from pull" -s V -l version -d 'Print version'
complete -c b24auth -n "__fish_b24auth_using_subcommand events; and __fish_seen_subcommand_from bind" -l handler -d 'Send them to this URL (a `serve`\'s event URL)' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand events; and __fish_seen_subcommand_from bind" -l profile -d 'Which stored authorization (1–64 of A-Za-z0-9._-, no leading dot)' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand events; and __fish_seen_subcommand_from bind" -l config-dir -d 'Where profiles live [default: the platform config dir, e.g. ~/.config/b24auth]' -r -F
complete -c b24auth -n "__fish_b24auth_using_subcommand events; and __fish_seen_subcommand_from bind" -l oauth-server -d 'Base URL of the OAuth server (token endpoint = URL + /oauth/token/)' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand events; and __fish_seen_subcommand_from bind" -l client-id -d 'The app\'s client_id (local.… / app.…) [default: the stored value]' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand events; and __fish_seen_subcommand_from bind" -l client-secret -d 'The app\'s client_secret; prefer the env var or the prompt [default: the stored value]' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand events; and __fish_seen_subcommand_from bind" -l store -d 'Where profiles live: `file` or a postgres:// URL' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand events; and __fish_seen_subcommand_from bind" -l store-key -d 'Seals the secrets in a postgres:// store: 32 random bytes in base64' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand events; and __fish_seen_subcommand_from bind" -l http-timeout -d 'Timeout of each HTTP request to Bitrix24' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand events; and __fish_seen_subcommand_from bind" -l on-refresh -d 'After a refresh is saved, run CMD (with `sh -c`) with the `exec` variables; a failure is a warning' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand events; and __fish_seen_subcommand_from bind" -l offline -d 'Queue the events on the portal for `b24auth events pull`'
complete -c b24auth -n "__fish_b24auth_using_subcommand events; and __fish_seen_subcommand_from bind" -s q -l quiet -d 'No messages on stderr except errors (the addresses to open or paste still show)'
complete -c b24auth -n "__fish_b24auth_using_subcommand events; and __fish_seen_subcommand_from bind" -s v -l verbose -d 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug'
complete -c b24auth -n "__fish_b24auth_using_subcommand events; and __fish_seen_subcommand_from bind" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c b24auth -n "__fish_b24auth_using_subcommand events; and __fish_seen_subcommand_from bind" -s V -l version -d 'Print version'
complete -c b24auth -n "__fish_b24auth_using_subcommand events; and __fish_seen_subcommand_from failed" -l profile -d 'Which stored authorization (1–64 of A-Za-z0-9._-, no leading dot)' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand events; and __fish_seen_subcommand_from failed" -l config-dir -d 'Where profiles live [default: the platform config dir, e.g. ~/.config/b24auth]' -r -F
complete -c b24auth -n "__fish_b24auth_using_subcommand events; and __fish_seen_subcommand_from failed" -l oauth-server -d 'Base URL of the OAuth server (token endpoint = URL + /oauth/token/)' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand events; and __fish_seen_subcommand_from failed" -l client-id -d 'The app\'s client_id (local.… / app.…) [default: the stored value]' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand events; and __fish_seen_subcommand_from failed" -l client-secret -d 'The app\'s client_secret; prefer the env var or the prompt [default: the stored value]' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand events; and __fish_seen_subcommand_from failed" -l store -d 'Where profiles live: `file` or a postgres:// URL' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand events; and __fish_seen_subcommand_from failed" -l store-key -d 'Seals the secrets in a postgres:// store: 32 random bytes in base64' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand events; and __fish_seen_subcommand_from failed" -l http-timeout -d 'Timeout of each HTTP request to Bitrix24' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand events; and __fish_seen_subcommand_from failed" -l on-refresh -d 'After a refresh is saved, run CMD (with `sh -c`) with the `exec` variables; a failure is a warning' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand events; and __fish_seen_subcommand_from failed" -l json -d 'Print a JSON array'
complete -c b24auth -n "__fish_b24auth_using_subcommand events; and __fish_seen_subcommand_from failed" -s q -l quiet -d 'No messages on stderr except errors (the addresses to open or paste still show)'
complete -c b24auth -n "__fish_b24auth_using_subcommand events; and __fish_seen_subcommand_from failed" -s v -l verbose -d 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug'
complete -c b24auth -n "__fish_b24auth_using_subcommand events; and __fish_seen_subcommand_from failed" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c b24auth -n "__fish_b24auth_using_subcommand events; and __fish_seen_subcommand_from failed" -s V -l version -d 'Print version'
complete -c b24auth -n "__fish_b24auth_using_subcommand events; and __fish_seen_subcommand_from retry" -l profile -d 'Which stored authorization (1–64 of A-Za-z0-9._-, no leading dot)' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand events; and __fish_seen_subcommand_from retry" -l config-dir -d 'Where profiles live [default: the platform config dir, e.g. ~/.config/b24auth]' -r -F
complete -c b24auth -n "__fish_b24auth_using_subcommand events; and __fish_seen_subcommand_from retry" -l oauth-server -d 'Base URL of the OAuth server (token endpoint = URL + /oauth/token/)' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand events; and __fish_seen_subcommand_from retry" -l client-id -d 'The app\'s client_id (local.… / app.…) [default: the stored value]' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand events; and __fish_seen_subcommand_from retry" -l client-secret -d 'The app\'s client_secret; prefer the env var or the prompt [default: the stored value]' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand events; and __fish_seen_subcommand_from retry" -l store -d 'Where profiles live: `file` or a postgres:// URL' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand events; and __fish_seen_subcommand_from retry" -l store-key -d 'Seals the secrets in a postgres:// store: 32 random bytes in base64' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand events; and __fish_seen_subcommand_from retry" -l http-timeout -d 'Timeout of each HTTP request to Bitrix24' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand events; and __fish_seen_subcommand_from retry" -l on-refresh -d 'After a refresh is saved, run CMD (with `sh -c`) with the `exec` variables; a failure is a warning' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand events; and __fish_seen_subcommand_from retry" -l all -d 'Every failed event'
complete -c b24auth -n "__fish_b24auth_using_subcommand events; and __fish_seen_subcommand_from retry" -s q -l quiet -d 'No messages on stderr except errors (the addresses to open or paste still show)'
complete -c b24auth -n "__fish_b24auth_using_subcommand events; and __fish_seen_subcommand_from retry" -s v -l verbose -d 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug'
complete -c b24auth -n "__fish_b24auth_using_subcommand events; and __fish_seen_subcommand_from retry" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c b24auth -n "__fish_b24auth_using_subcommand events; and __fish_seen_subcommand_from retry" -s V -l version -d 'Print version'
complete -c b24auth -n "__fish_b24auth_using_subcommand events; and __fish_seen_subcommand_from help" -f -a "pull" -d 'Fetch the portal\'s offline events and run CMD once per event (or print JSON lines); at least once'
complete -c b24auth -n "__fish_b24auth_using_subcommand events; and __fish_seen_subcommand_from help" -f -a "bind" -d 'Bind events for the app: offline (for `events pull`) or to a `serve` URL'
complete -c b24auth -n "__fish_b24auth_using_subcommand events; and __fish_seen_subcommand_from help" -f -a "failed" -d 'List the events whose handler failed for good'
complete -c b24auth -n "__fish_b24auth_using_subcommand events; and __fish_seen_subcommand_from help" -f -a "retry" -d 'Run failed events again'
complete -c b24auth -n "__fish_b24auth_using_subcommand events; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c b24auth -n "__fish_b24auth_using_subcommand serve" -l listen -d 'Address to listen on (IP:PORT, localhost:PORT, [::1]:PORT, 0.0.0.0:PORT)' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand serve" -l public-url -d 'How Bitrix24 reaches the listener (a tunnel or reverse proxy), for the printed URLs and the Host check' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand serve" -l path -d 'Path prefix of the routes [default: /b24/<32 random hex>, made on the first run and kept in <config dir>/serve-path]' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand serve" -l concurrency -d 'Handlers running at once' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand serve" -l tries -d 'Runs of a failing handler before the event is kept as failed (with back-off)' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand serve" -l timeout-handler -d 'A handler run longer than this is killed and counts as failed (0 = no limit)' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand serve" -l exec -d 'The handler and its arguments (the rest of the line); without it, events are printed as JSON lines' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand serve" -l profile -d 'Which stored authorization (1–64 of A-Za-z0-9._-, no leading dot)' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand serve" -l config-dir -d 'Where profiles live [default: the platform config dir, e.g. ~/.config/b24auth]' -r -F
complete -c b24auth -n "__fish_b24auth_using_subcommand serve" -l oauth-server -d 'Base URL of the OAuth server (token endpoint = URL + /oauth/token/)' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand serve" -l client-id -d 'The app\'s client_id (local.… / app.…) [default: the stored value]' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand serve" -l client-secret -d 'The app\'s client_secret; prefer the env var or the prompt [default: the stored value]' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand serve" -l store -d 'Where profiles live: `file` or a postgres:// URL' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand serve" -l store-key -d 'Seals the secrets in a postgres:// store: 32 random bytes in base64' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand serve" -l http-timeout -d 'Timeout of each HTTP request to Bitrix24' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand serve" -l on-refresh -d 'After a refresh is saved, run CMD (with `sh -c`) with the `exec` variables; a failure is a warning' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand serve" -s q -l quiet -d 'No messages on stderr except errors (the addresses to open or paste still show)'
complete -c b24auth -n "__fish_b24auth_using_subcommand serve" -s v -l verbose -d 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug'
complete -c b24auth -n "__fish_b24auth_using_subcommand serve" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c b24auth -n "__fish_b24auth_using_subcommand serve" -s V -l version -d 'Print version'
complete -c b24auth -n "__fish_b24auth_using_subcommand store; and not __fish_seen_subcommand_from copy help" -l profile -d 'Which stored authorization (1–64 of A-Za-z0-9._-, no leading dot)' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand store; and not __fish_seen_subcommand_from copy help" -l config-dir -d 'Where profiles live [default: the platform config dir, e.g. ~/.config/b24auth]' -r -F
complete -c b24auth -n "__fish_b24auth_using_subcommand store; and not __fish_seen_subcommand_from copy help" -l oauth-server -d 'Base URL of the OAuth server (token endpoint = URL + /oauth/token/)' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand store; and not __fish_seen_subcommand_from copy help" -l client-id -d 'The app\'s client_id (local.… / app.…) [default: the stored value]' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand store; and not __fish_seen_subcommand_from copy help" -l client-secret -d 'The app\'s client_secret; prefer the env var or the prompt [default: the stored value]' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand store; and not __fish_seen_subcommand_from copy help" -l store -d 'Where profiles live: `file` or a postgres:// URL' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand store; and not __fish_seen_subcommand_from copy help" -l store-key -d 'Seals the secrets in a postgres:// store: 32 random bytes in base64' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand store; and not __fish_seen_subcommand_from copy help" -l http-timeout -d 'Timeout of each HTTP request to Bitrix24' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand store; and not __fish_seen_subcommand_from copy help" -l on-refresh -d 'After a refresh is saved, run CMD (with `sh -c`) with the `exec` variables; a failure is a warning' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand store; and not __fish_seen_subcommand_from copy help" -s q -l quiet -d 'No messages on stderr except errors (the addresses to open or paste still show)'
complete -c b24auth -n "__fish_b24auth_using_subcommand store; and not __fish_seen_subcommand_from copy help" -s v -l verbose -d 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug'
complete -c b24auth -n "__fish_b24auth_using_subcommand store; and not __fish_seen_subcommand_from copy help" -s h -l help -d 'Print help'
complete -c b24auth -n "__fish_b24auth_using_subcommand store; and not __fish_seen_subcommand_from copy help" -s V -l version -d 'Print version'
complete -c b24auth -n "__fish_b24auth_using_subcommand store; and not __fish_seen_subcommand_from copy help" -f -a "copy" -d 'Copy the profile (--profile) from one store to another, e.g. file → postgres://…'
complete -c b24auth -n "__fish_b24auth_using_subcommand store; and not __fish_seen_subcommand_from copy help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c b24auth -n "__fish_b24auth_using_subcommand store; and __fish_seen_subcommand_from copy" -l from -d 'The store to read: `file` or a postgres:// URL' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand store; and __fish_seen_subcommand_from copy" -l to -d 'The store to write: `file` or a postgres:// URL' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand store; and __fish_seen_subcommand_from copy" -l profile -d 'Which stored authorization (1–64 of A-Za-z0-9._-, no leading dot)' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand store; and __fish_seen_subcommand_from copy" -l config-dir -d 'Where profiles live [default: the platform config dir, e.g. ~/.config/b24auth]' -r -F
complete -c b24auth -n "__fish_b24auth_using_subcommand store; and __fish_seen_subcommand_from copy" -l oauth-server -d 'Base URL of the OAuth server (token endpoint = URL + /oauth/token/)' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand store; and __fish_seen_subcommand_from copy" -l client-id -d 'The app\'s client_id (local.… / app.…) [default: the stored value]' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand store; and __fish_seen_subcommand_from copy" -l client-secret -d 'The app\'s client_secret; prefer the env var or the prompt [default: the stored value]' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand store; and __fish_seen_subcommand_from copy" -l store -d 'Where profiles live: `file` or a postgres:// URL' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand store; and __fish_seen_subcommand_from copy" -l store-key -d 'Seals the secrets in a postgres:// store: 32 random bytes in base64' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand store; and __fish_seen_subcommand_from copy" -l http-timeout -d 'Timeout of each HTTP request to Bitrix24' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand store; and __fish_seen_subcommand_from copy" -l on-refresh -d 'After a refresh is saved, run CMD (with `sh -c`) with the `exec` variables; a failure is a warning' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand store; and __fish_seen_subcommand_from copy" -l force -d 'Replace the profile in the target store'
complete -c b24auth -n "__fish_b24auth_using_subcommand store; and __fish_seen_subcommand_from copy" -s q -l quiet -d 'No messages on stderr except errors (the addresses to open or paste still show)'
complete -c b24auth -n "__fish_b24auth_using_subcommand store; and __fish_seen_subcommand_from copy" -s v -l verbose -d 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug'
complete -c b24auth -n "__fish_b24auth_using_subcommand store; and __fish_seen_subcommand_from copy" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c b24auth -n "__fish_b24auth_using_subcommand store; and __fish_seen_subcommand_from copy" -s V -l version -d 'Print version'
complete -c b24auth -n "__fish_b24auth_using_subcommand store; and __fish_seen_subcommand_from help" -f -a "copy" -d 'Copy the profile (--profile) from one store to another, e.g. file → postgres://…'
complete -c b24auth -n "__fish_b24auth_using_subcommand store; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c b24auth -n "__fish_b24auth_using_subcommand completions" -l profile -d 'Which stored authorization (1–64 of A-Za-z0-9._-, no leading dot)' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand completions" -l config-dir -d 'Where profiles live [default: the platform config dir, e.g. ~/.config/b24auth]' -r -F
complete -c b24auth -n "__fish_b24auth_using_subcommand completions" -l oauth-server -d 'Base URL of the OAuth server (token endpoint = URL + /oauth/token/)' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand completions" -l client-id -d 'The app\'s client_id (local.… / app.…) [default: the stored value]' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand completions" -l client-secret -d 'The app\'s client_secret; prefer the env var or the prompt [default: the stored value]' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand completions" -l store -d 'Where profiles live: `file` or a postgres:// URL' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand completions" -l store-key -d 'Seals the secrets in a postgres:// store: 32 random bytes in base64' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand completions" -l http-timeout -d 'Timeout of each HTTP request to Bitrix24' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand completions" -l on-refresh -d 'After a refresh is saved, run CMD (with `sh -c`) with the `exec` variables; a failure is a warning' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand completions" -s q -l quiet -d 'No messages on stderr except errors (the addresses to open or paste still show)'
complete -c b24auth -n "__fish_b24auth_using_subcommand completions" -s v -l verbose -d 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug'
complete -c b24auth -n "__fish_b24auth_using_subcommand completions" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c b24auth -n "__fish_b24auth_using_subcommand completions" -s V -l version -d 'Print version'
complete -c b24auth -n "__fish_b24auth_using_subcommand man" -l dir -d 'Write b24auth.1 and one page per subcommand (b24auth-authorize.1, …) into DIR' -r -F
complete -c b24auth -n "__fish_b24auth_using_subcommand man" -l profile -d 'Which stored authorization (1–64 of A-Za-z0-9._-, no leading dot)' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand man" -l config-dir -d 'Where profiles live [default: the platform config dir, e.g. ~/.config/b24auth]' -r -F
complete -c b24auth -n "__fish_b24auth_using_subcommand man" -l oauth-server -d 'Base URL of the OAuth server (token endpoint = URL + /oauth/token/)' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand man" -l client-id -d 'The app\'s client_id (local.… / app.…) [default: the stored value]' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand man" -l client-secret -d 'The app\'s client_secret; prefer the env var or the prompt [default: the stored value]' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand man" -l store -d 'Where profiles live: `file` or a postgres:// URL' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand man" -l store-key -d 'Seals the secrets in a postgres:// store: 32 random bytes in base64' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand man" -l http-timeout -d 'Timeout of each HTTP request to Bitrix24' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand man" -l on-refresh -d 'After a refresh is saved, run CMD (with `sh -c`) with the `exec` variables; a failure is a warning' -r
complete -c b24auth -n "__fish_b24auth_using_subcommand man" -s q -l quiet -d 'No messages on stderr except errors (the addresses to open or paste still show)'
complete -c b24auth -n "__fish_b24auth_using_subcommand man" -s v -l verbose -d 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug'
complete -c b24auth -n "__fish_b24auth_using_subcommand man" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c b24auth -n "__fish_b24auth_using_subcommand man" -s V -l version -d 'Print version'
complete -c b24auth -n "__fish_b24auth_using_subcommand help; and not __fish_seen_subcommand_from setup install-listen authorize refresh show token call batch exec import list forget events serve store completions man help" -f -a "setup" -d 'A guided first run on a terminal: the portal, the way in, what to enter in the portal\'s form, the keys, the first token and a first call'
complete -c b24auth -n "__fish_b24auth_using_subcommand help; and not __fish_seen_subcommand_from setup install-listen authorize refresh show token call batch exec import list forget events serve store completions man help" -f -a "install-listen" -d 'Catch the installation callback of a local app and save its tokens'
complete -c b24auth -n "__fish_b24auth_using_subcommand help; and not __fish_seen_subcommand_from setup install-listen authorize refresh show token call batch exec import list forget events serve store completions man help" -f -a "authorize" -d 'Full OAuth in a browser: open the authorize page, catch the code, exchange it at once'
complete -c b24auth -n "__fish_b24auth_using_subcommand help; and not __fish_seen_subcommand_from setup install-listen authorize refresh show token call batch exec import list forget events serve store completions man help" -f -a "refresh" -d 'Trade the stored refresh token for a new pair and save it'
complete -c b24auth -n "__fish_b24auth_using_subcommand help; and not __fish_seen_subcommand_from setup install-listen authorize refresh show token call batch exec import list forget events serve store completions man help" -f -a "show" -d 'Show what is stored (secrets masked unless asked for)'
complete -c b24auth -n "__fish_b24auth_using_subcommand help; and not __fish_seen_subcommand_from setup install-listen authorize refresh show token call batch exec import list forget events serve store completions man help" -f -a "token" -d 'Print a valid access token, refreshing only when it is due'
complete -c b24auth -n "__fish_b24auth_using_subcommand help; and not __fish_seen_subcommand_from setup install-listen authorize refresh show token call batch exec import list forget events serve store completions man help" -f -a "call" -d 'Call a REST method with the stored authorization'
complete -c b24auth -n "__fish_b24auth_using_subcommand help; and not __fish_seen_subcommand_from setup install-listen authorize refresh show token call batch exec import list forget events serve store completions man help" -f -a "batch" -d 'Run REST calls read as JSON lines on stdin, 50 per `batch` request; one line out per line in'
complete -c b24auth -n "__fish_b24auth_using_subcommand help; and not __fish_seen_subcommand_from setup install-listen authorize refresh show token call batch exec import list forget events serve store completions man help" -f -a "exec" -d 'Run a command with B24_ACCESS_TOKEN, B24_CLIENT_ENDPOINT, B24_MEMBER_ID and more set'
complete -c b24auth -n "__fish_b24auth_using_subcommand help; and not __fish_seen_subcommand_from setup install-listen authorize refresh show token call batch exec import list forget events serve store completions man help" -f -a "import" -d 'Adopt an existing pair: the PHP examples\' auth.json, CRest\'s settings.json, the PHP SDK\'s file or b24auth\'s own JSON'
complete -c b24auth -n "__fish_b24auth_using_subcommand help; and not __fish_seen_subcommand_from setup install-listen authorize refresh show token call batch exec import list forget events serve store completions man help" -f -a "list" -d 'List the stored profiles'
complete -c b24auth -n "__fish_b24auth_using_subcommand help; and not __fish_seen_subcommand_from setup install-listen authorize refresh show token call batch exec import list forget events serve store completions man help" -f -a "forget" -d 'Delete a stored profile'
complete -c b24auth -n "__fish_b24auth_using_subcommand help; and not __fish_seen_subcommand_from setup install-listen authorize refresh show token call batch exec import list forget events serve store completions man help" -f -a "events" -d 'The app\'s offline events: pull them into a handler, bind events, list and retry failed ones'
complete -c b24auth -n "__fish_b24auth_using_subcommand help; and not __fish_seen_subcommand_from setup install-listen authorize refresh show token call batch exec import list forget events serve store completions man help" -f -a "serve" -d 'Receive the events of one app on any number of portals and hand them to a handler'
complete -c b24auth -n "__fish_b24auth_using_subcommand help; and not __fish_seen_subcommand_from setup install-listen authorize refresh show token call batch exec import list forget events serve store completions man help" -f -a "store" -d 'Move profiles between stores'
complete -c b24auth -n "__fish_b24auth_using_subcommand help; and not __fish_seen_subcommand_from setup install-listen authorize refresh show token call batch exec import list forget events serve store completions man help" -f -a "completions" -d 'Print shell completions'
complete -c b24auth -n "__fish_b24auth_using_subcommand help; and not __fish_seen_subcommand_from setup install-listen authorize refresh show token call batch exec import list forget events serve store completions man help" -f -a "man" -d 'Print the man page (roff), or write every page to a directory'
complete -c b24auth -n "__fish_b24auth_using_subcommand help; and not __fish_seen_subcommand_from setup install-listen authorize refresh show token call batch exec import list forget events serve store completions man help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c b24auth -n "__fish_b24auth_using_subcommand help; and __fish_seen_subcommand_from events" -f -a "pull" -d 'Fetch the portal\'s offline events and run CMD once per event (or print JSON lines); at least once'
complete -c b24auth -n "__fish_b24auth_using_subcommand help; and __fish_seen_subcommand_from events" -f -a "bind" -d 'Bind events for the app: offline (for `events pull`) or to a `serve` URL'
complete -c b24auth -n "__fish_b24auth_using_subcommand help; and __fish_seen_subcommand_from events" -f -a "failed" -d 'List the events whose handler failed for good'
complete -c b24auth -n "__fish_b24auth_using_subcommand help; and __fish_seen_subcommand_from events" -f -a "retry" -d 'Run failed events again'
complete -c b24auth -n "__fish_b24auth_using_subcommand help; and __fish_seen_subcommand_from store" -f -a "copy" -d 'Copy the profile (--profile) from one store to another, e.g. file → postgres://…'
