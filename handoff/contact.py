"""Contact details customers leave: mainland China mobile numbers."""

from __future__ import annotations

import re
from typing import Optional

_MOBILE = re.compile(r"^1[3-9]\d{9}$")


def normalise_mobile(text: str) -> Optional[str]:
    """'+86 138-0013-8000' -> '13800138000'; None when it is not a mainland mobile number."""
    digits = re.sub(r"[\s\-()（）]", "", text or "")
    for prefix in ("+86", "0086", "86"):
        if digits.startswith(prefix) and len(digits) == len(prefix) + 11:
            digits = digits[len(prefix):]
            break
    return digits if _MOBILE.match(digits) else None
