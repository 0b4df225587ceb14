"""Credit products: application inputs, the limit and price table, adverse-action notices."""
