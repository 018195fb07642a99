"""Benchmarks of the pair: the results document, its statistics, plots and report.

``peerlab bench`` measures and writes ``results.json`` (peerlab.bench.results);
the analysis reads it back and draws ``plots.py``'s figures and ``report.md``
(peerlab.bench.report), so a run can be analysed again without the lab.
"""
