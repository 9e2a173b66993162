"""The official Python SDK (b24pysdk) with a token object fed from b24auth.

`B24authToken` is a `BitrixToken` that holds the access token only. When the SDK would refresh
(the token expired, or the portal answered `expired_token`), it asks
`b24auth token --rejected -` instead, which refreshes once for every process sharing the profile.
The refresh token and the client secret never enter this process, so the SDK cannot rotate the
pair on its own and kill it for everyone else.

Usage: python b24auth_token.py [METHOD]          (default: profile)
"""

import importlib
import subprocess
import sys
from datetime import datetime, timezone

from b24pysdk import BitrixApp, BitrixToken

KEPT = "kept-by-b24auth"  # a placeholder where the SDK wants what b24auth keeps to itself


def b24auth(*args, stdin=""):
    return subprocess.run(
        ["b24auth", *args], input=stdin, check=True, capture_output=True, text=True
    ).stdout


def pair():
    """The `exec` variables of a valid pair (refreshed first when due)."""
    b24auth("token")
    lines = b24auth("show", "--format", "env").splitlines()
    return dict(line.split("=", 1) for line in lines)


class B24authToken(BitrixToken):
    def __init__(self):
        p = pair()
        super().__init__(
            domain=p["B24_DOMAIN"],
            auth_token=p["B24_ACCESS_TOKEN"],
            refresh_token=KEPT,
            expires=datetime.fromtimestamp(int(p["B24_EXPIRES"]), timezone.utc),
            bitrix_app=BitrixApp(client_id=KEPT, client_secret=KEPT),
        )
        self.rest_base = p["B24_CLIENT_ENDPOINT"].rstrip("/")

    def refresh_and_set_oauth_token(self, **kwargs):
        b24auth("token", "--rejected", "-", stdin=self.auth_token)
        p = pair()
        self.auth_token = p["B24_ACCESS_TOKEN"]
        self.expires = datetime.fromtimestamp(int(p["B24_EXPIRES"]), timezone.utc)


token = B24authToken()

# b24pysdk builds https://{domain}/rest/; b24auth knows the portal's actual REST base
# (client_endpoint), which also serves a portal on http or another port (and the test stand-in).
method_caller = importlib.import_module("b24pysdk.api.callers.call_method")._MethodCaller
method_caller._base_url = property(lambda caller: token.rest_base)

method = sys.argv[1] if len(sys.argv) > 1 else "profile"
print(token.call_method(method)["result"])
