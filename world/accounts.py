"""The three accounts of the local world and the fixed credentials that act as each of them.

Signatures are verified (middleware.py), so each account has its own secret: a request signed
with the right access key and a wrong secret answers `SignatureDoesNotMatch`, as AWS does.
A is the source account, B the usual destination, C a second destination account.
"""

from dataclasses import dataclass

REGION = "us-east-1"


@dataclass(frozen=True)
class Account:
    name: str
    account_id: str
    access_key_id: str
    secret_access_key: str


SOURCE = Account(
    name="source",
    account_id="111111111111",
    access_key_id="AKIASOURCEACCOUNT111",
    # The Rust security test passes this very secret to the auditor and checks it never reaches a log.
    secret_access_key="wJalrXUtnFEMI-do-not-log-this-secret",
)
DESTINATION = Account(
    name="destination",
    account_id="222222222222",
    access_key_id="AKIADESTACCOUNT22222",
    secret_access_key="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",
)
THIRD = Account(
    name="third",
    account_id="333333333333",
    access_key_id="AKIATHIRDACCOUNT3333",
    secret_access_key="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",
)
ACCOUNTS = (SOURCE, DESTINATION, THIRD)
ACCOUNT_BY_ACCESS_KEY = {account.access_key_id: account for account in ACCOUNTS}
ACCOUNT_BY_ID = {account.account_id: account for account in ACCOUNTS}
