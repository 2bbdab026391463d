"""Time to mask personal data in a customer message (analytics/masking.py), after warm-up.

Run: `make bench` (all) or `.venv/bin/python -m bench.masking_speed`.
"""

from __future__ import annotations

import statistics
import time
from typing import Dict

from analytics.masking import mask

SAMPLES = {
    "address, phone, e-mail, order (90 chars)": (
        "我的手机是13800138000，地址北京市朝阳区建国路88号SOHO现代城5号楼1203室，"
        "邮箱wang.li@example.com，订单2024061812345678还没到"
    ),
    "order number only (26 chars)": "退款多久到账？订单号2025010112345678",
    "ID and bank card (47 chars)": "身份证11010519491231002X，卡号6222 0212 3456 7890 123",
    "greeting (5 chars)": "你好，在吗",
}


def main(repeats: int = 500) -> Dict[str, float]:
    """Median milliseconds per call for each sample; also the first (cold) call."""
    started = time.perf_counter()
    mask(SAMPLES["address, phone, e-mail, order (90 chars)"])
    cold = time.perf_counter() - started
    print("== Masking personal data ==")
    print(f"first call (loads spaCy and jieba): {cold:.2f} s")
    results = {}
    for name, text in SAMPLES.items():
        timings = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            mask(text)
            timings.append((time.perf_counter() - t0) * 1000)
        results[name] = statistics.median(timings)
        print(f"{name}: median {results[name]:.2f} ms over {repeats} calls")
    return results


if __name__ == "__main__":
    main()
