// The official JS SDK (@bitrix24/b24jssdk) on Node with b24auth keeping the pair.
//
// B24OAuth gets the access token only. When the portal refuses it (401), the SDK calls the
// setCustomRefreshAuth hook, which reports the token to `b24auth token --rejected -`: b24auth
// refreshes once for every process that reports the same token. The refresh token and the client
// secret never enter this process, so the SDK cannot rotate the pair behind b24auth's back.
//
// Install: Node 20 or newer, then `npm install` in examples/b24jssdk; b24auth on PATH with a
//          profile (b24auth setup).
// Run:     node call.mjs [METHOD]          (default: profile), in examples/b24jssdk
import { execFileSync } from 'node:child_process'
import { B24OAuth } from '@bitrix24/b24jssdk'

const KEPT = 'kept-by-b24auth' // a placeholder where the SDK wants what b24auth keeps to itself

const b24auth = (args, input = '') =>
  execFileSync('b24auth', args, { input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'inherit'] })

/** A value of `show --format env`: bare, or double-quoted with \ " $ ` escaped by a backslash. */
const unquote = (v) =>
  v.startsWith('"') && v.endsWith('"') && v.length >= 2 ? v.slice(1, -1).replace(/\\(["\\$`])/g, '$1') : v

/** The `exec` variables of a valid pair (refreshed first when due): no refresh token, no secret. */
function pair () {
  b24auth(['token'])
  const lines = b24auth(['show', '--format', 'env']).split('\n').filter((l) => l.includes('='))
  return Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf('=')), unquote(l.slice(l.indexOf('=') + 1))]))
}

let p = pair()
const b24 = new B24OAuth({
  accessToken: p.B24_ACCESS_TOKEN,
  refreshToken: KEPT,
  expires: Number(p.B24_EXPIRES),
  expiresIn: 3600,
  domain: p.B24_DOMAIN,
  clientEndpoint: p.B24_CLIENT_ENDPOINT,
  serverEndpoint: p.B24_SERVER_ENDPOINT,
  memberId: p.B24_MEMBER_ID,
  applicationToken: p.B24_APPLICATION_TOKEN ?? '',
  userId: 0,
  scope: '',
  status: 'L'
}, { clientId: KEPT, clientSecret: KEPT })

b24.setCustomRefreshAuth(async () => {
  b24auth(['token', '--rejected', '-'], p.B24_ACCESS_TOKEN)
  p = pair()
  return {
    access_token: p.B24_ACCESS_TOKEN,
    refresh_token: KEPT,
    expires: Number(p.B24_EXPIRES),
    expires_in: Number(p.B24_EXPIRES) - Math.floor(Date.now() / 1000),
    client_endpoint: p.B24_CLIENT_ENDPOINT,
    server_endpoint: p.B24_SERVER_ENDPOINT,
    member_id: p.B24_MEMBER_ID,
    domain: p.B24_DOMAIN,
    scope: '',
    status: 'L'
  }
})

const method = process.argv[2] ?? 'profile'
const response = await b24.actions.v2.call.make({ method })
if (!response.isSuccess) {
  console.error(`${method}: ${response.getErrorMessages().join('; ')}`)
  process.exit(1)
}
console.log(JSON.stringify(response.getData().result))
