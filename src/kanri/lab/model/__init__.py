"""The lab's state: machines, partitions, the SAN, events, history. No HTTP here."""
