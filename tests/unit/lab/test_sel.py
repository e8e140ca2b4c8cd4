"""A SEL keeps what its LogService says it keeps: MaxNumberOfRecords entries, the oldest
overwritten first (WrapsWhenFull), ids going on from the last one."""

from __future__ import annotations

from kanri.lab.model import faults
from kanri.lab.model.systems import ComponentKind, Health
from kanri.lab.redfish.logs import MAX_RECORDS
from tests.unit.lab.conftest import MakeLab


def test_a_full_sel_wraps_and_numbers_on(make_lab: MakeLab) -> None:
    lab = make_lab({"machines": [{"id": "b1"}]})
    b1 = lab.machine("b1")
    with lab.lock:
        for n in range(MAX_RECORDS + 4):
            lab.log_sel(b1, "Critical", f"NMI {n}", "KanriLab.1.0.Nmi")
        # a component's sensor writes to the same log
        faults.fail_component(lab, "b1", ComponentKind.FAN, severity=Health.WARNING)
    assert len(b1.sel) == MAX_RECORDS
    ids = [e.id for e in b1.sel]
    assert ids == list(range(6, MAX_RECORDS + 6))
    assert b1.sel[0].message == "NMI 5"
    assert b1.sel[-1].message_id == "ResourceEvent.1.4.ResourceStatusChangedWarning"
