"""Rules in CEL, and the block / allow / watch lists they can read."""
