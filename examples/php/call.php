<?php
// One REST call from PHP with b24auth keeping the token pair. The token and the portal's REST
// base come from `b24auth token --json` (never the refresh token or the client secret); the call
// is made with PHP's curl. On a 401 the portal has refused the token, so
// `b24auth token --rejected -` refreshes it (once for every process that reports the same token)
// and the call is repeated once.
//
// Install: PHP 8 with curl (Debian/Ubuntu: sudo apt-get install php-cli php-curl), and b24auth on
//          PATH with a profile (b24auth setup).
// Run:     php examples/php/call.php METHOD [JSON-PARAMS]
//          e.g. php examples/php/call.php crm.lead.list '{"start":50}'

/** Runs b24auth with $args (and $stdin), returns its stdout; its stderr passes through. */
function b24auth(array $args, string $stdin = ''): string
{
    $proc = proc_open(array_merge(['b24auth'], $args), [0 => ['pipe', 'r'], 1 => ['pipe', 'w']], $pipes);
    fwrite($pipes[0], $stdin);
    fclose($pipes[0]);
    $out = stream_get_contents($pipes[1]);
    fclose($pipes[1]);
    $code = proc_close($proc);
    if ($code !== 0) {
        fwrite(STDERR, "b24auth " . $args[0] . " exited $code\n");
        exit($code);
    }
    return $out;
}

/** POSTs $params as JSON to the portal; returns [HTTP status, decoded answer]. */
function rest(string $endpoint, string $method, array $params, string $token): array
{
    $ch = curl_init($endpoint . $method);
    curl_setopt_array($ch, [
        CURLOPT_POST => true,
        CURLOPT_POSTFIELDS => json_encode($params + ['auth' => $token]),
        CURLOPT_HTTPHEADER => ['Content-Type: application/json'],
        CURLOPT_RETURNTRANSFER => true,
    ]);
    $body = curl_exec($ch);
    if ($body === false) {
        fwrite(STDERR, "$method: " . curl_error($ch) . "\n");
        exit(1);
    }
    $status = curl_getinfo($ch, CURLINFO_RESPONSE_CODE);
    curl_close($ch);
    return [$status, json_decode($body, true)];
}

$method = $argv[1] ?? 'profile';
$params = json_decode($argv[2] ?? '{}', true);
// A valid token (refreshed first when due) and where to send it; no other secret.
$pair = json_decode(b24auth(['token', '--json']), true);
$token = $pair['access_token'];
[$status, $answer] = rest($pair['client_endpoint'], $method, $params, $token);
if ($status === 401) {
    $token = trim(b24auth(['token', '--rejected', '-'], $token));
    [$status, $answer] = rest($pair['client_endpoint'], $method, $params, $token);
}
if ($status !== 200 || isset($answer['error'])) {
    fwrite(STDERR, "$method: HTTP $status " . json_encode($answer) . "\n");
    exit(1);
}
echo json_encode($answer['result']), "\n";
