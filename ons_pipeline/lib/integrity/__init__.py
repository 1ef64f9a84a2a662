"""Integrity: GX validation, exact verification, query equivalence, the migration report."""
