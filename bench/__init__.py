"""The performance benchmark: NeuroCell Registry against Datasette and the SQL floor (see README.md)."""
