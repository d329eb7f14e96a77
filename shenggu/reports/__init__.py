"""Result files and reports shared by the benchmarks and the solutions (exam class reports).

``results`` writes a machine-readable ``results.json``, ``page`` a self-contained HTML report, ``plots`` the
figures embedded in it. Callers pass plain dicts and rows, so the modules know no task. Submodules are imported
explicitly, and plotting pulls in matplotlib only when a figure is drawn, so importing them stays cheap.
"""
