"""kanri: a manager for a datacenter's servers, physical and logical alike."""

__version__ = "0.1.0"
