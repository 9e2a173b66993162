
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'b24auth' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'b24auth'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'b24auth' {
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Which stored authorization (1–64 of A-Za-z0-9._-, no leading dot)')
            [CompletionResult]::new('--config-dir', '--config-dir', [CompletionResultType]::ParameterName, 'Where profiles live [default: the platform config dir, e.g. ~/.config/b24auth]')
            [CompletionResult]::new('--oauth-server', '--oauth-server', [CompletionResultType]::ParameterName, 'Base URL of the OAuth server (token endpoint = URL + /oauth/token/)')
            [CompletionResult]::new('--client-id', '--client-id', [CompletionResultType]::ParameterName, 'The app''s client_id (local.… / app.…) [default: the stored value]')
            [CompletionResult]::new('--client-secret', '--client-secret', [CompletionResultType]::ParameterName, 'The app''s client_secret; prefer the env var or the prompt [default: the stored value]')
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Where profiles live: `file` or a postgres:// URL')
            [CompletionResult]::new('--store-key', '--store-key', [CompletionResultType]::ParameterName, 'Seals the secrets in a postgres:// store: 32 random bytes in base64')
            [CompletionResult]::new('--http-timeout', '--http-timeout', [CompletionResultType]::ParameterName, 'Timeout of each HTTP request to Bitrix24')
            [CompletionResult]::new('--on-refresh', '--on-refresh', [CompletionResultType]::ParameterName, 'After a refresh is saved, run CMD (with `sh -c`) with the `exec` variables; a failure is a warning')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No messages on stderr except errors (the addresses to open or paste still show)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No messages on stderr except errors (the addresses to open or paste still show)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('setup', 'setup', [CompletionResultType]::ParameterValue, 'A guided first run on a terminal: the portal, the way in, what to enter in the portal''s form, the keys, the first token and a first call')
            [CompletionResult]::new('install-listen', 'install-listen', [CompletionResultType]::ParameterValue, 'Catch the installation callback of a local app and save its tokens')
            [CompletionResult]::new('authorize', 'authorize', [CompletionResultType]::ParameterValue, 'Full OAuth in a browser: open the authorize page, catch the code, exchange it at once')
            [CompletionResult]::new('refresh', 'refresh', [CompletionResultType]::ParameterValue, 'Trade the stored refresh token for a new pair and save it')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Show what is stored (secrets masked unless asked for)')
            [CompletionResult]::new('token', 'token', [CompletionResultType]::ParameterValue, 'Print a valid access token, refreshing only when it is due')
            [CompletionResult]::new('call', 'call', [CompletionResultType]::ParameterValue, 'Call a REST method with the stored authorization')
            [CompletionResult]::new('batch', 'batch', [CompletionResultType]::ParameterValue, 'Run REST calls read as JSON lines on stdin, 50 per `batch` request; one line out per line in')
            [CompletionResult]::new('exec', 'exec', [CompletionResultType]::ParameterValue, 'Run a command with B24_ACCESS_TOKEN, B24_CLIENT_ENDPOINT, B24_MEMBER_ID and more set')
            [CompletionResult]::new('import', 'import', [CompletionResultType]::ParameterValue, 'Adopt an existing pair: the PHP examples'' auth.json, CRest''s settings.json, the PHP SDK''s file or b24auth''s own JSON')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List the stored profiles')
            [CompletionResult]::new('forget', 'forget', [CompletionResultType]::ParameterValue, 'Delete a stored profile')
            [CompletionResult]::new('events', 'events', [CompletionResultType]::ParameterValue, 'The app''s offline events: pull them into a handler, bind events, list and retry failed ones')
            [CompletionResult]::new('serve', 'serve', [CompletionResultType]::ParameterValue, 'Receive the events of one app on any number of portals and hand them to a handler')
            [CompletionResult]::new('store', 'store', [CompletionResultType]::ParameterValue, 'Move profiles between stores')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print shell completions')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Print the man page (roff), or write every page to a directory')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'b24auth;setup' {
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Which stored authorization (1–64 of A-Za-z0-9._-, no leading dot)')
            [CompletionResult]::new('--config-dir', '--config-dir', [CompletionResultType]::ParameterName, 'Where profiles live [default: the platform config dir, e.g. ~/.config/b24auth]')
            [CompletionResult]::new('--oauth-server', '--oauth-server', [CompletionResultType]::ParameterName, 'Base URL of the OAuth server (token endpoint = URL + /oauth/token/)')
            [CompletionResult]::new('--client-id', '--client-id', [CompletionResultType]::ParameterName, 'The app''s client_id (local.… / app.…) [default: the stored value]')
            [CompletionResult]::new('--client-secret', '--client-secret', [CompletionResultType]::ParameterName, 'The app''s client_secret; prefer the env var or the prompt [default: the stored value]')
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Where profiles live: `file` or a postgres:// URL')
            [CompletionResult]::new('--store-key', '--store-key', [CompletionResultType]::ParameterName, 'Seals the secrets in a postgres:// store: 32 random bytes in base64')
            [CompletionResult]::new('--http-timeout', '--http-timeout', [CompletionResultType]::ParameterName, 'Timeout of each HTTP request to Bitrix24')
            [CompletionResult]::new('--on-refresh', '--on-refresh', [CompletionResultType]::ParameterName, 'After a refresh is saved, run CMD (with `sh -c`) with the `exec` variables; a failure is a warning')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No messages on stderr except errors (the addresses to open or paste still show)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No messages on stderr except errors (the addresses to open or paste still show)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'b24auth;install-listen' {
            [CompletionResult]::new('--listen', '--listen', [CompletionResultType]::ParameterName, 'Address to listen on (IP:PORT, localhost:PORT, [::1]:PORT, 0.0.0.0:PORT)')
            [CompletionResult]::new('--path', '--path', [CompletionResultType]::ParameterName, 'Path to accept the callback on [default: /install/<32 random hex>]')
            [CompletionResult]::new('--public-url', '--public-url', [CompletionResultType]::ParameterName, 'How Bitrix24 reaches the listener (a tunnel or reverse proxy), for the printed instructions and the Host check')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Give up after this long (0 = wait forever)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Which stored authorization (1–64 of A-Za-z0-9._-, no leading dot)')
            [CompletionResult]::new('--config-dir', '--config-dir', [CompletionResultType]::ParameterName, 'Where profiles live [default: the platform config dir, e.g. ~/.config/b24auth]')
            [CompletionResult]::new('--oauth-server', '--oauth-server', [CompletionResultType]::ParameterName, 'Base URL of the OAuth server (token endpoint = URL + /oauth/token/)')
            [CompletionResult]::new('--client-id', '--client-id', [CompletionResultType]::ParameterName, 'The app''s client_id (local.… / app.…) [default: the stored value]')
            [CompletionResult]::new('--client-secret', '--client-secret', [CompletionResultType]::ParameterName, 'The app''s client_secret; prefer the env var or the prompt [default: the stored value]')
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Where profiles live: `file` or a postgres:// URL')
            [CompletionResult]::new('--store-key', '--store-key', [CompletionResultType]::ParameterName, 'Seals the secrets in a postgres:// store: 32 random bytes in base64')
            [CompletionResult]::new('--http-timeout', '--http-timeout', [CompletionResultType]::ParameterName, 'Timeout of each HTTP request to Bitrix24')
            [CompletionResult]::new('--on-refresh', '--on-refresh', [CompletionResultType]::ParameterName, 'After a refresh is saved, run CMD (with `sh -c`) with the `exec` variables; a failure is a warning')
            [CompletionResult]::new('--no-verify', '--no-verify', [CompletionResultType]::ParameterName, 'Save without asking the OAuth server''s app.info whether the token is genuine')
            [CompletionResult]::new('--allow-http', '--allow-http', [CompletionResultType]::ParameterName, 'Accept a plain http:// client_endpoint for an on-premise portal (a warning is printed; https is required otherwise, except on a loopback portal)')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Replace an existing profile')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No messages on stderr except errors (the addresses to open or paste still show)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No messages on stderr except errors (the addresses to open or paste still show)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'b24auth;authorize' {
            [CompletionResult]::new('--domain', '--domain', [CompletionResultType]::ParameterName, 'The portal: portal.bitrix24.com, https://portal.example.com or http://127.0.0.1:PORT')
            [CompletionResult]::new('--redirect-uri', '--redirect-uri', [CompletionResultType]::ParameterName, 'The handler path registered for the app, where the portal sends the browser back')
            [CompletionResult]::new('--listen', '--listen', [CompletionResultType]::ParameterName, 'Address to listen on [default: the redirect URI''s host:port when it is a loopback address, else 127.0.0.1:8787]')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Give up after this long (0 = wait forever)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Which stored authorization (1–64 of A-Za-z0-9._-, no leading dot)')
            [CompletionResult]::new('--config-dir', '--config-dir', [CompletionResultType]::ParameterName, 'Where profiles live [default: the platform config dir, e.g. ~/.config/b24auth]')
            [CompletionResult]::new('--oauth-server', '--oauth-server', [CompletionResultType]::ParameterName, 'Base URL of the OAuth server (token endpoint = URL + /oauth/token/)')
            [CompletionResult]::new('--client-id', '--client-id', [CompletionResultType]::ParameterName, 'The app''s client_id (local.… / app.…) [default: the stored value]')
            [CompletionResult]::new('--client-secret', '--client-secret', [CompletionResultType]::ParameterName, 'The app''s client_secret; prefer the env var or the prompt [default: the stored value]')
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Where profiles live: `file` or a postgres:// URL')
            [CompletionResult]::new('--store-key', '--store-key', [CompletionResultType]::ParameterName, 'Seals the secrets in a postgres:// store: 32 random bytes in base64')
            [CompletionResult]::new('--http-timeout', '--http-timeout', [CompletionResultType]::ParameterName, 'Timeout of each HTTP request to Bitrix24')
            [CompletionResult]::new('--on-refresh', '--on-refresh', [CompletionResultType]::ParameterName, 'After a refresh is saved, run CMD (with `sh -c`) with the `exec` variables; a failure is a warning')
            [CompletionResult]::new('--no-browser', '--no-browser', [CompletionResultType]::ParameterName, 'Print the authorize URL but do not open a browser')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Replace an existing profile')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No messages on stderr except errors (the addresses to open or paste still show)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No messages on stderr except errors (the addresses to open or paste still show)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'b24auth;refresh' {
            [CompletionResult]::new('--if-older-than', '--if-older-than', [CompletionResultType]::ParameterName, 'Refresh only when the stored refresh token is older than this (cron keep-alive)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Which stored authorization (1–64 of A-Za-z0-9._-, no leading dot)')
            [CompletionResult]::new('--config-dir', '--config-dir', [CompletionResultType]::ParameterName, 'Where profiles live [default: the platform config dir, e.g. ~/.config/b24auth]')
            [CompletionResult]::new('--oauth-server', '--oauth-server', [CompletionResultType]::ParameterName, 'Base URL of the OAuth server (token endpoint = URL + /oauth/token/)')
            [CompletionResult]::new('--client-id', '--client-id', [CompletionResultType]::ParameterName, 'The app''s client_id (local.… / app.…) [default: the stored value]')
            [CompletionResult]::new('--client-secret', '--client-secret', [CompletionResultType]::ParameterName, 'The app''s client_secret; prefer the env var or the prompt [default: the stored value]')
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Where profiles live: `file` or a postgres:// URL')
            [CompletionResult]::new('--store-key', '--store-key', [CompletionResultType]::ParameterName, 'Seals the secrets in a postgres:// store: 32 random bytes in base64')
            [CompletionResult]::new('--http-timeout', '--http-timeout', [CompletionResultType]::ParameterName, 'Timeout of each HTTP request to Bitrix24')
            [CompletionResult]::new('--on-refresh', '--on-refresh', [CompletionResultType]::ParameterName, 'After a refresh is saved, run CMD (with `sh -c`) with the `exec` variables; a failure is a warning')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the saved profile as JSON on stdout (secrets included)')
            [CompletionResult]::new('--accept-change', '--accept-change', [CompletionResultType]::ParameterName, 'Apply the portal, member_id or scheme the last refresh answer named instead of the stored one (until then every command exits 3 naming the change); nothing is sent')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No messages on stderr except errors (the addresses to open or paste still show)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No messages on stderr except errors (the addresses to open or paste still show)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'b24auth;show' {
            [CompletionResult]::new('--field', '--field', [CompletionResultType]::ParameterName, 'Print one raw value (access_token, client_endpoint, member_id, portal, …)')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Print the pair for another tool: `crest` (a CRest settings.json object) or `env` (the `exec` variables as KEY=value lines)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Which stored authorization (1–64 of A-Za-z0-9._-, no leading dot)')
            [CompletionResult]::new('--config-dir', '--config-dir', [CompletionResultType]::ParameterName, 'Where profiles live [default: the platform config dir, e.g. ~/.config/b24auth]')
            [CompletionResult]::new('--oauth-server', '--oauth-server', [CompletionResultType]::ParameterName, 'Base URL of the OAuth server (token endpoint = URL + /oauth/token/)')
            [CompletionResult]::new('--client-id', '--client-id', [CompletionResultType]::ParameterName, 'The app''s client_id (local.… / app.…) [default: the stored value]')
            [CompletionResult]::new('--client-secret', '--client-secret', [CompletionResultType]::ParameterName, 'The app''s client_secret; prefer the env var or the prompt [default: the stored value]')
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Where profiles live: `file` or a postgres:// URL')
            [CompletionResult]::new('--store-key', '--store-key', [CompletionResultType]::ParameterName, 'Seals the secrets in a postgres:// store: 32 random bytes in base64')
            [CompletionResult]::new('--http-timeout', '--http-timeout', [CompletionResultType]::ParameterName, 'Timeout of each HTTP request to Bitrix24')
            [CompletionResult]::new('--on-refresh', '--on-refresh', [CompletionResultType]::ParameterName, 'After a refresh is saved, run CMD (with `sh -c`) with the `exec` variables; a failure is a warning')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'The stored object as JSON, secrets included')
            [CompletionResult]::new('--path', '--path', [CompletionResultType]::ParameterName, 'Print only the file path')
            [CompletionResult]::new('--reveal', '--reveal', [CompletionResultType]::ParameterName, 'Show secrets unmasked in the summary')
            [CompletionResult]::new('--check', '--check', [CompletionResultType]::ParameterName, 'Ask the OAuth server whether the stored authorization works (0 works, 3 authorize again, 1 cannot tell)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No messages on stderr except errors (the addresses to open or paste still show)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No messages on stderr except errors (the addresses to open or paste still show)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'b24auth;token' {
            [CompletionResult]::new('--min-ttl', '--min-ttl', [CompletionResultType]::ParameterName, 'Refresh first when the token expires within this many seconds')
            [CompletionResult]::new('--rejected', '--rejected', [CompletionResultType]::ParameterName, 'The portal refused this token: refresh unless another caller already has, and print the current one (`-` reads TOKEN from stdin, out of sight of `ps`)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Which stored authorization (1–64 of A-Za-z0-9._-, no leading dot)')
            [CompletionResult]::new('--config-dir', '--config-dir', [CompletionResultType]::ParameterName, 'Where profiles live [default: the platform config dir, e.g. ~/.config/b24auth]')
            [CompletionResult]::new('--oauth-server', '--oauth-server', [CompletionResultType]::ParameterName, 'Base URL of the OAuth server (token endpoint = URL + /oauth/token/)')
            [CompletionResult]::new('--client-id', '--client-id', [CompletionResultType]::ParameterName, 'The app''s client_id (local.… / app.…) [default: the stored value]')
            [CompletionResult]::new('--client-secret', '--client-secret', [CompletionResultType]::ParameterName, 'The app''s client_secret; prefer the env var or the prompt [default: the stored value]')
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Where profiles live: `file` or a postgres:// URL')
            [CompletionResult]::new('--store-key', '--store-key', [CompletionResultType]::ParameterName, 'Seals the secrets in a postgres:// store: 32 random bytes in base64')
            [CompletionResult]::new('--http-timeout', '--http-timeout', [CompletionResultType]::ParameterName, 'Timeout of each HTTP request to Bitrix24')
            [CompletionResult]::new('--on-refresh', '--on-refresh', [CompletionResultType]::ParameterName, 'After a refresh is saved, run CMD (with `sh -c`) with the `exec` variables; a failure is a warning')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print {"access_token","expires","client_endpoint","member_id","domain"} for credential helpers that cache tokens (never the refresh token or the client secret)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No messages on stderr except errors (the addresses to open or paste still show)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No messages on stderr except errors (the addresses to open or paste still show)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'b24auth;call' {
            [CompletionResult]::new('--data', '--data', [CompletionResultType]::ParameterName, 'The parameters as a JSON object, from the argument, @FILE or @- (stdin)')
            [CompletionResult]::new('--rate', '--rate', [CompletionResultType]::ParameterName, 'Requests per second at most, sustained [default: the plan''s, 2/s]')
            [CompletionResult]::new('--burst', '--burst', [CompletionResultType]::ParameterName, 'Requests allowed at once before --rate applies [default: the plan''s, 50]')
            [CompletionResult]::new('--plan', '--plan', [CompletionResultType]::ParameterName, 'The portal''s plan: standard (2/s, burst 50) or enterprise (5/s, burst 250) [default: the one app.info''s LICENSE_FAMILY names, else standard]')
            [CompletionResult]::new('--concurrency', '--concurrency', [CompletionResultType]::ParameterName, 'Requests in flight at once for --all and batch; items still come out in order')
            [CompletionResult]::new('--operating-limit', '--operating-limit', [CompletionResultType]::ParameterName, 'The portal''s operating-time budget per method per 10 minutes; 0 = none, as on-premise portals default to [default: 480s, the cloud''s, or what the portal showed]')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Which stored authorization (1–64 of A-Za-z0-9._-, no leading dot)')
            [CompletionResult]::new('--config-dir', '--config-dir', [CompletionResultType]::ParameterName, 'Where profiles live [default: the platform config dir, e.g. ~/.config/b24auth]')
            [CompletionResult]::new('--oauth-server', '--oauth-server', [CompletionResultType]::ParameterName, 'Base URL of the OAuth server (token endpoint = URL + /oauth/token/)')
            [CompletionResult]::new('--client-id', '--client-id', [CompletionResultType]::ParameterName, 'The app''s client_id (local.… / app.…) [default: the stored value]')
            [CompletionResult]::new('--client-secret', '--client-secret', [CompletionResultType]::ParameterName, 'The app''s client_secret; prefer the env var or the prompt [default: the stored value]')
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Where profiles live: `file` or a postgres:// URL')
            [CompletionResult]::new('--store-key', '--store-key', [CompletionResultType]::ParameterName, 'Seals the secrets in a postgres:// store: 32 random bytes in base64')
            [CompletionResult]::new('--http-timeout', '--http-timeout', [CompletionResultType]::ParameterName, 'Timeout of each HTTP request to Bitrix24')
            [CompletionResult]::new('--on-refresh', '--on-refresh', [CompletionResultType]::ParameterName, 'After a refresh is saved, run CMD (with `sh -c`) with the `exec` variables; a failure is a warning')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'Follow `next` through every page (50 pages per `batch` request); print the items as JSON lines')
            [CompletionResult]::new('--by-id', '--by-id', [CompletionResultType]::ParameterName, 'With --all: page by ID (order[ID]=ASC, filter[>ID], start=-1, 2,500 items a request) instead of counting; for tables too large to count')
            [CompletionResult]::new('--array', '--array', [CompletionResultType]::ParameterName, 'With --all: print one JSON array instead of lines')
            [CompletionResult]::new('--result', '--result', [CompletionResultType]::ParameterName, 'Print only the `result` of the answer')
            [CompletionResult]::new('--v3', '--v3', [CompletionResultType]::ParameterName, 'Call REST 3.0 (<portal>/rest/api/METHOD) instead of the classic REST')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No messages on stderr except errors (the addresses to open or paste still show)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No messages on stderr except errors (the addresses to open or paste still show)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'b24auth;batch' {
            [CompletionResult]::new('--rate', '--rate', [CompletionResultType]::ParameterName, 'Requests per second at most, sustained [default: the plan''s, 2/s]')
            [CompletionResult]::new('--burst', '--burst', [CompletionResultType]::ParameterName, 'Requests allowed at once before --rate applies [default: the plan''s, 50]')
            [CompletionResult]::new('--plan', '--plan', [CompletionResultType]::ParameterName, 'The portal''s plan: standard (2/s, burst 50) or enterprise (5/s, burst 250) [default: the one app.info''s LICENSE_FAMILY names, else standard]')
            [CompletionResult]::new('--concurrency', '--concurrency', [CompletionResultType]::ParameterName, 'Requests in flight at once for --all and batch; items still come out in order')
            [CompletionResult]::new('--operating-limit', '--operating-limit', [CompletionResultType]::ParameterName, 'The portal''s operating-time budget per method per 10 minutes; 0 = none, as on-premise portals default to [default: 480s, the cloud''s, or what the portal showed]')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Which stored authorization (1–64 of A-Za-z0-9._-, no leading dot)')
            [CompletionResult]::new('--config-dir', '--config-dir', [CompletionResultType]::ParameterName, 'Where profiles live [default: the platform config dir, e.g. ~/.config/b24auth]')
            [CompletionResult]::new('--oauth-server', '--oauth-server', [CompletionResultType]::ParameterName, 'Base URL of the OAuth server (token endpoint = URL + /oauth/token/)')
            [CompletionResult]::new('--client-id', '--client-id', [CompletionResultType]::ParameterName, 'The app''s client_id (local.… / app.…) [default: the stored value]')
            [CompletionResult]::new('--client-secret', '--client-secret', [CompletionResultType]::ParameterName, 'The app''s client_secret; prefer the env var or the prompt [default: the stored value]')
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Where profiles live: `file` or a postgres:// URL')
            [CompletionResult]::new('--store-key', '--store-key', [CompletionResultType]::ParameterName, 'Seals the secrets in a postgres:// store: 32 random bytes in base64')
            [CompletionResult]::new('--http-timeout', '--http-timeout', [CompletionResultType]::ParameterName, 'Timeout of each HTTP request to Bitrix24')
            [CompletionResult]::new('--on-refresh', '--on-refresh', [CompletionResultType]::ParameterName, 'After a refresh is saved, run CMD (with `sh -c`) with the `exec` variables; a failure is a warning')
            [CompletionResult]::new('--halt', '--halt', [CompletionResultType]::ParameterName, 'Stop at the first failed command (Bitrix24''s halt=1); nothing after it runs')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No messages on stderr except errors (the addresses to open or paste still show)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No messages on stderr except errors (the addresses to open or paste still show)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'b24auth;exec' {
            [CompletionResult]::new('--min-ttl', '--min-ttl', [CompletionResultType]::ParameterName, 'The token handed to CMD is valid for at least this many seconds')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Which stored authorization (1–64 of A-Za-z0-9._-, no leading dot)')
            [CompletionResult]::new('--config-dir', '--config-dir', [CompletionResultType]::ParameterName, 'Where profiles live [default: the platform config dir, e.g. ~/.config/b24auth]')
            [CompletionResult]::new('--oauth-server', '--oauth-server', [CompletionResultType]::ParameterName, 'Base URL of the OAuth server (token endpoint = URL + /oauth/token/)')
            [CompletionResult]::new('--client-id', '--client-id', [CompletionResultType]::ParameterName, 'The app''s client_id (local.… / app.…) [default: the stored value]')
            [CompletionResult]::new('--client-secret', '--client-secret', [CompletionResultType]::ParameterName, 'The app''s client_secret; prefer the env var or the prompt [default: the stored value]')
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Where profiles live: `file` or a postgres:// URL')
            [CompletionResult]::new('--store-key', '--store-key', [CompletionResultType]::ParameterName, 'Seals the secrets in a postgres:// store: 32 random bytes in base64')
            [CompletionResult]::new('--http-timeout', '--http-timeout', [CompletionResultType]::ParameterName, 'Timeout of each HTTP request to Bitrix24')
            [CompletionResult]::new('--on-refresh', '--on-refresh', [CompletionResultType]::ParameterName, 'After a refresh is saved, run CMD (with `sh -c`) with the `exec` variables; a failure is a warning')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No messages on stderr except errors (the addresses to open or paste still show)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No messages on stderr except errors (the addresses to open or paste still show)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'b24auth;import' {
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Which stored authorization (1–64 of A-Za-z0-9._-, no leading dot)')
            [CompletionResult]::new('--config-dir', '--config-dir', [CompletionResultType]::ParameterName, 'Where profiles live [default: the platform config dir, e.g. ~/.config/b24auth]')
            [CompletionResult]::new('--oauth-server', '--oauth-server', [CompletionResultType]::ParameterName, 'Base URL of the OAuth server (token endpoint = URL + /oauth/token/)')
            [CompletionResult]::new('--client-id', '--client-id', [CompletionResultType]::ParameterName, 'The app''s client_id (local.… / app.…) [default: the stored value]')
            [CompletionResult]::new('--client-secret', '--client-secret', [CompletionResultType]::ParameterName, 'The app''s client_secret; prefer the env var or the prompt [default: the stored value]')
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Where profiles live: `file` or a postgres:// URL')
            [CompletionResult]::new('--store-key', '--store-key', [CompletionResultType]::ParameterName, 'Seals the secrets in a postgres:// store: 32 random bytes in base64')
            [CompletionResult]::new('--http-timeout', '--http-timeout', [CompletionResultType]::ParameterName, 'Timeout of each HTTP request to Bitrix24')
            [CompletionResult]::new('--on-refresh', '--on-refresh', [CompletionResultType]::ParameterName, 'After a refresh is saved, run CMD (with `sh -c`) with the `exec` variables; a failure is a warning')
            [CompletionResult]::new('--webhook', '--webhook', [CompletionResultType]::ParameterName, 'Save an incoming webhook (https://PORTAL/rest/USER_ID/SECRET/) as the profile, its address read from stdin or a hidden prompt — never from the command line')
            [CompletionResult]::new('--no-verify', '--no-verify', [CompletionResultType]::ParameterName, 'Save without asking the OAuth server''s app.info whether the token is genuine')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Replace an existing profile')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No messages on stderr except errors (the addresses to open or paste still show)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No messages on stderr except errors (the addresses to open or paste still show)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'b24auth;list' {
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Which stored authorization (1–64 of A-Za-z0-9._-, no leading dot)')
            [CompletionResult]::new('--config-dir', '--config-dir', [CompletionResultType]::ParameterName, 'Where profiles live [default: the platform config dir, e.g. ~/.config/b24auth]')
            [CompletionResult]::new('--oauth-server', '--oauth-server', [CompletionResultType]::ParameterName, 'Base URL of the OAuth server (token endpoint = URL + /oauth/token/)')
            [CompletionResult]::new('--client-id', '--client-id', [CompletionResultType]::ParameterName, 'The app''s client_id (local.… / app.…) [default: the stored value]')
            [CompletionResult]::new('--client-secret', '--client-secret', [CompletionResultType]::ParameterName, 'The app''s client_secret; prefer the env var or the prompt [default: the stored value]')
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Where profiles live: `file` or a postgres:// URL')
            [CompletionResult]::new('--store-key', '--store-key', [CompletionResultType]::ParameterName, 'Seals the secrets in a postgres:// store: 32 random bytes in base64')
            [CompletionResult]::new('--http-timeout', '--http-timeout', [CompletionResultType]::ParameterName, 'Timeout of each HTTP request to Bitrix24')
            [CompletionResult]::new('--on-refresh', '--on-refresh', [CompletionResultType]::ParameterName, 'After a refresh is saved, run CMD (with `sh -c`) with the `exec` variables; a failure is a warning')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print a JSON array')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No messages on stderr except errors (the addresses to open or paste still show)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No messages on stderr except errors (the addresses to open or paste still show)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'b24auth;forget' {
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Which stored authorization (1–64 of A-Za-z0-9._-, no leading dot)')
            [CompletionResult]::new('--config-dir', '--config-dir', [CompletionResultType]::ParameterName, 'Where profiles live [default: the platform config dir, e.g. ~/.config/b24auth]')
            [CompletionResult]::new('--oauth-server', '--oauth-server', [CompletionResultType]::ParameterName, 'Base URL of the OAuth server (token endpoint = URL + /oauth/token/)')
            [CompletionResult]::new('--client-id', '--client-id', [CompletionResultType]::ParameterName, 'The app''s client_id (local.… / app.…) [default: the stored value]')
            [CompletionResult]::new('--client-secret', '--client-secret', [CompletionResultType]::ParameterName, 'The app''s client_secret; prefer the env var or the prompt [default: the stored value]')
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Where profiles live: `file` or a postgres:// URL')
            [CompletionResult]::new('--store-key', '--store-key', [CompletionResultType]::ParameterName, 'Seals the secrets in a postgres:// store: 32 random bytes in base64')
            [CompletionResult]::new('--http-timeout', '--http-timeout', [CompletionResultType]::ParameterName, 'Timeout of each HTTP request to Bitrix24')
            [CompletionResult]::new('--on-refresh', '--on-refresh', [CompletionResultType]::ParameterName, 'After a refresh is saved, run CMD (with `sh -c`) with the `exec` variables; a failure is a warning')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Delete without asking (required when there is no terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Delete without asking (required when there is no terminal)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No messages on stderr except errors (the addresses to open or paste still show)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No messages on stderr except errors (the addresses to open or paste still show)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'b24auth;events' {
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Which stored authorization (1–64 of A-Za-z0-9._-, no leading dot)')
            [CompletionResult]::new('--config-dir', '--config-dir', [CompletionResultType]::ParameterName, 'Where profiles live [default: the platform config dir, e.g. ~/.config/b24auth]')
            [CompletionResult]::new('--oauth-server', '--oauth-server', [CompletionResultType]::ParameterName, 'Base URL of the OAuth server (token endpoint = URL + /oauth/token/)')
            [CompletionResult]::new('--client-id', '--client-id', [CompletionResultType]::ParameterName, 'The app''s client_id (local.… / app.…) [default: the stored value]')
            [CompletionResult]::new('--client-secret', '--client-secret', [CompletionResultType]::ParameterName, 'The app''s client_secret; prefer the env var or the prompt [default: the stored value]')
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Where profiles live: `file` or a postgres:// URL')
            [CompletionResult]::new('--store-key', '--store-key', [CompletionResultType]::ParameterName, 'Seals the secrets in a postgres:// store: 32 random bytes in base64')
            [CompletionResult]::new('--http-timeout', '--http-timeout', [CompletionResultType]::ParameterName, 'Timeout of each HTTP request to Bitrix24')
            [CompletionResult]::new('--on-refresh', '--on-refresh', [CompletionResultType]::ParameterName, 'After a refresh is saved, run CMD (with `sh -c`) with the `exec` variables; a failure is a warning')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No messages on stderr except errors (the addresses to open or paste still show)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No messages on stderr except errors (the addresses to open or paste still show)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('pull', 'pull', [CompletionResultType]::ParameterValue, 'Fetch the portal''s offline events and run CMD once per event (or print JSON lines); at least once')
            [CompletionResult]::new('bind', 'bind', [CompletionResultType]::ParameterValue, 'Bind events for the app: offline (for `events pull`) or to a `serve` URL')
            [CompletionResult]::new('failed', 'failed', [CompletionResultType]::ParameterValue, 'List the events whose handler failed for good')
            [CompletionResult]::new('retry', 'retry', [CompletionResultType]::ParameterValue, 'Run failed events again')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'b24auth;events;pull' {
            [CompletionResult]::new('--limit', '--limit', [CompletionResultType]::ParameterName, 'Events per request')
            [CompletionResult]::new('--tries', '--tries', [CompletionResultType]::ParameterName, 'Runs of a failing handler before the event is marked failed (with back-off)')
            [CompletionResult]::new('--exec', '--exec', [CompletionResultType]::ParameterName, 'The handler and its arguments (the rest of the line): the event JSON on stdin, B24_EVENT and B24_EVENT_ID and the `exec` variables in its environment')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Which stored authorization (1–64 of A-Za-z0-9._-, no leading dot)')
            [CompletionResult]::new('--config-dir', '--config-dir', [CompletionResultType]::ParameterName, 'Where profiles live [default: the platform config dir, e.g. ~/.config/b24auth]')
            [CompletionResult]::new('--oauth-server', '--oauth-server', [CompletionResultType]::ParameterName, 'Base URL of the OAuth server (token endpoint = URL + /oauth/token/)')
            [CompletionResult]::new('--client-id', '--client-id', [CompletionResultType]::ParameterName, 'The app''s client_id (local.… / app.…) [default: the stored value]')
            [CompletionResult]::new('--client-secret', '--client-secret', [CompletionResultType]::ParameterName, 'The app''s client_secret; prefer the env var or the prompt [default: the stored value]')
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Where profiles live: `file` or a postgres:// URL')
            [CompletionResult]::new('--store-key', '--store-key', [CompletionResultType]::ParameterName, 'Seals the secrets in a postgres:// store: 32 random bytes in base64')
            [CompletionResult]::new('--http-timeout', '--http-timeout', [CompletionResultType]::ParameterName, 'Timeout of each HTTP request to Bitrix24')
            [CompletionResult]::new('--on-refresh', '--on-refresh', [CompletionResultType]::ParameterName, 'After a refresh is saved, run CMD (with `sh -c`) with the `exec` variables; a failure is a warning')
            [CompletionResult]::new('--follow', '--follow', [CompletionResultType]::ParameterName, 'Keep pulling, backing off while the queue is empty')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No messages on stderr except errors (the addresses to open or paste still show)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No messages on stderr except errors (the addresses to open or paste still show)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'b24auth;events;bind' {
            [CompletionResult]::new('--handler', '--handler', [CompletionResultType]::ParameterName, 'Send them to this URL (a `serve`''s event URL)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Which stored authorization (1–64 of A-Za-z0-9._-, no leading dot)')
            [CompletionResult]::new('--config-dir', '--config-dir', [CompletionResultType]::ParameterName, 'Where profiles live [default: the platform config dir, e.g. ~/.config/b24auth]')
            [CompletionResult]::new('--oauth-server', '--oauth-server', [CompletionResultType]::ParameterName, 'Base URL of the OAuth server (token endpoint = URL + /oauth/token/)')
            [CompletionResult]::new('--client-id', '--client-id', [CompletionResultType]::ParameterName, 'The app''s client_id (local.… / app.…) [default: the stored value]')
            [CompletionResult]::new('--client-secret', '--client-secret', [CompletionResultType]::ParameterName, 'The app''s client_secret; prefer the env var or the prompt [default: the stored value]')
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Where profiles live: `file` or a postgres:// URL')
            [CompletionResult]::new('--store-key', '--store-key', [CompletionResultType]::ParameterName, 'Seals the secrets in a postgres:// store: 32 random bytes in base64')
            [CompletionResult]::new('--http-timeout', '--http-timeout', [CompletionResultType]::ParameterName, 'Timeout of each HTTP request to Bitrix24')
            [CompletionResult]::new('--on-refresh', '--on-refresh', [CompletionResultType]::ParameterName, 'After a refresh is saved, run CMD (with `sh -c`) with the `exec` variables; a failure is a warning')
            [CompletionResult]::new('--offline', '--offline', [CompletionResultType]::ParameterName, 'Queue the events on the portal for `b24auth events pull`')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No messages on stderr except errors (the addresses to open or paste still show)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No messages on stderr except errors (the addresses to open or paste still show)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'b24auth;events;failed' {
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Which stored authorization (1–64 of A-Za-z0-9._-, no leading dot)')
            [CompletionResult]::new('--config-dir', '--config-dir', [CompletionResultType]::ParameterName, 'Where profiles live [default: the platform config dir, e.g. ~/.config/b24auth]')
            [CompletionResult]::new('--oauth-server', '--oauth-server', [CompletionResultType]::ParameterName, 'Base URL of the OAuth server (token endpoint = URL + /oauth/token/)')
            [CompletionResult]::new('--client-id', '--client-id', [CompletionResultType]::ParameterName, 'The app''s client_id (local.… / app.…) [default: the stored value]')
            [CompletionResult]::new('--client-secret', '--client-secret', [CompletionResultType]::ParameterName, 'The app''s client_secret; prefer the env var or the prompt [default: the stored value]')
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Where profiles live: `file` or a postgres:// URL')
            [CompletionResult]::new('--store-key', '--store-key', [CompletionResultType]::ParameterName, 'Seals the secrets in a postgres:// store: 32 random bytes in base64')
            [CompletionResult]::new('--http-timeout', '--http-timeout', [CompletionResultType]::ParameterName, 'Timeout of each HTTP request to Bitrix24')
            [CompletionResult]::new('--on-refresh', '--on-refresh', [CompletionResultType]::ParameterName, 'After a refresh is saved, run CMD (with `sh -c`) with the `exec` variables; a failure is a warning')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print a JSON array')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No messages on stderr except errors (the addresses to open or paste still show)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No messages on stderr except errors (the addresses to open or paste still show)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'b24auth;events;retry' {
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Which stored authorization (1–64 of A-Za-z0-9._-, no leading dot)')
            [CompletionResult]::new('--config-dir', '--config-dir', [CompletionResultType]::ParameterName, 'Where profiles live [default: the platform config dir, e.g. ~/.config/b24auth]')
            [CompletionResult]::new('--oauth-server', '--oauth-server', [CompletionResultType]::ParameterName, 'Base URL of the OAuth server (token endpoint = URL + /oauth/token/)')
            [CompletionResult]::new('--client-id', '--client-id', [CompletionResultType]::ParameterName, 'The app''s client_id (local.… / app.…) [default: the stored value]')
            [CompletionResult]::new('--client-secret', '--client-secret', [CompletionResultType]::ParameterName, 'The app''s client_secret; prefer the env var or the prompt [default: the stored value]')
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Where profiles live: `file` or a postgres:// URL')
            [CompletionResult]::new('--store-key', '--store-key', [CompletionResultType]::ParameterName, 'Seals the secrets in a postgres:// store: 32 random bytes in base64')
            [CompletionResult]::new('--http-timeout', '--http-timeout', [CompletionResultType]::ParameterName, 'Timeout of each HTTP request to Bitrix24')
            [CompletionResult]::new('--on-refresh', '--on-refresh', [CompletionResultType]::ParameterName, 'After a refresh is saved, run CMD (with `sh -c`) with the `exec` variables; a failure is a warning')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'Every failed event')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No messages on stderr except errors (the addresses to open or paste still show)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No messages on stderr except errors (the addresses to open or paste still show)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'b24auth;events;help' {
            [CompletionResult]::new('pull', 'pull', [CompletionResultType]::ParameterValue, 'Fetch the portal''s offline events and run CMD once per event (or print JSON lines); at least once')
            [CompletionResult]::new('bind', 'bind', [CompletionResultType]::ParameterValue, 'Bind events for the app: offline (for `events pull`) or to a `serve` URL')
            [CompletionResult]::new('failed', 'failed', [CompletionResultType]::ParameterValue, 'List the events whose handler failed for good')
            [CompletionResult]::new('retry', 'retry', [CompletionResultType]::ParameterValue, 'Run failed events again')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'b24auth;events;help;pull' {
            break
        }
        'b24auth;events;help;bind' {
            break
        }
        'b24auth;events;help;failed' {
            break
        }
        'b24auth;events;help;retry' {
            break
        }
        'b24auth;events;help;help' {
            break
        }
        'b24auth;serve' {
            [CompletionResult]::new('--listen', '--listen', [CompletionResultType]::ParameterName, 'Address to listen on (IP:PORT, localhost:PORT, [::1]:PORT, 0.0.0.0:PORT)')
            [CompletionResult]::new('--public-url', '--public-url', [CompletionResultType]::ParameterName, 'How Bitrix24 reaches the listener (a tunnel or reverse proxy), for the printed URLs and the Host check')
            [CompletionResult]::new('--path', '--path', [CompletionResultType]::ParameterName, 'Path prefix of the routes [default: /b24/<32 random hex>, made on the first run and kept in <config dir>/serve-path]')
            [CompletionResult]::new('--concurrency', '--concurrency', [CompletionResultType]::ParameterName, 'Handlers running at once')
            [CompletionResult]::new('--tries', '--tries', [CompletionResultType]::ParameterName, 'Runs of a failing handler before the event is kept as failed (with back-off)')
            [CompletionResult]::new('--timeout-handler', '--timeout-handler', [CompletionResultType]::ParameterName, 'A handler run longer than this is killed and counts as failed (0 = no limit)')
            [CompletionResult]::new('--exec', '--exec', [CompletionResultType]::ParameterName, 'The handler and its arguments (the rest of the line); without it, events are printed as JSON lines')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Which stored authorization (1–64 of A-Za-z0-9._-, no leading dot)')
            [CompletionResult]::new('--config-dir', '--config-dir', [CompletionResultType]::ParameterName, 'Where profiles live [default: the platform config dir, e.g. ~/.config/b24auth]')
            [CompletionResult]::new('--oauth-server', '--oauth-server', [CompletionResultType]::ParameterName, 'Base URL of the OAuth server (token endpoint = URL + /oauth/token/)')
            [CompletionResult]::new('--client-id', '--client-id', [CompletionResultType]::ParameterName, 'The app''s client_id (local.… / app.…) [default: the stored value]')
            [CompletionResult]::new('--client-secret', '--client-secret', [CompletionResultType]::ParameterName, 'The app''s client_secret; prefer the env var or the prompt [default: the stored value]')
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Where profiles live: `file` or a postgres:// URL')
            [CompletionResult]::new('--store-key', '--store-key', [CompletionResultType]::ParameterName, 'Seals the secrets in a postgres:// store: 32 random bytes in base64')
            [CompletionResult]::new('--http-timeout', '--http-timeout', [CompletionResultType]::ParameterName, 'Timeout of each HTTP request to Bitrix24')
            [CompletionResult]::new('--on-refresh', '--on-refresh', [CompletionResultType]::ParameterName, 'After a refresh is saved, run CMD (with `sh -c`) with the `exec` variables; a failure is a warning')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No messages on stderr except errors (the addresses to open or paste still show)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No messages on stderr except errors (the addresses to open or paste still show)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'b24auth;store' {
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Which stored authorization (1–64 of A-Za-z0-9._-, no leading dot)')
            [CompletionResult]::new('--config-dir', '--config-dir', [CompletionResultType]::ParameterName, 'Where profiles live [default: the platform config dir, e.g. ~/.config/b24auth]')
            [CompletionResult]::new('--oauth-server', '--oauth-server', [CompletionResultType]::ParameterName, 'Base URL of the OAuth server (token endpoint = URL + /oauth/token/)')
            [CompletionResult]::new('--client-id', '--client-id', [CompletionResultType]::ParameterName, 'The app''s client_id (local.… / app.…) [default: the stored value]')
            [CompletionResult]::new('--client-secret', '--client-secret', [CompletionResultType]::ParameterName, 'The app''s client_secret; prefer the env var or the prompt [default: the stored value]')
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Where profiles live: `file` or a postgres:// URL')
            [CompletionResult]::new('--store-key', '--store-key', [CompletionResultType]::ParameterName, 'Seals the secrets in a postgres:// store: 32 random bytes in base64')
            [CompletionResult]::new('--http-timeout', '--http-timeout', [CompletionResultType]::ParameterName, 'Timeout of each HTTP request to Bitrix24')
            [CompletionResult]::new('--on-refresh', '--on-refresh', [CompletionResultType]::ParameterName, 'After a refresh is saved, run CMD (with `sh -c`) with the `exec` variables; a failure is a warning')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No messages on stderr except errors (the addresses to open or paste still show)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No messages on stderr except errors (the addresses to open or paste still show)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('copy', 'copy', [CompletionResultType]::ParameterValue, 'Copy the profile (--profile) from one store to another, e.g. file → postgres://…')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'b24auth;store;copy' {
            [CompletionResult]::new('--from', '--from', [CompletionResultType]::ParameterName, 'The store to read: `file` or a postgres:// URL')
            [CompletionResult]::new('--to', '--to', [CompletionResultType]::ParameterName, 'The store to write: `file` or a postgres:// URL')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Which stored authorization (1–64 of A-Za-z0-9._-, no leading dot)')
            [CompletionResult]::new('--config-dir', '--config-dir', [CompletionResultType]::ParameterName, 'Where profiles live [default: the platform config dir, e.g. ~/.config/b24auth]')
            [CompletionResult]::new('--oauth-server', '--oauth-server', [CompletionResultType]::ParameterName, 'Base URL of the OAuth server (token endpoint = URL + /oauth/token/)')
            [CompletionResult]::new('--client-id', '--client-id', [CompletionResultType]::ParameterName, 'The app''s client_id (local.… / app.…) [default: the stored value]')
            [CompletionResult]::new('--client-secret', '--client-secret', [CompletionResultType]::ParameterName, 'The app''s client_secret; prefer the env var or the prompt [default: the stored value]')
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Where profiles live: `file` or a postgres:// URL')
            [CompletionResult]::new('--store-key', '--store-key', [CompletionResultType]::ParameterName, 'Seals the secrets in a postgres:// store: 32 random bytes in base64')
            [CompletionResult]::new('--http-timeout', '--http-timeout', [CompletionResultType]::ParameterName, 'Timeout of each HTTP request to Bitrix24')
            [CompletionResult]::new('--on-refresh', '--on-refresh', [CompletionResultType]::ParameterName, 'After a refresh is saved, run CMD (with `sh -c`) with the `exec` variables; a failure is a warning')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Replace the profile in the target store')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No messages on stderr except errors (the addresses to open or paste still show)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No messages on stderr except errors (the addresses to open or paste still show)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'b24auth;store;help' {
            [CompletionResult]::new('copy', 'copy', [CompletionResultType]::ParameterValue, 'Copy the profile (--profile) from one store to another, e.g. file → postgres://…')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'b24auth;store;help;copy' {
            break
        }
        'b24auth;store;help;help' {
            break
        }
        'b24auth;completions' {
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Which stored authorization (1–64 of A-Za-z0-9._-, no leading dot)')
            [CompletionResult]::new('--config-dir', '--config-dir', [CompletionResultType]::ParameterName, 'Where profiles live [default: the platform config dir, e.g. ~/.config/b24auth]')
            [CompletionResult]::new('--oauth-server', '--oauth-server', [CompletionResultType]::ParameterName, 'Base URL of the OAuth server (token endpoint = URL + /oauth/token/)')
            [CompletionResult]::new('--client-id', '--client-id', [CompletionResultType]::ParameterName, 'The app''s client_id (local.… / app.…) [default: the stored value]')
            [CompletionResult]::new('--client-secret', '--client-secret', [CompletionResultType]::ParameterName, 'The app''s client_secret; prefer the env var or the prompt [default: the stored value]')
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Where profiles live: `file` or a postgres:// URL')
            [CompletionResult]::new('--store-key', '--store-key', [CompletionResultType]::ParameterName, 'Seals the secrets in a postgres:// store: 32 random bytes in base64')
            [CompletionResult]::new('--http-timeout', '--http-timeout', [CompletionResultType]::ParameterName, 'Timeout of each HTTP request to Bitrix24')
            [CompletionResult]::new('--on-refresh', '--on-refresh', [CompletionResultType]::ParameterName, 'After a refresh is saved, run CMD (with `sh -c`) with the `exec` variables; a failure is a warning')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No messages on stderr except errors (the addresses to open or paste still show)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No messages on stderr except errors (the addresses to open or paste still show)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'b24auth;man' {
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'Write b24auth.1 and one page per subcommand (b24auth-authorize.1, …) into DIR')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Which stored authorization (1–64 of A-Za-z0-9._-, no leading dot)')
            [CompletionResult]::new('--config-dir', '--config-dir', [CompletionResultType]::ParameterName, 'Where profiles live [default: the platform config dir, e.g. ~/.config/b24auth]')
            [CompletionResult]::new('--oauth-server', '--oauth-server', [CompletionResultType]::ParameterName, 'Base URL of the OAuth server (token endpoint = URL + /oauth/token/)')
            [CompletionResult]::new('--client-id', '--client-id', [CompletionResultType]::ParameterName, 'The app''s client_id (local.… / app.…) [default: the stored value]')
            [CompletionResult]::new('--client-secret', '--client-secret', [CompletionResultType]::ParameterName, 'The app''s client_secret; prefer the env var or the prompt [default: the stored value]')
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Where profiles live: `file` or a postgres:// URL')
            [CompletionResult]::new('--store-key', '--store-key', [CompletionResultType]::ParameterName, 'Seals the secrets in a postgres:// store: 32 random bytes in base64')
            [CompletionResult]::new('--http-timeout', '--http-timeout', [CompletionResultType]::ParameterName, 'Timeout of each HTTP request to Bitrix24')
            [CompletionResult]::new('--on-refresh', '--on-refresh', [CompletionResultType]::ParameterName, 'After a refresh is saved, run CMD (with `sh -c`) with the `exec` variables; a failure is a warning')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No messages on stderr except errors (the addresses to open or paste still show)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No messages on stderr except errors (the addresses to open or paste still show)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries, back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'b24auth;help' {
            [CompletionResult]::new('setup', 'setup', [CompletionResultType]::ParameterValue, 'A guided first run on a terminal: the portal, the way in, what to enter in the portal''s form, the keys, the first token and a first call')
            [CompletionResult]::new('install-listen', 'install-listen', [CompletionResultType]::ParameterValue, 'Catch the installation callback of a local app and save its tokens')
            [CompletionResult]::new('authorize', 'authorize', [CompletionResultType]::ParameterValue, 'Full OAuth in a browser: open the authorize page, catch the code, exchange it at once')
            [CompletionResult]::new('refresh', 'refresh', [CompletionResultType]::ParameterValue, 'Trade the stored refresh token for a new pair and save it')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Show what is stored (secrets masked unless asked for)')
            [CompletionResult]::new('token', 'token', [CompletionResultType]::ParameterValue, 'Print a valid access token, refreshing only when it is due')
            [CompletionResult]::new('call', 'call', [CompletionResultType]::ParameterValue, 'Call a REST method with the stored authorization')
            [CompletionResult]::new('batch', 'batch', [CompletionResultType]::ParameterValue, 'Run REST calls read as JSON lines on stdin, 50 per `batch` request; one line out per line in')
            [CompletionResult]::new('exec', 'exec', [CompletionResultType]::ParameterValue, 'Run a command with B24_ACCESS_TOKEN, B24_CLIENT_ENDPOINT, B24_MEMBER_ID and more set')
            [CompletionResult]::new('import', 'import', [CompletionResultType]::ParameterValue, 'Adopt an existing pair: the PHP examples'' auth.json, CRest''s settings.json, the PHP SDK''s file or b24auth''s own JSON')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List the stored profiles')
            [CompletionResult]::new('forget', 'forget', [CompletionResultType]::ParameterValue, 'Delete a stored profile')
            [CompletionResult]::new('events', 'events', [CompletionResultType]::ParameterValue, 'The app''s offline events: pull them into a handler, bind events, list and retry failed ones')
            [CompletionResult]::new('serve', 'serve', [CompletionResultType]::ParameterValue, 'Receive the events of one app on any number of portals and hand them to a handler')
            [CompletionResult]::new('store', 'store', [CompletionResultType]::ParameterValue, 'Move profiles between stores')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print shell completions')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Print the man page (roff), or write every page to a directory')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'b24auth;help;setup' {
            break
        }
        'b24auth;help;install-listen' {
            break
        }
        'b24auth;help;authorize' {
            break
        }
        'b24auth;help;refresh' {
            break
        }
        'b24auth;help;show' {
            break
        }
        'b24auth;help;token' {
            break
        }
        'b24auth;help;call' {
            break
        }
        'b24auth;help;batch' {
            break
        }
        'b24auth;help;exec' {
            break
        }
        'b24auth;help;import' {
            break
        }
        'b24auth;help;list' {
            break
        }
        'b24auth;help;forget' {
            break
        }
        'b24auth;help;events' {
            [CompletionResult]::new('pull', 'pull', [CompletionResultType]::ParameterValue, 'Fetch the portal''s offline events and run CMD once per event (or print JSON lines); at least once')
            [CompletionResult]::new('bind', 'bind', [CompletionResultType]::ParameterValue, 'Bind events for the app: offline (for `events pull`) or to a `serve` URL')
            [CompletionResult]::new('failed', 'failed', [CompletionResultType]::ParameterValue, 'List the events whose handler failed for good')
            [CompletionResult]::new('retry', 'retry', [CompletionResultType]::ParameterValue, 'Run failed events again')
            break
        }
        'b24auth;help;events;pull' {
            break
        }
        'b24auth;help;events;bind' {
            break
        }
        'b24auth;help;events;failed' {
            break
        }
        'b24auth;help;events;retry' {
            break
        }
        'b24auth;help;serve' {
            break
        }
        'b24auth;help;store' {
            [CompletionResult]::new('copy', 'copy', [CompletionResultType]::ParameterValue, 'Copy the profile (--profile) from one store to another, e.g. file → postgres://…')
            break
        }
        'b24auth;help;store;copy' {
            break
        }
        'b24auth;help;completions' {
            break
        }
        'b24auth;help;man' {
            break
        }
        'b24auth;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
