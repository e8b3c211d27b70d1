"""The two accounts of the local world and the fixed credentials that act as each of them."""

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
    secret_access_key="source-account-secret-not-checked",
)
DESTINATION = Account(
    name="destination",
    account_id="222222222222",
    access_key_id="AKIADESTACCOUNT22222",
    secret_access_key="destination-account-secret-not-checked",
)
ACCOUNTS = (SOURCE, DESTINATION)
ACCOUNT_BY_ACCESS_KEY = {account.access_key_id: account for account in ACCOUNTS}
