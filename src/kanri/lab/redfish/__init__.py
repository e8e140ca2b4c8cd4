"""The lab's Redfish service: one enclosure manager endpoint for every machine."""
