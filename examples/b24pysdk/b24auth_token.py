"""The official Python SDK (b24pysdk) with a token object fed from b24auth.

`B24authToken` is a `BitrixToken` that holds the access token only, from `b24auth token --json`.
When the SDK would refresh (the token expired, or the portal answered `expired_token`), it asks
`b24auth token --rejected -` instead, which refreshes once for every process sharing the profile.
The refresh token and the client secret never enter this process, so the SDK cannot rotate the
pair on its own and kill it for everyone else. Only the SDK's public API is used: the portal is
reached at https://DOMAIN/rest/, as b24pysdk builds it.

Install: python3 -m venv .venv && .venv/bin/pip install -r examples/b24pysdk/requirements.txt
         (Debian/Ubuntu: sudo apt-get install python3-venv first), and b24auth on PATH with a
         profile (b24auth setup).
Run:     .venv/bin/python examples/b24pysdk/b24auth_token.py [METHOD]      (default: profile)
"""

import json
import subprocess
import sys
from datetime import datetime, timezone

from b24pysdk import BitrixApp, BitrixToken

KEPT = "kept-by-b24auth"  # a placeholder where the SDK wants what b24auth keeps to itself


def b24auth(*args, stdin=""):
    return subprocess.run(
        ["b24auth", *args], input=stdin, check=True, capture_output=True, text=True
    ).stdout


def current():
    """A valid token (refreshed first when due), its expiry and the portal: never a secret more."""
    return json.loads(b24auth("token", "--json"))


class B24authToken(BitrixToken):
    def __init__(self):
        t = current()
        super().__init__(
            domain=t["domain"],
            auth_token=t["access_token"],
            refresh_token=KEPT,
            expires=datetime.fromtimestamp(int(t["expires"]), timezone.utc),
            bitrix_app=BitrixApp(client_id=KEPT, client_secret=KEPT),
        )

    def refresh_and_set_oauth_token(self, **kwargs):
        b24auth("token", "--rejected", "-", stdin=self.auth_token)
        t = current()
        self.auth_token = t["access_token"]
        self.expires = datetime.fromtimestamp(int(t["expires"]), timezone.utc)


token = B24authToken()
method = sys.argv[1] if len(sys.argv) > 1 else "profile"
print(token.call_method(method)["result"])
