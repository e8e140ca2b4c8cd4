"""KVM hosts through libvirt-python: partitions are domains (docs/partitions.md).

- :class:`LibvirtPartitions`: the ``libvirt`` partitions driver (``kanri.drivers.partitions``).
- :class:`LibvirtPower`: power of partitions (``kanri.drivers.power``); the host's own
  power is its BMC's, refused here.
- :class:`LibvirtInventory`: the host as a machine and its domains as its partitions
  (``kanri.drivers.inventory``).
- ``connection``: one connection per host URI, shared by all three; libvirt errors as
  kanri's.
- ``domxml``, ``hostxml``, ``ports``, ``fit``: XML and pool decisions, pure.
"""

from kanri.drivers.libvirt.inventory import LibvirtInventory
from kanri.drivers.libvirt.partitions import LibvirtPartitions
from kanri.drivers.libvirt.power import LibvirtPower

__all__ = ["LibvirtInventory", "LibvirtPartitions", "LibvirtPower"]
