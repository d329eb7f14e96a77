"""Evaluation harness: read test manifests, normalize and score transcripts, run each capability's benchmark.

Result files and reports are written with ``shenggu.reports`` (shared with the solutions). Submodules are imported
explicitly (``shenggu.bench.manifest``, ``.scoring``) so that importing the package stays cheap.
"""
