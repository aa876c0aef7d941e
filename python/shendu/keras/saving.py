"""Model and weight files: .keras archives and .weights.h5 files."""
