"""In-memory drivers: a fast unit-test double and a registered driver like any other.

A ``fake://NAME?systems=N`` URL makes a BMC with N systems on first contact (default 1),
so the fake can be used from the CLI too. Tests reach the shared :class:`FakeWorld` to
inject faults (an unreachable BMC, wrong credentials, a broken system).
"""

from kanri.drivers.fake.driver import FakeInventory, FakePower
from kanri.drivers.fake.world import FakeBmc, FakeSystem, FakeWorld, world_of

__all__ = ["FakeBmc", "FakeInventory", "FakePower", "FakeSystem", "FakeWorld", "world_of"]
