"""Print a token signed in the HSM with the realm's current key but never recorded as issued:
what a thief holding the key makes. Run in its own process (one process, one embedded HSM).

Usage: python tests/programs/stolen_key_token.py HOME REALM SUB
"""

from __future__ import annotations

import sys

from signward.home import Home
from signward.hsm.base import CheckedSigner
from signward.issuer.tokens import TokenService
from signward.services import open_services


def main() -> None:
    home, realm, sub = sys.argv[1:4]
    with open_services(Home(home)) as services:
        forger = TokenService(services.registry, CheckedSigner(services.backend), services.clock)  # no records
        print(forger.issue(realm, sub=sub, audience="mail", tenant="contoso", scope="mail.read").token)


if __name__ == "__main__":
    main()
