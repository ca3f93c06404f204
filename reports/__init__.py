"""modelgate reports: pure rendering, report data in (``reports.types.ReportData``), text and PNGs out.

- ``reports.markdown.render_markdown``: the report as GitHub markdown, shortened to a size limit.
- ``reports.plots.render_plots``: the PNG plots that apply (matplotlib is imported only here).
- ``reports.render.write_report``: report.md, the PNGs and report.json in a directory.
- ``reports.checks``: the check-run title and summary, and the shared cell helpers.

Nothing is imported here, so importing ``reports.checks`` stays cheap for the webhook process.
"""
