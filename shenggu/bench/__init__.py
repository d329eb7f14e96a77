"""Evaluation harness: read test manifests, normalize and score transcripts, write result files and reports.

Submodules are imported explicitly (``shenggu.bench.manifest``, ``.scoring``, ``.report``) so that importing
the package stays cheap; plotting pulls in matplotlib only when a figure is drawn.
"""
