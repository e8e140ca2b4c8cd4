"""Pure model and decisions. Nothing in this package performs I/O."""
