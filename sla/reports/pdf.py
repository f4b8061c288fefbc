"""The plan/fact report as PDF: the printable HTML page (sla.reports.html, A4 landscape, the
table's header repeated on every page) printed by WeasyPrint, which needs Pango and fonts on the
machine (the Dockerfile installs them).

Nothing is fetched while printing: the page is self-contained, and a fetcher that allows no
protocol keeps a name from the policy file or stored data from ever making it read a file or a
URL (the page is autoescaped as well).
"""

from weasyprint import HTML, URLFetcher

from sla.domain.plan_fact import PlanFactReport
from sla.reports.html import plan_fact_html


def plan_fact_pdf(report: PlanFactReport) -> bytes:
    document = HTML(
        string=plan_fact_html(report), url_fetcher=URLFetcher(allowed_protocols=frozenset())
    )
    pdf: bytes = document.write_pdf()
    return pdf
