"""Every lead through fast-bitrix24, with b24auth keeping the token pair.

fast-bitrix24 calls `token_func` once for the first token and again each time the portal answers
401. The second call therefore means "the portal refused the token I gave": it is passed to
`b24auth token --rejected -`, which refreshes once for every process that reports the same token
and hands back the new one. A client never refreshes on its own, so none can kill the pair for
the others, and a token b24auth hands back twice stops the run instead of looping.

Install: python3 -m venv .venv && .venv/bin/pip install -r examples/fast-bitrix24/requirements.txt
         (Debian/Ubuntu: sudo apt-get install python3-venv first), and b24auth on PATH with a
         profile (b24auth setup).
Run:     .venv/bin/python examples/fast-bitrix24/export_leads.py > leads.jsonl
"""

import asyncio
import json
import subprocess

from fast_bitrix24 import BitrixAsync


def b24auth_token_func():
    last = None

    async def token_func():
        nonlocal last
        args = ["b24auth", "token"] + (["--rejected", "-"] if last else [])
        proc = await asyncio.create_subprocess_exec(
            *args, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
        )
        out, _ = await proc.communicate((last or "").encode())
        if proc.returncode != 0:
            raise RuntimeError(f"b24auth token exited {proc.returncode}")
        token = out.decode().strip()
        if token == last:
            raise RuntimeError("the portal refuses the token b24auth holds")
        last = token
        return token

    return token_func


async def main():
    endpoint = subprocess.run(
        ["b24auth", "show", "--field", "client_endpoint"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()
    bx = BitrixAsync(endpoint, token_func=b24auth_token_func(), verbose=False)
    for lead in await bx.get_all("crm.lead.list"):
        print(json.dumps(lead, ensure_ascii=False))


asyncio.run(main())
