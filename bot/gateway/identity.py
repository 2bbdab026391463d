"""Who the customer is, as far as the gateway trusts it: only what the shop's server signed.

`CustomerIdentities` checks the widget's signed claim (core/customer_identity.py) and logs every claim it
refuses; the customer then continues as an anonymous visitor. The customer id and tier that routing, VIP
escalation and the console use come from here alone, never from the widget's metadata.
"""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path
from typing import Any, Dict, Mapping, Optional

from core.customer_identity import RefusedClaim, VerifiedCustomer, load_or_create_secret, verify
from core.settings import project_path

logger = logging.getLogger(__name__)

# the metadata keys only a verified claim may set
IDENTITY_KEYS = ("customer_id", "tier")


class CustomerIdentities:
    """Checks signed claims under the shop's secret and counts the refused ones (by reason, for /metrics)."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.refused: Counter = Counter()

    @classmethod
    def from_settings(cls, section: Mapping[str, Any]) -> CustomerIdentities:
        """From settings.yml's `identity` section: `secret`, or else the secret kept in `secret_file`."""
        secret_file = project_path(str(section.get("secret_file") or "var/identity-secret"))
        return cls(load_or_create_secret(str(section.get("secret") or ""), Path(secret_file)))

    def verify(self, claim: Optional[Dict[str, Any]]) -> Optional[VerifiedCustomer]:
        """The signed customer, or None for an anonymous visitor (no claim, or one that did not verify)."""
        if claim is None:
            return None
        result = verify(self.secret, claim)
        if isinstance(result, RefusedClaim):
            self.refused[result.reason] += 1
            logger.warning("customer identity refused (%s): continuing as an anonymous visitor", result.reason)
            return None
        return result

    def note_unsigned(self) -> None:
        """A customer id or tier sent as plain metadata: ignored, and logged so a shop sees its widget is
        not signing."""
        self.refused["unsigned"] += 1
        logger.warning("customer id or tier sent without a signature: ignored, the visitor is anonymous "
                       "(sign it on the shop's server: docs/verified-customers.md)")


def with_customer(metadata: Dict[str, str], customer: Optional[VerifiedCustomer]) -> Dict[str, str]:
    """The conversation's metadata for this visitor: the widget's page data plus the verified id and tier."""
    cleaned = {key: value for key, value in metadata.items() if key not in IDENTITY_KEYS}
    if customer is not None:
        cleaned["customer_id"] = customer.customer_id
        cleaned["tier"] = customer.tier  # even empty: a tier the shop no longer signs is gone
    return cleaned
