"""The simulated datacenter for the demo and tests.

It speaks the same protocols as real gear (Redfish over HTTP), so kanri drives it with its
real drivers, never with shortcuts.
"""
