#!/bin/sh
# Every lead as one JSON line, with nothing but curl, jq and b24auth.
#
# Install: curl and jq (Debian/Ubuntu: sudo apt-get install curl jq), and b24auth on PATH with a
#          profile (b24auth setup).
# Run:     sh examples/shell/leads.sh > leads.jsonl
#
# The token reaches curl on stdin, never in argv. When the portal answers 401 it has refused the
# token (b24auth's clock may disagree): `b24auth token --rejected -` then refreshes, once however
# many scripts report the same token, and hands back the new one.
set -eu
endpoint=$(b24auth show --field client_endpoint)
token=$(b24auth token)

# call METHOD START: prints the answer's body, then its HTTP status on a last line.
call() {
  B24_TOKEN=$token jq -n --argjson start "$2" '{auth: env.B24_TOKEN, start: $start}' |
    curl -sS -H 'Content-Type: application/json' --data-binary @- \
      -w '\n%{http_code}' "${endpoint}$1"
}

start=0
retried=
while :; do
  answer=$(call crm.lead.list "$start")
  status=$(printf '%s\n' "$answer" | tail -n 1)
  body=$(printf '%s\n' "$answer" | sed '$d')
  if [ "$status" = 401 ] && [ -z "$retried" ]; then
    retried=1
    token=$(printf '%s' "$token" | b24auth token --rejected -)
    continue
  fi
  [ "$status" = 200 ] || { printf 'crm.lead.list: HTTP %s %s\n' "$status" "$body" >&2; exit 1; }
  retried=
  printf '%s\n' "$body" | jq -c '.result[]'
  start=$(printf '%s\n' "$body" | jq -r '.next // empty')
  [ -n "$start" ] || break
done
