"""Every role against every customer, console and dashboard endpoint (evaluation/access_matrix.py): each measured
cell must be the expected one. Before the resume token, anyone holding a conversation id resumed it."""

from __future__ import annotations

from evaluation.access_matrix import ROLES, format_table, measure


async def test_every_role_gets_exactly_the_access_it_should(gateway_config):
    cells = await measure(gateway_config)
    wrong = [c for c in cells if not c.matches]
    assert not wrong, "\n".join(format_table(cells))
    checks = {c.check for c in cells}
    assert len(cells) == len(checks) * len(ROLES) and len(checks) >= 18
    # the matrix must exercise both answers, or it proves nothing
    assert {c.measured for c in cells} == {"allow", "deny"}
