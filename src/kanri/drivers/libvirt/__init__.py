"""KVM hosts through libvirt-python: partitions are domains (docs/partitions.md).

- :class:`LibvirtPartitions`: the ``libvirt`` partitions driver (``kanri.drivers.partitions``).
- :class:`LibvirtPower`: power of partitions (a PowerDriver; not registered in
  ``kanri.drivers.power`` until a libvirt inventory driver exists, since every power
  driver there also does inventory).
- ``connection``: one connection per host URI, shared by both; libvirt errors as kanri's.
- ``domxml``, ``hostxml``, ``ports``, ``fit``: XML and pool decisions, pure.
"""

from kanri.drivers.libvirt.partitions import LibvirtPartitions
from kanri.drivers.libvirt.power import LibvirtPower

__all__ = ["LibvirtPartitions", "LibvirtPower"]
