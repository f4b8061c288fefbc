"""The indicators as people read them: region rankings and drill-downs, and the exports of the
month's indicators and the programme's plan/fact report (JSON, CSV, XLSX, HTML)."""
