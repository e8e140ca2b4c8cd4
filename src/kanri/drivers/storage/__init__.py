"""Storage array drivers (entry point group ``kanri.drivers.storage``).

- :class:`FakeStorage` (``fake``): arrays in memory, ``fake://NAME``.
- :class:`SwordfishStorage` (``swordfish``): Swordfish-style Redfish, as the kanri lab
  serves it (``/redfish/v1/Storage`` volumes, ``/redfish/v1/Fabrics`` host groups).
"""

from kanri.drivers.storage.fake import FakeArray, FakeArrays, FakeStorage, arrays_of
from kanri.drivers.storage.swordfish import SwordfishStorage

__all__ = ["FakeArray", "FakeArrays", "FakeStorage", "SwordfishStorage", "arrays_of"]
